//! The smallest edit that turns one text into another as one replacement: the common prefix
//! and suffix stay, the middle is replaced. A REST `PATCH` of the description reaches the
//! shared text this way, so its editors see an edit where the texts differ and their carets
//! elsewhere stay put. Offsets count UTF-16 code units, as Yjs and JavaScript do, and never
//! split a character.

/// Replace `delete` UTF-16 units at `at` with `insert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub at: u32,
    pub delete: u32,
    pub insert: String,
}

impl Edit {
    pub fn is_empty(&self) -> bool {
        self.delete == 0 && self.insert.is_empty()
    }
}

/// The edit from `old` to `new` (empty when they are equal).
pub fn minimal_edit(old: &str, new: &str) -> Edit {
    let old_chars: Vec<char> = old.chars().collect();
    let new_chars: Vec<char> = new.chars().collect();
    let prefix = old_chars
        .iter()
        .zip(&new_chars)
        .take_while(|(a, b)| a == b)
        .count();
    let longest_suffix = old_chars.len().min(new_chars.len()) - prefix;
    let suffix = old_chars
        .iter()
        .rev()
        .zip(new_chars.iter().rev())
        .take(longest_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    Edit {
        at: utf16_len(&old_chars[..prefix]),
        delete: utf16_len(&old_chars[prefix..old_chars.len() - suffix]),
        insert: new_chars[prefix..new_chars.len() - suffix].iter().collect(),
    }
}

/// The UTF-16 offset of the `chars`-th character of `text` (its length past the end).
pub fn utf16_offset(text: &str, chars: usize) -> u32 {
    text.chars().take(chars).map(char::len_utf16).sum::<usize>() as u32
}

fn utf16_len(chars: &[char]) -> u32 {
    chars.iter().map(|c| c.len_utf16()).sum::<usize>() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `old` with the edit applied, counting in UTF-16 as Yjs does.
    fn apply(old: &str, edit: &Edit) -> String {
        let units: Vec<u16> = old.encode_utf16().collect();
        let (at, end) = (edit.at as usize, (edit.at + edit.delete) as usize);
        let mut out: Vec<u16> = units[..at].to_vec();
        out.extend(edit.insert.encode_utf16());
        out.extend(&units[end..]);
        String::from_utf16(&out).unwrap()
    }

    #[test]
    fn keeps_the_common_prefix_and_suffix() {
        let edit = minimal_edit("hello world", "hello brave world");
        assert_eq!(
            edit,
            Edit {
                at: 6,
                delete: 0,
                insert: "brave ".into()
            }
        );
        assert!(minimal_edit("same", "same").is_empty());
        assert_eq!(minimal_edit("", "new").insert, "new");
        assert_eq!(minimal_edit("gone", "").delete, 4);
        // a repeated letter: the suffix does not eat into the prefix
        assert_eq!(apply("aaa", &minimal_edit("aaa", "aaaa")), "aaaa");
        assert_eq!(apply("abcabc", &minimal_edit("abcabc", "abc")), "abc");
    }

    #[test]
    fn counts_utf16_and_never_splits_a_character() {
        for (old, new) in [
            ("a😀b", "a😁b"),
            ("😀", "😀😀"),
            ("é🎉", "🎉"),
            ("日本語のテキスト", "日本のテキスト"),
        ] {
            let edit = minimal_edit(old, new);
            assert_eq!(apply(old, &edit), new, "{old} -> {new}: {edit:?}");
        }
        let edit = minimal_edit("a😀b", "a😁b");
        assert_eq!((edit.at, edit.delete), (1, 2), "an emoji is two units");
        assert_eq!(utf16_offset("a😀b", 2), 3);
    }
}
