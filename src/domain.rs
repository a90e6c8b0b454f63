//! The task model and its validation rules.
//!
//! Everything here is pure: values arrive as `serde_json::Value`, leave as validated types or
//! a list of [`FieldError`]s naming every bad field at once, so a client fixes its request in
//! one round trip instead of one error at a time.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// A title: 1–200 characters, not blank after trimming. Stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Title(String);

/// Control characters (NUL and friends) have no place in task text and confuse SQLite's
/// string functions; `allow_newlines` keeps `\n`, `\r` and `\t` for multi-line fields.
fn check_no_controls(text: &str, allow_newlines: bool) -> Result<(), String> {
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

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($text => Some($name::$variant),)+ _ => None }
            }

            fn expected() -> String {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                format!("must be one of: {}", names.join(", "))
            }
        }
    };
}

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

/// A task as stored and as returned by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    pub workspace_id: String,
    pub title: Title,
    pub description: String,
    pub status: Status,
    pub priority: Priority,
    pub assignee_id: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub tags: Tags,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// When the task last entered `done`; cleared when it leaves. Feeds "done this week".
    pub completed_at: Option<String>,
    pub version: i64,
}

/// A validated set of field changes: the body of a create, or a JSON merge patch.
///
/// The outer `Option` is "field present in the request"; for nullable fields the inner one is
/// the new value, where `None` clears it (merge-patch `null`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskChanges {
    pub title: Option<Title>,
    pub description: Option<String>,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub assignee_id: Option<Option<String>>,
    pub due_date: Option<Option<NaiveDate>>,
    pub tags: Option<Tags>,
}

/// The fields a client may send; anything else is rejected rather than silently ignored.
pub const WRITABLE_FIELDS: &[&str] = &[
    "title",
    "description",
    "status",
    "priority",
    "assignee_id",
    "due_date",
    "tags",
];

impl TaskChanges {
    /// Validates a JSON object of changes (create body or merge patch).
    ///
    /// `require_title` is set for creates. Every bad or unknown field is reported.
    pub fn from_json(body: &Value, require_title: bool) -> Result<Self, Vec<FieldError>> {
        let Some(object) = body.as_object() else {
            return Err(vec![FieldError::new("", "the body must be a JSON object")]);
        };
        let mut errors = Vec::new();
        for key in object.keys() {
            if !WRITABLE_FIELDS.contains(&key.as_str()) {
                errors.push(FieldError::new(key.as_str(), "unknown field"));
            }
        }
        let mut changes = TaskChanges::default();
        let mut check = |field: &'static str, result: Result<(), String>| {
            if let Err(message) = result {
                errors.push(FieldError::new(field, message));
            }
        };

        check(
            "title",
            field(object, "title", false, |v| {
                let text = v.as_str().ok_or("must be a string")?;
                changes.title = Some(Title::parse(text)?);
                Ok(())
            }),
        );
        if require_title && !object.contains_key("title") {
            check("title", Err("is required".into()));
        }
        check(
            "description",
            field(object, "description", false, |v| {
                let text = v.as_str().ok_or("must be a string")?;
                if text.chars().count() > DESCRIPTION_MAX_CHARS {
                    return Err(format!(
                        "must be at most {DESCRIPTION_MAX_CHARS} characters"
                    ));
                }
                check_no_controls(text, true)?;
                changes.description = Some(text.to_owned());
                Ok(())
            }),
        );
        check(
            "status",
            field(object, "status", false, |v| {
                let text = v.as_str().ok_or("must be a string")?;
                changes.status = Some(Status::parse(text).ok_or_else(Status::expected)?);
                Ok(())
            }),
        );
        check(
            "priority",
            field(object, "priority", false, |v| {
                let text = v.as_str().ok_or("must be a string")?;
                changes.priority = Some(Priority::parse(text).ok_or_else(Priority::expected)?);
                Ok(())
            }),
        );
        check(
            "assignee_id",
            field(object, "assignee_id", true, |v| {
                changes.assignee_id = Some(match v {
                    Value::Null => None,
                    other => Some(parse_user_id(other)?),
                });
                Ok(())
            }),
        );
        check(
            "due_date",
            field(object, "due_date", true, |v| {
                changes.due_date = Some(match v {
                    Value::Null => None,
                    other => Some(parse_date(other)?),
                });
                Ok(())
            }),
        );
        check(
            "tags",
            field(object, "tags", false, |v| {
                let items = v.as_array().ok_or("must be an array of strings")?;
                changes.tags = Some(Tags::parse(items)?);
                Ok(())
            }),
        );

