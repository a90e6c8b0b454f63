//! What a client may send: the body of a create, and a JSON merge patch (RFC 7396).
//!
//! Values arrive as `serde_json::Value` and leave as validated types or a list of
//! [`FieldError`]s naming every bad field at once, so a client fixes its request in one round
//! trip instead of one error at a time.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::error::echo;

use super::fields::{
    parse_date, parse_user_id, FieldError, Priority, Status, Tags, Title, DATE_PATTERN,
    DESCRIPTION_MAX_CHARS,
};
use super::text::{check_no_controls, multi_line_pattern, one_line_pattern, Line};

/// A validated set of field changes: a JSON merge patch, or the optional fields of a create.
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

/// A validated create: the title it must have, and whatever else it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub title: Title,
    pub changes: TaskChanges,
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
    /// The JSON Schema `pattern` of `description`: no control characters but tab, line feed
    /// and carriage return.
    pub fn description_pattern() -> String {
        multi_line_pattern()
    }

    /// The JSON Schema `pattern` of `assignee_id` (when it is not null): a one-line text,
    /// like a title.
    pub fn assignee_pattern() -> String {
        one_line_pattern(Line::Plain)
    }

    /// The JSON Schema `pattern` of `due_date` (with `format: date`: a real day).
    pub const DUE_DATE_PATTERN: &'static str = DATE_PATTERN;

    /// Validates a merge patch. Every bad or unknown field is reported.
    pub fn for_patch(body: &Value) -> Result<Self, Vec<FieldError>> {
        let (changes, errors) = parse_fields(body)?;
        if errors.is_empty() {
            Ok(changes)
        } else {
            Err(errors)
        }
    }

    /// Validates a create body: the same fields as a patch, and `title` is required.
    pub fn for_create(body: &Value) -> Result<NewTask, Vec<FieldError>> {
        let (mut changes, mut errors) = parse_fields(body)?;
        let title = changes.title.take();
        let has_title = body.as_object().is_some_and(|o| o.contains_key("title"));
        if !has_title {
            errors.push(FieldError::new("title", "is required"));
        }
        match title {
            Some(title) if errors.is_empty() => Ok(NewTask { title, changes }),
            _ => Err(errors),
        }
    }
}

/// Parses every present field; unknown fields and bad values are collected, not fatal.
/// Only a body that is not an object fails at once.
fn parse_fields(body: &Value) -> Result<(TaskChanges, Vec<FieldError>), Vec<FieldError>> {
    let Some(object) = body.as_object() else {
        return Err(vec![FieldError::new("", "the body must be a JSON object")]);
    };
    let mut errors = Vec::new();
    for key in object.keys() {
        if !WRITABLE_FIELDS.contains(&key.as_str()) {
            errors.push(FieldError::new(echo(key), "unknown field"));
        }
    }
    let mut changes = TaskChanges::default();
    parse_text_fields(object, &mut changes, &mut errors);
    parse_other_fields(object, &mut changes, &mut errors);
    Ok((changes, errors))
}

/// Records a field's error, if it has one.
fn check(errors: &mut Vec<FieldError>, field: &'static str, result: Result<(), String>) {
    if let Err(message) = result {
        errors.push(FieldError::new(field, message));
    }
}

/// The fields that are strings: title, description, status, priority.
fn parse_text_fields(
    object: &Map<String, Value>,
    changes: &mut TaskChanges,
    errors: &mut Vec<FieldError>,
) {
    check(
        errors,
        "title",
        field(object, "title", false, |v| {
            let text = v.as_str().ok_or("must be a string")?;
            changes.title = Some(Title::parse(text)?);
            Ok(())
        }),
    );
    check(
        errors,
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
        errors,
        "status",
        field(object, "status", false, |v| {
            let text = v.as_str().ok_or("must be a string")?;
            changes.status = Some(Status::parse(text).ok_or_else(Status::expected)?);
            Ok(())
        }),
    );
    check(
        errors,
        "priority",
        field(object, "priority", false, |v| {
            let text = v.as_str().ok_or("must be a string")?;
            changes.priority = Some(Priority::parse(text).ok_or_else(Priority::expected)?);
            Ok(())
        }),
    );
}

/// The fields that may be null or are lists: assignee, due date, tags.
fn parse_other_fields(
    object: &Map<String, Value>,
    changes: &mut TaskChanges,
    errors: &mut Vec<FieldError>,
) {
    check(
        errors,
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
        errors,
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
        errors,
        "tags",
        field(object, "tags", false, |v| {
            let items = v.as_array().ok_or("must be an array of strings")?;
            changes.tags = Some(Tags::parse(items)?);
            Ok(())
        }),
    );
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(Title::parse("\0x").is_err());
        assert!(Title::parse("a\u{7}b").is_err());
        assert!(Title::parse("line\nbreak").is_err());
        let errors = TaskChanges::for_patch(
            &json!({"description": "ok\n\tstill ok", "tags": ["\u{0}"], "assignee_id": "a\u{1b}"}),
        )
        .unwrap_err();
        assert_eq!(fields(&errors), ["assignee_id", "tags"]);
        assert!(TaskChanges::for_patch(&json!({"description": "nul \u{0}"})).is_err());
    }

    #[test]
    fn create_requires_title() {
        let errors = TaskChanges::for_create(&json!({"description": "x"})).unwrap_err();
        assert_eq!(fields(&errors), ["title"]);
        let errors = TaskChanges::for_create(&json!({"title": "  "})).unwrap_err();
        assert_eq!(fields(&errors), ["title"]);
        let created = TaskChanges::for_create(&json!({"title": " A ", "priority": "high"}));
        let created = created.unwrap();
        assert_eq!(created.title.as_str(), "A");
        assert_eq!(created.changes.title, None, "the title is taken out");
        assert_eq!(created.changes.priority, Some(Priority::High));
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
        let errors = TaskChanges::for_create(&body).unwrap_err();
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
        let ok = TaskChanges::for_patch(&json!({"assignee_id": null, "due_date": null})).unwrap();
        assert_eq!(ok.assignee_id, Some(None));
        assert_eq!(ok.due_date, Some(None));
        let errors = TaskChanges::for_patch(&json!({"title": null, "tags": null})).unwrap_err();
        assert_eq!(fields(&errors), ["title", "tags"]);
    }

    #[test]
    fn unknown_names_are_echoed_cut() {
        let long = "n".repeat(10_000);
        let errors = TaskChanges::for_patch(&json!({ long.clone(): 1 })).unwrap_err();
        assert_eq!(errors[0].field, crate::error::echo(&long));
        assert!(errors[0].field.len() < 100);
    }

    #[test]
    fn body_must_be_an_object() {
        assert!(TaskChanges::for_patch(&json!([1, 2])).is_err());
        assert!(TaskChanges::for_create(&json!("x")).is_err());
    }
}
