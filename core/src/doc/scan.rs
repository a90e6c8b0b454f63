//! Reading a Yjs update (lib0 encoding v1) for what it touches, before it is applied: which
//! root types its items name, and which kinds of content they carry. The document holds one
//! text, so an update may only add text (string content, formatting marks, deletions) to the
//! root named [`super::ROOT`]; anything else (another root, a map entry, an embedded type or
//! value) is refused before it reaches the document, where it could not be taken back.
//!
//! The layout is Yjs' `writeStructs` / `writeDeleteSet` (y-crdt's `Update::decode_v1` reads
//! the same): per client, its structs; each struct an info byte whose low five bits name the
//! content, whose high bits say whether an origin, a right origin or a parent sub-key follow;
//! an item with neither origin names its parent, a root by name or a type by id.

/// What is wrong with an update, as the room tells the client (and its log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanError {
    /// It does not decode as an update.
    Malformed(&'static str),
    /// It decodes, but touches something the document does not hold.
    Refused(String),
}

/// What an update carries, as far as the rules care.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Items inserted (not counting garbage-collected ranges and skips).
    pub items: u64,
    /// Whether it deletes anything.
    pub deletes: bool,
}

/// Reads `update` and checks every item against the rules (see the module doc).
pub fn scan_update(update: &[u8], root: &str) -> Result<Scan, ScanError> {
    let mut reader = Reader {
        bytes: update,
        at: 0,
    };
    let mut scan = Scan::default();
    let clients = reader.var_uint()?;
    for _ in 0..clients {
        let structs = reader.var_uint()?;
        let _client = reader.var_uint()?;
        let _clock = reader.var_uint()?;
        for _ in 0..structs {
            scan.items += struct_item(&mut reader, root)?;
        }
    }
    scan.deletes = delete_set(&mut reader)?;
    if reader.at != update.len() {
        return Err(ScanError::Malformed("bytes after the delete set"));
    }
    Ok(scan)
}

/// One struct; 1 when it is an item.
fn struct_item(reader: &mut Reader<'_>, root: &str) -> Result<u64, ScanError> {
    let info = reader.byte()?;
    match info & 0b1_1111 {
        // GC and Skip: a length only.
        0 | 10 => {
            reader.var_uint()?;
            Ok(0)
        }
        content => {
            if info & 0x80 != 0 {
                reader.id()?;
            }
            if info & 0x40 != 0 {
                reader.id()?;
            }
            if info & 0xC0 == 0 {
                parent(reader, info, root)?;
            }
            item_content(reader, content)?;
            Ok(1)
        }
    }
}

/// An item without origins names its parent: the one root, and no map key.
fn parent(reader: &mut Reader<'_>, info: u8, root: &str) -> Result<(), ScanError> {
    match reader.var_uint()? {
        1 => {
            let name = reader.string()?;
            if name != root {
                return Err(ScanError::Refused(format!(
                    "the document has one text, \"{root}\"; this update makes another root, \"{}\"",
                    clip(name)
                )));
            }
        }
        0 => {
            return Err(ScanError::Refused(
                "the document holds no nested types".into(),
            ))
        }
        _ => return Err(ScanError::Malformed("parent info")),
    }
    if info & 0x20 != 0 {
        return Err(ScanError::Refused(
            "a text has no keys; this update sets one".into(),
        ));
    }
    Ok(())
}

/// The content of one item: text, formatting, or a deletion's length.
fn item_content(reader: &mut Reader<'_>, content: u8) -> Result<(), ScanError> {
    match content {
        // ContentDeleted: a length.
        1 => {
            reader.var_uint()?;
        }
        // ContentString.
        4 => {
            reader.string()?;
        }
        // ContentFormat: a key and a JSON value.
        6 => {
            reader.string()?;
            reader.string()?;
        }
        2 | 3 | 5 | 7 | 8 | 9 => {
            return Err(ScanError::Refused(format!(
                "the description holds text only; this update embeds {}",
                match content {
                    2 => "JSON values",
                    3 => "binary data",
                    5 => "an embed",
                    7 => "a shared type",
                    8 => "values",
                    _ => "a document",
                }
            )))
        }
        _ => return Err(ScanError::Malformed("content kind")),
    }
    Ok(())
}

