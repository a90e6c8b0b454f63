//! A task's history as the API serves it (`GET /api/tasks/{id}/activity`): the query, and
//! one entry per committed change, newest first.

use serde::Serialize;

use crate::listing::{bad_cursor, parse_limit};
use crate::protocol::Actor;
use crate::task::{Change, ChangeKind, FieldError, Status, Task};

/// Entries per page when the client does not say.
pub const DEFAULT_LIMIT: u32 = 50;

/// The JSON Schema `pattern` of an activity `cursor`: the id of a change, a positive
/// integer of at most 15 digits (below 2^53, so exact as a JSON number and as a D1
/// binding) without leading zeros, or empty (the first page). Exactly what
/// [`ActivityQuery::parse`] accepts.
pub const CURSOR_PATTERN: &str = "^(?:[1-9][0-9]{0,14})?$";

/// A change id as [`CURSOR_PATTERN`] spells it.
fn parse_cursor(value: &str) -> Option<i64> {
    let digits = value.as_bytes();
    let shaped = (1..=15).contains(&digits.len())
        && digits[0] != b'0'
        && digits.iter().all(u8::is_ascii_digit);
    shaped.then(|| value.parse().ok()).flatten()
}

/// Validated `limit` and `cursor` (the id of the last entry of the previous page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityQuery {
    pub limit: u32,
    /// Entries strictly older than this change id.
    pub before: Option<i64>,
}

impl ActivityQuery {
    /// Parses query pairs; every bad parameter is reported. Unknown parameters are ignored.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut query = ActivityQuery {
            limit: DEFAULT_LIMIT,
            before: None,
        };
        let mut errors = Vec::new();
        for (name, value) in pairs {
            match name {
                "limit" => match parse_limit(value) {
                    Ok(limit) => query.limit = limit,
                    Err(error) => errors.push(error),
                },
                "cursor" if value.is_empty() => query.before = None,
                "cursor" => match parse_cursor(value) {
                    Some(id) => query.before = Some(id),
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

/// One change as the activity log shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityEntry {
    /// The change's id: also the cursor that pages past it.
    pub id: i64,
    pub kind: ChangeKind,
    /// The task's version after the change.
    pub version: i64,
    pub changed: Vec<String>,
    /// Set, with `to_status`, only when the change moved the status.
    pub from_status: Option<Status>,
    pub to_status: Option<Status>,
    pub actor: Actor,
    pub at: String,
    /// The task as the change left it.
    pub task: Task,
}

impl ActivityEntry {
    pub fn from_change(id: i64, change: Change) -> Self {
        let moved = change.previous_status.filter(|s| *s != change.task.status);
        ActivityEntry {
            id,
            kind: change.kind,
            version: change.task.version,
            changed: change.changed,
            from_status: moved,
            to_status: moved.map(|_| change.task.status),
            actor: Actor {
                id: change.actor_id,
                name: change.actor_name,
            },
            at: change.at,
            task: change.task,
        }
    }
}

/// One page of activity and the cursor of the next, as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityPage {
    pub activity: Vec<ActivityEntry>,
    pub next_cursor: Option<String>,
}

impl ActivityPage {
    /// `rows` holds up to `limit + 1` changes, newest first: one more than the page means
    /// another page follows, starting after the last one shown.
    pub fn from_rows(mut rows: Vec<(i64, Change)>, limit: u32) -> Self {
        let limit = limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|(id, _)| id.to_string())
        } else {
            None
        };
        ActivityPage {
            activity: rows
                .into_iter()
                .map(|(id, change)| ActivityEntry::from_change(id, change))
                .collect(),
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::new_task;
    use serde_json::json;

    fn change(status_before: Option<Status>, status_after: &str) -> Change {
        Change {
            kind: ChangeKind::Updated,
            task: new_task(json!({"title": "A", "status": status_after})),
            changed: vec!["status".into()],
            previous_status: status_before,
            actor_id: "ana".into(),
            actor_name: "Ana".into(),
            at: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    #[test]
    fn queries_are_bounded() {
        assert_eq!(
            ActivityQuery::parse([]).unwrap(),
            ActivityQuery {
                limit: 50,
                before: None
            }
        );
        let query = ActivityQuery::parse([("limit", "2"), ("cursor", "9")]).unwrap();
        assert_eq!((query.limit, query.before), (2, Some(9)));
        let errors = ActivityQuery::parse([("limit", "0"), ("cursor", "-1")]).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(ActivityQuery::parse([("limit", "201")]).is_err());
        assert_eq!(ActivityQuery::parse([("cursor", "")]).unwrap().before, None);
        let largest = "9".repeat(15);
        let cursor = ActivityQuery::parse([("cursor", largest.as_str())]).unwrap();
        assert_eq!(cursor.before, Some(999_999_999_999_999));
        let too_long = "1".repeat(16);
        for bad in [
            "0",
            "07",
            "+7",
            "-7",
            " 7",
            "7 ",
            "1e3",
            "١",
            too_long.as_str(),
        ] {
            assert!(ActivityQuery::parse([("cursor", bad)]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn entries_show_a_status_move_only_when_there_was_one() {
        let moved = ActivityEntry::from_change(3, change(Some(Status::Todo), "done"));
        assert_eq!(
            (moved.from_status, moved.to_status),
            (Some(Status::Todo), Some(Status::Done))
        );
        let body = serde_json::to_value(&moved).unwrap();
        assert_eq!(body["actor"], json!({"id": "ana", "name": "Ana"}));
        assert_eq!(body["version"], 1);
        let stayed = ActivityEntry::from_change(4, change(Some(Status::Done), "done"));
        assert_eq!((stayed.from_status, stayed.to_status), (None, None));
    }

    #[test]
    fn a_full_page_names_the_next_cursor() {
        let rows: Vec<(i64, Change)> = (1..=3).rev().map(|id| (id, change(None, "todo"))).collect();
        let page = ActivityPage::from_rows(rows.clone(), 2);
        assert_eq!(page.activity.len(), 2);
        assert_eq!(page.next_cursor.as_deref(), Some("2"));
        assert_eq!(ActivityPage::from_rows(rows, 3).next_cursor, None);
    }
}
