//! `GET /api/tasks` query parameters and the opaque cursor for stable paging.
//!
//! A list is newest first in one of two orders ([`ListOrder`]): by `(created_at, id)`, or,
//! for a search, by insertion (the row's `seq`, its SQLite rowid), which is the order FTS5
//! hands matches back in, so a page of a common word reads a page of matches instead of all
//! of them. The cursor names the last row of a page in both orders at once, and the next
//! page starts strictly after it (keyset paging), so rows created or deleted meanwhile never
//! shift a page or show a task twice.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use crate::task::{nfc, FieldError, Status, Task};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;
pub const SEARCH_MAX_CHARS: usize = 200;

/// The JSON Schema `pattern` of a list `cursor`: canonical URL-safe base64 without padding
/// (whole groups of four characters, then an optional group of two or three whose unused
/// bits are zero), which is exactly what [`Cursor::decode`] accepts. An empty cursor is no
/// cursor: the first page.
pub const CURSOR_PATTERN: &str =
    "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$";

/// Between the parts of an encoded cursor: a byte that UTF-8 text never contains.
const CURSOR_SEPARATOR: u8 = 0xff;

/// The order a list is in, newest first either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    /// By `(created_at, id)`: every list without `q`.
    Created,
    /// By insertion (`seq`, the rowid): a search. FTS5 yields matches in this order, so a
    /// page reads about a page of them however many there are. Tasks get their `created_at`
    /// as they are inserted, so the two orders differ only among tasks created within the
    /// same few milliseconds.
    Inserted,
}

/// The position after which the next page starts: the last row of a page, in both orders.
///
/// Encoded as URL-safe base64 of `created_at`, a separator byte, `id`, and (since search
/// pages by insertion) another separator and `seq` in decimal. Every cursor pages every
/// list, so a search's `next_cursor` used without `q`, or the other way round, continues
/// from the same task. Decoding takes any canonical base64 and never fails after that: a
/// cursor this API did not hand out names some position in the list (so the page may be
/// empty), and one without a readable `seq` (every cursor from before it) is a position in
/// `created_at` order only (see [`ListQuery::start`]). That keeps the set of accepted cursors
/// exactly what [`CURSOR_PATTERN`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: String,
    pub id: String,
    pub seq: Option<i64>,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(self.created_at.len() + self.id.len() + 22);
        bytes.extend_from_slice(self.created_at.as_bytes());
        bytes.push(CURSOR_SEPARATOR);
        bytes.extend_from_slice(self.id.as_bytes());
        if let Some(seq) = self.seq {
            bytes.push(CURSOR_SEPARATOR);
            bytes.extend_from_slice(seq.to_string().as_bytes());
        }
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(raw: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let mut parts = bytes.splitn(3, |&b| b == CURSOR_SEPARATOR);
        let mut text = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        let (created_at, id, seq) = (text(), text(), text());
        Some(Cursor {
            created_at,
            id,
            seq: seq.parse().ok(),
        })
    }
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start<'a> {
    /// The first page.
    First,
    /// Strictly after this `(created_at, id)`.
    AfterCreated { created_at: &'a str, id: &'a str },
    /// Strictly before this `seq` (a search's next page).
    BeforeSeq(i64),
    /// A search's page from a cursor that has no `seq` (one from before search paged by
    /// insertion): from the first task after this `(created_at, id)`, that one included,
    /// onwards in insertion order. The two orders agree but for tasks created within
    /// milliseconds of each other, so such a cursor carries on where it was.
    AtFirstCreatedAfter { created_at: &'a str, id: &'a str },
}

/// A page size: 1 to [`MAX_LIMIT`], for every paged list of the API.
pub(crate) fn parse_limit(value: &str) -> Result<u32, FieldError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|limit| (1..=MAX_LIMIT).contains(limit))
        .ok_or_else(|| {
            FieldError::new("limit", format!("must be an integer from 1 to {MAX_LIMIT}"))
        })
}

/// A `cursor` that is not of the form this API hands out.
pub(crate) fn bad_cursor() -> FieldError {
    FieldError::new("cursor", "is not a cursor returned by this API")
}

