//! The room's durable event log: which committed changes become which events, how they are
//! numbered, and what the log keeps.
//!
//! A room applies the D1 change log in commit order from its cursor (`change_cursor`, the
//! last `task_changes.id` it applied). Each change becomes one or two events numbered from
//! the room's own `seq`, so a client resumes with `?since=<seq>` whatever else the database
//! holds. [`plan_append`] decides it all; the Durable Object stores and sends what it says.

use crate::protocol::{Actor, ServerMessage};
use crate::task::{Change, ChangeKind};

/// The durable events one committed change produces, numbered from `next_seq`. An update
/// that moved the status is `task_updated` followed by `task_status_changed`.
pub fn events_for_change(change: &Change, next_seq: u64) -> Vec<ServerMessage> {
    let actor = Actor {
        id: change.actor_id.clone(),
        name: change.actor_name.clone(),
    };
    let at = change.at.clone();
    let task_id = change.task.id.to_string();
    match change.kind {
        ChangeKind::Created => vec![ServerMessage::TaskCreated {
            seq: next_seq,
            at,
            actor,
            task: change.task.clone(),
        }],
        ChangeKind::Deleted => vec![ServerMessage::TaskDeleted {
            seq: next_seq,
            at,
            actor,
            task_id,
        }],
        ChangeKind::Updated => {
            let mut events = vec![ServerMessage::TaskUpdated {
                seq: next_seq,
                at: at.clone(),
                actor: actor.clone(),
                task: change.task.clone(),
                changed: change.changed.clone(),
            }];
            if let Some(from) = change
                .previous_status
                .filter(|from| *from != change.task.status)
            {
                events.push(ServerMessage::TaskStatusChanged {
                    seq: next_seq + 1,
                    at,
                    actor,
                    task_id,
                    from,
                    to: change.task.status,
                });
            }
            events
        }
    }
}

/// Where a room's log stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogPosition {
    /// The `seq` of the last durable event.
    pub seq: u64,
    /// The `task_changes.id` of the last change applied.
    pub change_cursor: i64,
}

/// What appending a run of committed changes does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendPlan {
    /// The new events, numbered and serialized, in `seq` order: stored in the log as they
    /// are, so a replay sends exactly what the live sockets got. (They go out in `batch`
    /// frames when several are waiting: see [`crate::protocol::batch_frames`].)
    pub events: Vec<(u64, String)>,
    pub position: LogPosition,
    /// The task's version after the last change applied (`None` when nothing was): a task
    /// room knows from it whether the next change it commits follows on directly.
    pub last_version: Option<i64>,
    /// Events at or below this `seq` leave the log: it keeps the last `log_size`.
    pub trim_through: u64,
    /// A task room whose task was deleted closes every socket (4004) once the event is out.
    pub close_everyone: bool,
}

/// Plans the append of `changes` to a log at `position`. Each change comes with its cursor
/// value (a task room's is `task_changes.id`, a board's the workspace's `ws_seq`), in that
/// order. Changes at or below the cursor were applied already and are skipped, so reading
/// an overlapping range twice never sends an event twice.
pub fn plan_append(
    position: LogPosition,
    changes: Vec<(i64, Change)>,
    is_board: bool,
    log_size: u64,
) -> AppendPlan {
    let LogPosition {
        mut seq,
        change_cursor: mut cursor,
    } = position;
    let mut events = Vec::new();
    let mut close_everyone = false;
    let mut last_version = None;
    for (change_id, change) in changes {
        if change_id <= cursor {
            continue;
        }
        for event in events_for_change(&change, seq + 1) {
            seq = event.seq().unwrap_or(seq + 1);
            events.push((seq, event.to_json()));
        }
        cursor = change_id;
        last_version = Some(change.task.version);
        close_everyone |= !is_board && change.kind == ChangeKind::Deleted;
    }
    AppendPlan {
        events,
        last_version,
        position: LogPosition {
            seq,
            change_cursor: cursor,
        },
        trim_through: seq.saturating_sub(log_size),
        close_everyone,
    }
}