        if errors.is_empty() {
            Ok(changes)
        } else {
            Err(errors)
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == TaskChanges::default()
    }
}

/// Runs `parse` on a present field; `null` is refused unless the field is nullable.
fn field(
    object: &Map<String, Value>,
    name: &str,
    nullable: bool,
    parse: impl FnOnce(&Value) -> Result<(), String>,
) -> Result<(), String> {
    match object.get(name) {
        None => Ok(()),
        Some(Value::Null) if !nullable => Err("must not be null".into()),
        Some(value) => parse(value),
    }
}

fn parse_user_id(value: &Value) -> Result<String, String> {
    let text = value.as_str().ok_or("must be a string or null")?.trim();
    check_no_controls(text, false)?;
    let len = text.chars().count();
    if len == 0 || len > USER_ID_MAX_CHARS {
        return Err(format!("must be 1 to {USER_ID_MAX_CHARS} characters"));
    }
    Ok(text.to_owned())
}

fn parse_date(value: &Value) -> Result<NaiveDate, String> {
    let text = value.as_str().ok_or("must be an ISO date string or null")?;
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 10)
        .ok_or_else(|| "must be an ISO date (YYYY-MM-DD)".into())
}

/// Formats a UTC instant the way every timestamp in the API looks:
/// `2026-01-02T03:04:05.678Z` (fixed width, so text order is time order in SQL).
pub fn format_timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// What kind of write a change record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::Deleted => "deleted",
        }
    }
}

/// One committed write, recorded in the same transaction as the write itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// The task after the write (for a delete: as it was when deleted).
    pub task: Task,
    /// Names of the fields the write changed (empty for create and delete).
    pub changed: Vec<String>,
    /// The status before an update (None for create and delete).
    pub previous_status: Option<Status>,
    pub actor_id: String,
    pub actor_name: String,
    pub at: String,
}

/// Who made a change and when; the server decides both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp<'a> {
    pub actor: &'a str,
    pub now: &'a str,
}

impl Task {
    /// Builds a new task from validated create changes. Returns `None` without a title.
    pub fn create(
        id: TaskId,
        workspace_id: &str,
        changes: TaskChanges,
        stamp: &Stamp<'_>,
    ) -> Option<Task> {
        let mut task = Task {
            id,
            workspace_id: workspace_id.to_owned(),
            title: changes.title.clone()?,
            description: String::new(),
            status: Status::Todo,
            priority: Priority::Medium,
            assignee_id: None,
            due_date: None,
            tags: Tags::default(),
            created_by: stamp.actor.to_owned(),
            created_at: stamp.now.to_owned(),
            updated_at: stamp.now.to_owned(),
            completed_at: None,
            version: 1,
        };
        task.merge(changes, stamp.now);
        task.updated_at = stamp.now.to_owned();
        task.version = 1;
        Some(task)
    }

