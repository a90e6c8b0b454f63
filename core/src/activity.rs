//! A task's history as the API serves it (`GET /api/tasks/{id}/activity`): the query, and
//! one entry per committed change, newest first.
//!
//! An entry's `id`, which is also the cursor that pages past it, is the change's number in
//! its workspace (`task_changes.ws_seq`: 1, 2, 3… without gaps), never the global change
//! id, whose gaps would tell anyone how much every other workspace writes. A cursor from
//! before this numbering (a global id) is still a number, read as one of these: as a global
//! id is never below the same change's workspace number, such a page starts at or after the
//! one it meant, and may repeat entries but never skips one.

use serde::Serialize;

use crate::listing::{bad_cursor, parse_limit};
use crate::protocol::Actor;
use crate::task::{Change, ChangeKind, FieldError, Status, Task};

/// Entries per page when the client does not say.
pub const DEFAULT_LIMIT: u32 = 50;

/// The JSON Schema `pattern` of an activity `cursor`: an entry's id, a positive
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
    /// Entries strictly older than this one (an entry's id: its number in the workspace).
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
    /// The change's number in its workspace (`ws_seq`): also the cursor that pages past
    /// it. A burst of typing merged into one entry has its oldest change's number.
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
    /// The shared description's own writes: everyone whose typing the entry carries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub editors: Vec<Actor>,
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
            editors: change.editors,
        }
    }

    /// Takes in an older entry of the same burst of typing: the id pages past both, the
    /// editors are everyone's, in the order they first typed.
    fn absorb(&mut self, older: ActivityEntry) {
        self.id = older.id;
        let mut editors = older.editors;
        for editor in std::mem::take(&mut self.editors) {
            if !editors.iter().any(|e| e.id == editor.id) {
                editors.push(editor);
            }
        }
        self.actor = Actor {
            id: editors[0].id.clone(),
            name: crate::doc::flush::editors_name(&editors),
        };
        self.editors = editors;
    }

    /// Whether `older` belongs to this entry's burst of typing: both are the shared
    /// description's own writes, at most [`BURST_GAP_MS`] apart.
    fn same_burst(&self, older: &ActivityEntry) -> bool {
        let at = |entry: &ActivityEntry| {
            chrono::DateTime::parse_from_rfc3339(&entry.at)
                .map(|t| t.timestamp_millis())
                .ok()
        };
        !self.editors.is_empty()
            && !older.editors.is_empty()
            && matches!((at(self), at(older)), (Some(new), Some(old)) if new - old <= BURST_GAP_MS)
    }
}

/// The shared description's writes this close together are one entry of the activity: one
/// burst of typing, however many times it was written to D1 on the way.
pub const BURST_GAP_MS: i64 = 60_000;

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
        let mut activity: Vec<ActivityEntry> = Vec::with_capacity(rows.len());
        for (id, change) in rows {
            let entry = ActivityEntry::from_change(id, change);
            match activity.last_mut() {
                Some(newer) if newer.same_burst(&entry) => newer.absorb(entry),
                _ => activity.push(entry),
            }
        }
        ActivityPage {
            activity,
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
            editors: Vec::new(),
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

    #[test]
    fn a_burst_of_typing_is_one_entry_naming_everyone() {
        let actor = |id: &str| Actor {
            id: id.into(),
            name: id.to_uppercase(),
        };
        let flush = |at: &str, editors: Vec<Actor>| {
            let mut change = change(Some(Status::Todo), "todo");
            change.changed = vec!["description".into()];
            change.at = at.into();
            change.actor_name = crate::doc::flush::editors_name(&editors);
            change.editors = editors;
            change
        };
        // newest first: two flushes of one burst, an ordinary edit, then an older burst
        let rows = vec![
            (9, flush("2026-01-01T00:01:10.000Z", vec![actor("bo")])),
            (
                8,
                flush("2026-01-01T00:01:00.000Z", vec![actor("ana"), actor("bo")]),
            ),
            (7, change(Some(Status::Todo), "done")),
            (6, flush("2026-01-01T00:00:05.000Z", vec![actor("cy")])),
            (5, flush("2025-12-31T23:00:00.000Z", vec![actor("cy")])),
        ];
        let page = ActivityPage::from_rows(rows, 50);
        let ids: Vec<i64> = page.activity.iter().map(|e| e.id).collect();
        assert_eq!(
            ids,
            [8, 7, 6, 5],
            "9 and 8 are one; 6 and 5 are an hour apart"
        );
        let burst = &page.activity[0];
        assert_eq!(burst.actor.name, "ANA and BO");
        assert_eq!(burst.editors.len(), 2);
        assert_eq!(burst.at, "2026-01-01T00:01:10.000Z", "the newest's time");
        assert!(page.activity[1].editors.is_empty());
        let json = serde_json::to_value(&page.activity[1]).unwrap();
        assert!(
            json.get("editors").is_none(),
            "only the document's writes carry editors"
        );
    }
}