/// What a board does with a change it is told about, given the last `ws_seq` it applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeAction {
    /// Applied already (a repeat, or read from D1 meanwhile): nothing.
    Stale,
    /// The very next one: apply it as it is, without reading D1.
    Next,
    /// One or more before it are missing (lost, or still on their way): read them from D1.
    Gap,
}

pub fn notice_action(cursor: i64, ws_seq: i64) -> NoticeAction {
    match ws_seq - cursor {
        i64::MIN..=0 => NoticeAction::Stale,
        1 => NoticeAction::Next,
        _ => NoticeAction::Gap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::{new_task, Status};
    use serde_json::json;

    fn change(kind: ChangeKind, status: &str, previous_status: Option<Status>) -> Change {
        Change {
            kind,
            task: new_task(json!({"title": "t", "status": status})),
            changed: vec!["status".into()],
            previous_status,
            actor_id: "ana".into(),
            actor_name: "Ana".into(),
            at: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    #[test]
    fn a_status_change_is_two_events_with_consecutive_seqs() {
        let events = events_for_change(&change(ChangeKind::Updated, "done", Some(Status::Todo)), 7);
        let seqs: Vec<_> = events.iter().filter_map(ServerMessage::seq).collect();
        assert_eq!(seqs, [7, 8]);
        assert!(matches!(
            events[1],
            ServerMessage::TaskStatusChanged {
                from: Status::Todo,
                to: Status::Done,
                ..
            }
        ));
        let events = events_for_change(&change(ChangeKind::Updated, "done", Some(Status::Done)), 7);
        assert_eq!(events.len(), 1);
        assert_eq!(
            events_for_change(&change(ChangeKind::Created, "todo", None), 1).len(),
            1
        );
        assert!(matches!(
            events_for_change(&change(ChangeKind::Deleted, "todo", None), 2)[0],
            ServerMessage::TaskDeleted { seq: 2, .. }
        ));
    }

    #[test]
    fn appends_number_from_the_log_and_skip_what_was_applied() {
        let position = LogPosition {
            seq: 10,
            change_cursor: 5,
        };
        let changes = vec![
            (4, change(ChangeKind::Updated, "todo", Some(Status::Todo))),
            (5, change(ChangeKind::Updated, "todo", Some(Status::Todo))),
            (6, change(ChangeKind::Updated, "done", Some(Status::Todo))),
            (9, change(ChangeKind::Created, "todo", None)),
        ];
        let plan = plan_append(position, changes, true, 1000);
        let seqs: Vec<u64> = plan.events.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(seqs, [11, 12, 13], "4 and 5 were applied already");
        assert_eq!(
            plan.position,
            LogPosition {
                seq: 13,
                change_cursor: 9
            }
        );
        assert_eq!(plan.last_version, Some(1));
        assert!(!plan.close_everyone);
        assert_eq!(plan.trim_through, 0);
    }

    #[test]
    fn the_log_keeps_its_size_and_a_deleted_task_closes_its_room_only() {
        let position = LogPosition {
            seq: 20,
            change_cursor: 1,
        };
        let deleted = vec![(2, change(ChangeKind::Deleted, "todo", None))];
        let task_room = plan_append(position, deleted.clone(), false, 5);
        assert_eq!(task_room.trim_through, 16, "keeps seqs 17..=21");
        assert!(task_room.close_everyone);
        let board = plan_append(position, deleted, true, 5);
        assert!(!board.close_everyone);
        let nothing_new = plan_append(position, Vec::new(), false, 5);
        assert!(nothing_new.events.is_empty());
        assert_eq!(nothing_new.last_version, None);
        assert_eq!(nothing_new.position, position);
    }

    #[test]
    fn a_board_applies_only_the_next_change_as_told() {
        assert_eq!(notice_action(7, 8), NoticeAction::Next);
        assert_eq!(notice_action(7, 7), NoticeAction::Stale);
        assert_eq!(notice_action(7, 3), NoticeAction::Stale);
        assert_eq!(notice_action(7, 9), NoticeAction::Gap);
        assert_eq!(notice_action(0, 1), NoticeAction::Next);
    }
}