    /// Applies a merge patch. Returns the names of the fields whose value really changed;
    /// when that list is empty the task (version included) is left exactly as it was.
    pub fn apply(&mut self, changes: TaskChanges, now: &str) -> Vec<&'static str> {
        let changed = self.merge(changes, now);
        if !changed.is_empty() {
            self.updated_at = now.to_owned();
            self.version += 1;
        }
        changed
    }

    fn merge(&mut self, changes: TaskChanges, now: &str) -> Vec<&'static str> {
        let mut changed = Vec::new();
        fn set<T: PartialEq>(
            slot: &mut T,
            new: Option<T>,
            name: &'static str,
            changed: &mut Vec<&'static str>,
        ) {
            if let Some(value) = new {
                if *slot != value {
                    *slot = value;
                    changed.push(name);
                }
            }
        }
        let was_done = self.status == Status::Done;
        set(&mut self.title, changes.title, "title", &mut changed);
        set(
            &mut self.description,
            changes.description,
            "description",
            &mut changed,
        );
        set(&mut self.status, changes.status, "status", &mut changed);
        set(
            &mut self.priority,
            changes.priority,
            "priority",
            &mut changed,
        );
        set(
            &mut self.assignee_id,
            changes.assignee_id,
            "assignee_id",
            &mut changed,
        );
        set(
            &mut self.due_date,
            changes.due_date,
            "due_date",
            &mut changed,
        );
        set(&mut self.tags, changes.tags, "tags", &mut changed);
        match (was_done, self.status == Status::Done) {
            (false, true) => self.completed_at = Some(now.to_owned()),
            (true, false) => self.completed_at = None,
            _ => {}
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stamp() -> Stamp<'static> {
        Stamp {
            actor: "user-1",
            now: "2026-01-01T00:00:00.000Z",
        }
    }

    fn new_task(body: Value) -> Task {
        let changes = TaskChanges::from_json(&body, true).expect("valid body");
        Task::create(TaskId::generate(), "ws-1", changes, &stamp()).expect("has title")
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

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
    fn control_characters_are_refused() {
        assert!(Title::parse("\0x").is_err());
        assert!(Title::parse("a\u{7}b").is_err());
        assert!(Title::parse("line\nbreak").is_err());
        let errors = TaskChanges::from_json(
            &json!({"description": "ok\n\tstill ok", "tags": ["\u{0}"], "assignee_id": "a\u{1b}"}),
            false,
        )
        .unwrap_err();
        assert_eq!(fields(&errors), ["assignee_id", "tags"]);
        assert!(TaskChanges::from_json(&json!({"description": "nul \u{0}"}), false).is_err());
    }

    #[test]
    fn create_applies_defaults() {
        let task = new_task(json!({"title": "Write docs"}));
        assert_eq!(task.status, Status::Todo);
        assert_eq!(task.priority, Priority::Medium);
        assert_eq!(task.version, 1);
        assert_eq!(task.created_by, "user-1");
        assert!(task.tags.as_slice().is_empty());
    }

    #[test]
    fn create_requires_title() {
        let errors = TaskChanges::from_json(&json!({"description": "x"}), true).unwrap_err();
        assert_eq!(fields(&errors), ["title"]);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let body = json!({
            "title": "",
            "status": "finished",
            "priority": 3,
            "due_date": "2026-13-01",
            "tags": ["ok", ""],
            "colour": "red",
            "description": "d".repeat(10_001),
            "assignee_id": ""
        });
        let errors = TaskChanges::from_json(&body, true).unwrap_err();
        let mut names = fields(&errors);
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "assignee_id",
                "colour",
                "description",
                "due_date",
                "priority",
                "status",
                "tags",
                "title"
            ]
        );
    }

    #[test]
    fn null_clears_nullable_fields_only() {
        let ok =
            TaskChanges::from_json(&json!({"assignee_id": null, "due_date": null}), false).unwrap();
        assert_eq!(ok.assignee_id, Some(None));
        assert_eq!(ok.due_date, Some(None));
        let errors =
            TaskChanges::from_json(&json!({"title": null, "tags": null}), false).unwrap_err();
        assert_eq!(fields(&errors), ["title", "tags"]);
    }

    #[test]
    fn body_must_be_an_object() {
        assert!(TaskChanges::from_json(&json!([1, 2]), false).is_err());
        assert!(TaskChanges::from_json(&json!("x"), false).is_err());
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
    fn merge_patch_reports_real_changes_and_bumps_version_once() {
        let mut task = new_task(json!({"title": "A", "tags": ["x"]}));
        let patch = TaskChanges::from_json(
            &json!({"title": "A", "status": "done", "tags": ["y"]}),
            false,
        )
        .unwrap();
        let changed = task.apply(patch, "2026-01-02T00:00:00.000Z");
        assert_eq!(changed, ["status", "tags"]);
        assert_eq!(task.version, 2);
        assert_eq!(
            task.completed_at.as_deref(),
            Some("2026-01-02T00:00:00.000Z")
        );
        assert_eq!(task.updated_at, "2026-01-02T00:00:00.000Z");
    }

    #[test]
    fn a_patch_that_changes_nothing_keeps_the_version() {
        let mut task = new_task(json!({"title": "A"}));
        let before = task.clone();
        let patch = TaskChanges::from_json(&json!({"title": " A "}), false).unwrap();
        assert!(task.apply(patch, "2026-01-02T00:00:00.000Z").is_empty());
        assert_eq!(task, before);
    }

    #[test]
    fn leaving_done_clears_completed_at() {
        let mut task = new_task(json!({"title": "A", "status": "done"}));
        assert!(task.completed_at.is_some());
        let patch = TaskChanges::from_json(&json!({"status": "todo"}), false).unwrap();
        task.apply(patch, "2026-01-02T00:00:00.000Z");
        assert_eq!(task.completed_at, None);
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

    #[test]
    fn task_round_trips_through_json() {
        let task = new_task(json!({"title": "A", "due_date": "2026-03-04", "tags": ["a"]}));
        let text = serde_json::to_string(&task).unwrap();
        assert!(text.contains("\"due_date\":\"2026-03-04\""));
        let back: Task = serde_json::from_str(&text).unwrap();
        assert_eq!(back, task);
    }
}