/// The delete set; whether it deletes anything.
fn delete_set(reader: &mut Reader<'_>) -> Result<bool, ScanError> {
    let clients = reader.var_uint()?;
    let mut any = false;
    for _ in 0..clients {
        reader.var_uint()?;
        let ranges = reader.var_uint()?;
        for _ in 0..ranges {
            reader.var_uint()?;
            any |= reader.var_uint()? > 0;
        }
    }
    Ok(any)
}

/// At most 40 characters of a name a client sent, for a message.
fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

/// lib0's reader: unsigned LEB128 integers and length-prefixed UTF-8 strings.
pub(super) struct Reader<'a> {
    pub bytes: &'a [u8],
    pub at: usize,
}

impl<'a> Reader<'a> {
    pub fn byte(&mut self) -> Result<u8, ScanError> {
        let byte = *self
            .bytes
            .get(self.at)
            .ok_or(ScanError::Malformed("ends early"))?;
        self.at += 1;
        Ok(byte)
    }

    /// An unsigned LEB128 integer of at most 53 bits (what JavaScript numbers hold).
    pub fn var_uint(&mut self) -> Result<u64, ScanError> {
        let mut value: u64 = 0;
        let mut shift = 0;
        loop {
            let byte = self.byte()?;
            if shift >= 53 {
                return Err(ScanError::Malformed("an integer over 53 bits"));
            }
            value |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], ScanError> {
        let len =
            usize::try_from(self.var_uint()?).map_err(|_| ScanError::Malformed("a length"))?;
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(ScanError::Malformed("a length past the end"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    pub fn string(&mut self) -> Result<&'a str, ScanError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| ScanError::Malformed("a string"))
    }

    fn id(&mut self) -> Result<(), ScanError> {
        self.var_uint()?;
        self.var_uint()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::updates::decoder::Decode;
    use yrs::{Doc, GetString, Map, ReadTxn, StateVector, Text, Transact, Update};

    fn update_of(edit: impl FnOnce(&Doc)) -> Vec<u8> {
        let doc = Doc::new();
        edit(&doc);
        let update = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        update
    }

    #[test]
    fn text_edits_pass_and_are_counted() {
        let update = update_of(|doc| {
            let text = doc.get_or_insert_text("description");
            let mut txn = doc.transact_mut();
            text.insert(&mut txn, 0, "hello world");
            text.remove_range(&mut txn, 0, 6);
            text.insert(&mut txn, 0, "é ");
        });
        let scan = scan_update(&update, "description").unwrap();
        assert!(scan.items >= 2, "{scan:?}");
        assert!(scan.deletes);
        // The same bytes apply in yrs: the scanner reads what yrs reads.
        let doc = Doc::new();
        let text = doc.get_or_insert_text("description");
        doc.transact_mut()
            .apply_update(Update::decode_v1(&update).unwrap())
            .unwrap();
        assert_eq!(text.get_string(&doc.transact()), "é world");
        assert_eq!(
            scan_update(&[0, 0], "description").unwrap(),
            Scan::default()
        );
    }

    #[test]
    fn another_root_a_map_or_an_embed_is_refused() {
        let other_root = update_of(|doc| {
            let text = doc.get_or_insert_text("title");
            text.insert(&mut doc.transact_mut(), 0, "x");
        });
        assert!(matches!(
            scan_update(&other_root, "description"),
            Err(ScanError::Refused(message)) if message.contains("\"title\"")
        ));
        let map = update_of(|doc| {
            let map = doc.get_or_insert_map("description");
            map.insert(&mut doc.transact_mut(), "k", "v");
        });
        assert!(matches!(
            scan_update(&map, "description"),
            Err(ScanError::Refused(_))
        ));
        let embed = update_of(|doc| {
            let text = doc.get_or_insert_text("description");
            let mut txn = doc.transact_mut();
            text.insert(&mut txn, 0, "a");
            text.insert_embed(&mut txn, 1, yrs::Any::from(42.0));
        });
        assert!(matches!(
            scan_update(&embed, "description"),
            Err(ScanError::Refused(message)) if message.contains("embed")
        ));
    }

    #[test]
    fn garbage_never_panics_and_is_malformed() {
        for bytes in [
            &[][..],
            &[1][..],
            &[1, 1, 5, 0, 4][..],
            &[0xFF; 12][..],
            &[0, 0, 9][..],
            &[1, 1, 1, 0, 0x24, 1, 200, 1, b'x'][..],
        ] {
            assert!(
                matches!(
                    scan_update(bytes, "description"),
                    Err(ScanError::Malformed(_))
                ),
                "{bytes:?}"
            );
        }
    }
}