/// Validated list filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub assignee: Option<String>,
    pub tag: Option<String>,
    /// Words to find in title, description or tags, the last as a prefix (see
    /// [`crate::search`]).
    pub search: Option<String>,
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl ListQuery {
    /// A search lists in insertion order; every other list in `created_at` order.
    pub fn order(&self) -> ListOrder {
        if self.search.is_some() {
            ListOrder::Inserted
        } else {
            ListOrder::Created
        }
    }

    /// Where this page starts, in this list's order.
    pub fn start(&self) -> Start<'_> {
        let Some(cursor) = &self.after else {
            return Start::First;
        };
        let (created_at, id) = (cursor.created_at.as_str(), cursor.id.as_str());
        match (self.order(), cursor.seq) {
            (ListOrder::Created, _) => Start::AfterCreated { created_at, id },
            (ListOrder::Inserted, Some(seq)) => Start::BeforeSeq(seq),
            (ListOrder::Inserted, None) => Start::AtFirstCreatedAfter { created_at, id },
        }
    }

    /// Parses query pairs; every bad parameter is reported. Unknown parameters are ignored.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut query = ListQuery {
            status: None,
            assignee: None,
            tag: None,
            search: None,
            limit: DEFAULT_LIMIT,
            after: None,
        };
        let mut errors = Vec::new();
        for (key, value) in pairs {
            match key {
                "status" => match Status::parse(value) {
                    Some(status) => query.status = Some(status),
                    None => errors.push(FieldError::new("status", "is not a known status")),
                },
                "assignee" => query.assignee = Some(value.to_owned()).filter(|v| !v.is_empty()),
                // Tags are stored in NFC: a filter typed in another form finds them too.
                "tag" => query.tag = Some(nfc(value.trim()).into_owned()).filter(|v| !v.is_empty()),
                "q" => {
                    if value.chars().count() > SEARCH_MAX_CHARS {
                        errors.push(FieldError::new(
                            "q",
                            format!("must be at most {SEARCH_MAX_CHARS} characters"),
                        ));
                    }
                    query.search = Some(value.trim().to_owned()).filter(|v| !v.is_empty());
                }
                "limit" => match parse_limit(value) {
                    Ok(limit) => query.limit = limit,
                    Err(error) => errors.push(error),
                },
                "cursor" if value.is_empty() => query.after = None,
                "cursor" => match Cursor::decode(value) {
                    Some(cursor) => query.after = Some(cursor),
                    None => errors.push(bad_cursor()),
                },
                _ => {}
            }
        }
        if errors.is_empty() {
            Ok(query)
        } else {
            Err(errors)
        }
    }
}

