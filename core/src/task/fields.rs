//! The validated building blocks of a task: ids, titles, tags, status and priority.
//!
//! Each type can only be built through its `parse`, so a value of the type is a valid value.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::text::{nfc, one_line, one_line_pattern, Line};

pub const TITLE_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;
pub const TAGS_MAX: usize = 20;
pub const TAG_MAX_CHARS: usize = 32;
/// User ids come from token `sub` claims (Supabase uses UUIDs); this bounds assignee ids.
pub const USER_ID_MAX_CHARS: usize = 128;

/// One problem with one field of a request, as reported in problem+json `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A server-generated task id: a random UUIDv4, so ids cannot be guessed or enumerated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(String);

impl TaskId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// Accepts only the canonical hyphenated lowercase form, so one task has one spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        let parsed = uuid::Uuid::try_parse(raw).ok()?;
        let canonical = parsed.hyphenated().to_string();
        (canonical == raw).then_some(Self(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The JSON Schema `pattern` of a task id: exactly what [`TaskId::parse`] accepts.
    pub const PATTERN: &'static str =
        "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A title: 1–200 characters as sent, no control or bidi control characters, with a
/// visible character (see [`super::text`]). Stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, String> {
        one_line(raw, TITLE_MAX_CHARS, Line::Plain).map(|title| Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The JSON Schema `pattern` of a title (and of a user id): what [`Title::parse`]
    /// accepts, apart from the length.
    pub fn pattern() -> String {
        one_line_pattern(Line::Plain)
    }
}

/// A closed set of names that travel as snake_case strings (JSON, SQL, tokens): one
/// declaration gives the enum, its serde form, `ALL`, `as_str`, `parse` and the message
/// that lists what is allowed.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident {
        $($(#[$variant_meta:meta])* $variant:ident => $text:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$variant_meta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($text => Some($name::$variant),)+ _ => None }
            }

            /// "must be one of: a, b, c", for validation messages.
            pub fn expected() -> String {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                format!("must be one of: {}", names.join(", "))
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// Where a task is in its life.
    Status {
        Todo => "todo",
        InProgress => "in_progress",
        Blocked => "blocked",
        InReview => "in_review",
        Done => "done",
    }
);

string_enum!(
    /// How urgent a task is.
    Priority {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

impl Status {
    /// The statuses a task may move to from this one. Reopening a done task goes back to
    /// `todo` or `in_progress`; it cannot jump to `blocked` or `in_review`.
    pub fn next(self) -> &'static [Status] {
        use Status::*;
        match self {
            Todo => &[InProgress, Blocked, InReview, Done],
            InProgress => &[Todo, Blocked, InReview, Done],
            Blocked => &[Todo, InProgress],
            InReview => &[InProgress, Blocked, Done],
            Done => &[Todo, InProgress],
        }
    }

    /// Checks a transition; the error says which moves are allowed instead.
    pub fn check_transition(self, to: Status) -> Result<(), String> {
        if self == to || self.next().contains(&to) {
            return Ok(());
        }
        let allowed: Vec<&str> = self.next().iter().map(|s| s.as_str()).collect();
        Err(format!(
            "cannot move from {} to {}; from {} a task can move to {}",
            self.as_str(),
            to.as_str(),
            self.as_str(),
            allowed.join(", ")
        ))
    }
}

/// Up to 20 tags, each 1–32 characters as sent, with the rules of a title and no
/// zero-width characters (see [`super::text`]). Each is stored trimmed and in NFC;
/// duplicates (in NFC) are dropped and the order is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tags(Vec<String>);

impl Tags {
    pub fn parse(raw: &[Value]) -> Result<Self, String> {
        if raw.len() > TAGS_MAX {
            return Err(format!("must have at most {TAGS_MAX} tags"));
        }
        let mut tags: Vec<String> = Vec::with_capacity(raw.len());
        for (index, item) in raw.iter().enumerate() {
            let Some(text) = item.as_str() else {
                return Err(format!("tag {index} must be a string"));
            };
            let tag =
                one_line(text, TAG_MAX_CHARS, Line::Tag).map_err(|m| format!("tag {index} {m}"))?;
            let tag = nfc(tag);
            if !tags.iter().any(|existing| *existing == tag) {
                tags.push(tag.into_owned());
            }
        }
        Ok(Self(tags))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The JSON Schema `pattern` of one tag: a title's, and no zero-width characters.
    pub fn item_pattern() -> String {
        one_line_pattern(Line::Tag)
    }
}

/// An assignee: a user id of 1–128 characters as sent, with the rules of a title.
/// Stored trimmed.
pub(crate) fn parse_user_id(value: &Value) -> Result<String, String> {
    let text = value.as_str().ok_or("must be a string or null")?;
    one_line(text, USER_ID_MAX_CHARS, Line::Plain).map(str::to_owned)
}

/// The JSON Schema `pattern` of a due date; `format: date` adds that it is a real day.
pub(crate) const DATE_PATTERN: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

/// A due date: exactly `YYYY-MM-DD` in ASCII digits, and a real day.
pub(crate) fn parse_date(value: &Value) -> Result<chrono::NaiveDate, String> {
    let text = value.as_str().ok_or("must be an ISO date string or null")?;
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(at, byte)| match at {
            4 | 7 => byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    shaped
        .then(|| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| "must be an ISO date (YYYY-MM-DD)".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn title_is_trimmed_and_bounded() {
        assert_eq!(Title::parse("  hi  ").unwrap().as_str(), "hi");
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse(&"x".repeat(200)).is_ok());
        assert!(Title::parse(&"x".repeat(201)).is_err());
        // characters, not bytes
        assert!(Title::parse(&"é".repeat(200)).is_ok());
        // counted as sent, as JSON Schema's maxLength counts
        assert!(Title::parse(&format!(" {}", "x".repeat(200))).is_err());
        assert!(Title::parse("\u{3000}x\u{a0}").unwrap().as_str() == "x");
    }

    /// What the validators do with each character alone and beside a letter, against the
    /// sets the patterns name (see `super::super::text`).
    #[test]
    fn each_character_is_judged_as_the_patterns_say() {
        use super::super::text::ZERO_WIDTH;
        use super::super::text::{check_no_controls, BIDI, CONTROLS, INVISIBLE, NEWLINES, SPACES};
        let within =
            |c: char, ranges: &[(char, char)]| ranges.iter().any(|r| (r.0..=r.1).contains(&c));
        let mut text = String::new();
        for c in (0..=0x3200)
            .chain(0xfe00..=0xffff)
            .chain([0x1f600])
            .filter_map(char::from_u32)
        {
            let refused = within(c, CONTROLS) || within(c, BIDI);
            let hidden = refused || within(c, SPACES) || within(c, INVISIBLE);
            let tag_refused = refused || within(c, ZERO_WIDTH);
            text.clear();
            text.push(c);
            assert_eq!(Title::parse(&text).is_ok(), !hidden, "title {c:?}");
            assert_eq!(
                parse_user_id(&json!(text)).is_ok(),
                !hidden,
                "assignee {c:?}"
            );
            assert_eq!(Tags::parse(&[json!(text)]).is_ok(), !hidden, "tag {c:?}");
            text.push('x');
            assert_eq!(Title::parse(&text).is_ok(), !refused, "title {c:?}x");
            assert_eq!(
                Tags::parse(&[json!(text)]).is_ok(),
                !tag_refused,
                "tag {c:?}x"
            );
            let control = within(c, CONTROLS);
            let multi_line = !control || NEWLINES.contains(&c);
            assert_eq!(check_no_controls(&text, true).is_ok(), multi_line, "{c:?}");
        }
    }

    #[test]
    fn one_line_fields_share_a_pattern_and_tags_refuse_more() {
        assert_eq!(
            Title::pattern(),
            crate::task::TaskChanges::assignee_pattern()
        );
        assert_ne!(Tags::item_pattern(), Title::pattern());
    }

    #[test]
    fn tags_are_compared_and_stored_in_nfc() {
        let tags = Tags::parse(&[json!("cafe\u{301}"), json!("caf\u{e9}"), json!("x")]).unwrap();
        assert_eq!(tags.as_slice(), ["caf\u{e9}", "x"]);
        assert!(Tags::parse(&[json!("urgent"), json!("urgent\u{200b}")]).is_err());
    }

    #[test]
    fn tags_are_bounded_and_deduplicated() {
        let too_many: Vec<Value> = (0..21).map(|i| json!(format!("t{i}"))).collect();
        assert!(Tags::parse(&too_many).is_err());
        assert!(Tags::parse(&[json!("x".repeat(33))]).is_err());
        assert!(Tags::parse(&[json!(1)]).is_err());
        let tags = Tags::parse(&[json!("a"), json!(" a "), json!("b")]).unwrap();
        assert_eq!(tags.as_slice(), ["a", "b"]);
        // control characters are refused wherever they are, not only inside
        assert!(Tags::parse(&[json!("\ta")]).is_err());
        assert!(Tags::parse(&[json!(" ")]).is_err());
        assert!(parse_user_id(&json!("bob\n")).is_err());
        assert_eq!(parse_user_id(&json!(" bob ")).unwrap(), "bob");
    }

    #[test]
    fn dates_must_be_iso() {
        assert!(parse_date(&json!("2026-02-28")).is_ok());
        assert!(parse_date(&json!("2026-02-30")).is_err());
        assert!(parse_date(&json!("2026-2-3")).is_err());
        assert!(parse_date(&json!("2026-02-28T00:00:00Z")).is_err());
        assert!(parse_date(&json!("+026-02-28")).is_err());
        assert!(parse_date(&json!("2026-02-2 ")).is_err());
    }

    #[test]
    fn status_transitions_follow_the_table() {
        assert!(Status::Todo.check_transition(Status::Done).is_ok());
        assert!(Status::Done.check_transition(Status::InProgress).is_ok());
        assert!(Status::Done.check_transition(Status::Done).is_ok());
        let error = Status::Done.check_transition(Status::Blocked).unwrap_err();
        assert!(error.contains("todo, in_progress"), "{error}");
        assert!(Status::Blocked.check_transition(Status::Done).is_err());
        for from in Status::ALL {
            assert!(!from.next().contains(from), "{from:?} lists itself");
        }
    }

    #[test]
    fn task_ids_are_canonical_uuids() {
        let id = TaskId::generate();
        assert_eq!(TaskId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(TaskId::parse(&id.as_str().to_uppercase()), None);
        assert_eq!(TaskId::parse("1 OR 1=1"), None);
        assert_ne!(TaskId::generate(), TaskId::generate());
        // PATTERN: lowercase hex in 8-4-4-4-12, any version
        assert!(TaskId::parse("00000000-0000-0000-0000-000000000000").is_some());
        assert!(TaskId::parse("{00000000-0000-0000-0000-000000000000}").is_none());
        assert!(TaskId::parse("00000000000000000000000000000000").is_none());
    }
}
