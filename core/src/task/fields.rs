//! The validated building blocks of a task: ids, titles, tags, status and priority.
//!
//! Each type can only be built through its `parse`, so a value of the type is a valid value.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Control characters (NUL and friends) have no place in task text and confuse SQLite's
/// string functions; `allow_newlines` keeps `\n`, `\r` and `\t` for multi-line fields.
pub(crate) fn check_no_controls(text: &str, allow_newlines: bool) -> Result<(), String> {
    let bad = text
        .chars()
        .any(|c| c.is_control() && !(allow_newlines && matches!(c, '\n' | '\r' | '\t')));
    if bad {
        Err(if allow_newlines {
            "must not contain control characters other than newlines and tabs".into()
        } else {
            "must not contain control characters".into()
        })
    } else {
        Ok(())
    }
}

/// A title: 1–200 characters, not blank after trimming. Stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, String> {
        check_no_controls(raw, false)?;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("must not be blank".into());
        }
        if trimmed.chars().count() > TITLE_MAX_CHARS {
            return Err(format!("must be at most {TITLE_MAX_CHARS} characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
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

/// Up to 20 distinct tags, each 1–32 characters after trimming. Order is kept.
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
            let tag = text.trim();
            check_no_controls(tag, false).map_err(|m| format!("tag {index} {m}"))?;
            let len = tag.chars().count();
            if len == 0 || len > TAG_MAX_CHARS {
                return Err(format!(
                    "tag {index} must be 1 to {TAG_MAX_CHARS} characters"
                ));
            }
            if !tags.iter().any(|existing| existing == tag) {
                tags.push(tag.to_owned());
            }
        }
        Ok(Self(tags))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// An assignee: a user id of 1–128 characters without control characters, trimmed.
pub(crate) fn parse_user_id(value: &Value) -> Result<String, String> {
    let text = value.as_str().ok_or("must be a string or null")?.trim();
    check_no_controls(text, false)?;
    let len = text.chars().count();
    if len == 0 || len > USER_ID_MAX_CHARS {
        return Err(format!("must be 1 to {USER_ID_MAX_CHARS} characters"));
    }
    Ok(text.to_owned())
}

/// A due date: exactly `YYYY-MM-DD`, and a real day.
pub(crate) fn parse_date(value: &Value) -> Result<chrono::NaiveDate, String> {
    let text = value.as_str().ok_or("must be an ISO date string or null")?;
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 10)
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
    }

    #[test]
    fn tags_are_bounded_and_deduplicated() {
        let too_many: Vec<Value> = (0..21).map(|i| json!(format!("t{i}"))).collect();
        assert!(Tags::parse(&too_many).is_err());
        assert!(Tags::parse(&[json!("x".repeat(33))]).is_err());
        assert!(Tags::parse(&[json!(1)]).is_err());
        let tags = Tags::parse(&[json!("a"), json!(" a "), json!("b")]).unwrap();
        assert_eq!(tags.as_slice(), ["a", "b"]);
    }

    #[test]
    fn dates_must_be_iso() {
        assert!(parse_date(&json!("2026-02-28")).is_ok());
        assert!(parse_date(&json!("2026-02-30")).is_err());
        assert!(parse_date(&json!("2026-2-3")).is_err());
        assert!(parse_date(&json!("2026-02-28T00:00:00Z")).is_err());
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
    }
}