/// One page of tasks, as `GET /api/tasks` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskPage {
    pub tasks: Vec<Task>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl TaskPage {
    /// `rows` holds up to `limit + 1` tasks in list order, each with its `seq`: one more
    /// than the page means another page follows, starting after the last one shown.
    pub fn from_rows(mut rows: Vec<(i64, Task)>, limit: u32) -> Self {
        let limit = limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|(seq, last)| {
                Cursor {
                    created_at: last.created_at.clone(),
                    id: last.id.to_string(),
                    seq: Some(*seq),
                }
                .encode()
            })
        } else {
            None
        };
        let tasks = rows.into_iter().map(|(_, task)| task).collect();
        TaskPage { tasks, next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = Cursor {
            created_at: "2026-01-01T00:00:00.000Z".into(),
            id: "abc".into(),
            seq: Some(41),
        };
        let encoded = cursor.encode();
        assert!(encoded
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(Cursor::decode(&encoded), Some(cursor));
        assert_eq!(Cursor::decode("!!!"), None);
        assert_eq!(
            Cursor::decode("garbage"),
            None,
            "its last group is not canonical"
        );
        assert_eq!(Cursor::decode("abcd="), None, "no padding");
        // any other canonical base64 is some position
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("{\"x\":1}")).is_some());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode([0xc3_u8, 0x28])).is_some());
    }

    /// `CURSOR_PATTERN`, read by hand: what it admits is what `Cursor::decode` admits, for
    /// every string of one to three characters over the base64url alphabet and a few more.
    #[test]
    fn the_cursor_pattern_is_the_decoder() {
        const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        assert_eq!(
            CURSOR_PATTERN,
            "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$"
        );
        let pattern_admits = |text: &str| {
            let chars: Vec<char> = text.chars().collect();
            let in_class = |c: char, class: &str| class.contains(c);
            let tail = &chars[chars.len() / 4 * 4..];
            chars.iter().all(|&c| in_class(c, ALPHABET))
                && match tail.len() {
                    0 => true,
                    2 => in_class(tail[1], "AQgw"),
                    3 => in_class(tail[2], "AEIMQUYcgkosw048"),
                    _ => false,
                }
        };
        let extra = ['=', '+', '/', '.', ' '];
        let symbols: Vec<char> = ALPHABET.chars().chain(extra).collect();
        let mut words: Vec<String> = vec![String::new()];
        for _ in 0..3 {
            words = words
                .iter()
                .flat_map(|word| symbols.iter().map(move |c| format!("{word}{c}")))
                .collect();
            for word in &words {
                for candidate in [word.clone(), format!("AAAA{word}")] {
                    assert_eq!(
                        Cursor::decode(&candidate).is_some(),
                        pattern_admits(&candidate),
                        "{candidate:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn defaults_and_limits() {
        let query = ListQuery::parse([]).unwrap();
        assert_eq!(query.limit, DEFAULT_LIMIT);
        assert_eq!(ListQuery::parse([("limit", "200")]).unwrap().limit, 200);
        for bad in ["0", "201", "-1", "ten"] {
            let errors = ListQuery::parse([("limit", bad)]).unwrap_err();
            assert_eq!(errors[0].field, "limit", "{bad}");
        }
    }

    #[test]
    fn filters_are_validated() {
        let query = ListQuery::parse([
            ("status", "done"),
            ("assignee", "ana"),
            ("tag", "ui"),
            ("q", "x"),
        ])
        .unwrap();
        assert_eq!(query.status, Some(Status::Done));
        assert_eq!(query.assignee.as_deref(), Some("ana"));
        assert_eq!(query.tag.as_deref(), Some("ui"));
        let nfd = ListQuery::parse([("tag", "cafe\u{301}")]).unwrap();
        assert_eq!(nfd.tag.as_deref(), Some("caf\u{e9}"), "tags are in NFC");
        let errors = ListQuery::parse([("status", "nope"), ("cursor", "z")]).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(ListQuery::parse([("cursor", "")]).unwrap().after, None);
    }

    #[test]
    fn a_cursor_from_before_seq_is_still_a_position() {
        // What this API handed out before search paged by insertion: no seq part.
        let old = URL_SAFE_NO_PAD.encode(b"2026-01-01T00:00:00.000Z\xffabc");
        let cursor = Cursor::decode(&old).unwrap();
        assert_eq!(
            (cursor.created_at.as_str(), cursor.id.as_str(), cursor.seq),
            ("2026-01-01T00:00:00.000Z", "abc", None)
        );
        let unreadable = URL_SAFE_NO_PAD.encode(b"t\xffi\xffseven");
        assert_eq!(Cursor::decode(&unreadable).unwrap().seq, None);
    }

    #[test]
    fn a_search_lists_by_insertion_and_everything_else_by_creation() {
        assert_eq!(ListQuery::parse([]).unwrap().order(), ListOrder::Created);
        let filtered = [("status", "done"), ("tag", "t"), ("assignee", "a")];
        assert_eq!(
            ListQuery::parse(filtered).unwrap().order(),
            ListOrder::Created
        );
        assert_eq!(
            ListQuery::parse([("q", "x"), ("tag", "t")])
                .unwrap()
                .order(),
            ListOrder::Inserted
        );
        // a q with nothing in it is no search
        assert_eq!(
            ListQuery::parse([("q", "  ")]).unwrap().order(),
            ListOrder::Created
        );
    }

    #[test]
    fn every_cursor_pages_every_list_in_its_own_order() {
        let with_seq = Cursor {
            created_at: "t".into(),
            id: "i".into(),
            seq: Some(7),
        }
        .encode();
        let without_seq = Cursor {
            created_at: "t".into(),
            id: "i".into(),
            seq: None,
        }
        .encode();
        let start = |pairs: &[(&str, &str)]| {
            let query = ListQuery::parse(pairs.iter().copied()).unwrap();
            format!("{:?}", query.start())
        };
        let after_created = format!(
            "{:?}",
            Start::AfterCreated {
                created_at: "t",
                id: "i"
            }
        );
        assert_eq!(start(&[]), "First");
        assert_eq!(start(&[("q", "x")]), "First");
        assert_eq!(start(&[("cursor", &with_seq)]), after_created);
        assert_eq!(start(&[("cursor", &without_seq)]), after_created);
        assert_eq!(
            start(&[("q", "x"), ("cursor", &with_seq)]),
            format!("{:?}", Start::BeforeSeq(7))
        );
        assert_eq!(
            start(&[("q", "x"), ("cursor", &without_seq)]),
            format!(
                "{:?}",
                Start::AtFirstCreatedAfter {
                    created_at: "t",
                    id: "i"
                }
            )
        );
    }

    #[test]
    fn a_page_with_one_row_too_many_points_past_its_last_task() {
        let rows: Vec<(i64, Task)> = (0..3)
            .map(|i| {
                let task = crate::task::new_task(serde_json::json!({"title": format!("t{i}")}));
                (100 - i, task)
            })
            .collect();
        let page = TaskPage::from_rows(rows.clone(), 2);
        assert_eq!(page.tasks.len(), 2);
        let cursor = Cursor::decode(page.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(cursor.id, rows[1].1.id.to_string());
        assert_eq!(cursor.created_at, rows[1].1.created_at);
        assert_eq!(cursor.seq, Some(99), "the last task's seq, for a search");
        assert_eq!(TaskPage::from_rows(rows, 3).next_cursor, None);
    }
}
