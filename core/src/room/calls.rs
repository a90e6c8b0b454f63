//! What the Worker and the rooms say to each other: the write a task room commits for the
//! Worker, its answer, and the notice a committed change sends to the workspace board.
//!
//! Like the client protocol, these are tagged serde enums on an internal wire (a Durable
//! Object has no public address, so only the Worker and other rooms reach it).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::Principal;
use crate::conditional::IfMatch;
use crate::error::ApiError;
use crate::idempotency::{Claim, StoredResponse};
use crate::protocol::UserInfo;
use crate::task::{Change, Task, TaskId};

/// A write to a task, handed to the task's room, which commits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteRequest {
    /// The authenticated caller (the Worker verified the token).
    pub caller: Principal,
    pub precondition: Option<IfMatch>,
    pub op: WriteOp,
    /// The request's `Idempotency-Key` and fingerprint, when it has one.
    #[serde(default)]
    pub claim: Option<Claim>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum WriteOp {
    /// A JSON merge patch, already validated by the Worker (the room parses it again: the
    /// validated form is not a wire type, and parsing is cheap).
    Update {
        patch: Value,
    },
    Delete,
}

/// Where a committed change sits in the change log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogIds {
    /// `task_changes.id`: the global commit order (a task room's cursor).
    pub change_id: i64,
    /// `task_changes.ws_seq`: the commit order within the workspace, without gaps (the
    /// board's cursor), so the board knows whether a change is the next one.
    pub ws_seq: i64,
}

/// A task room's answer to a [`WriteRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WriteReply {
    /// Committed to D1 with its change record; `change.task` is the task now (for a delete,
    /// as it was, one version on).
    Committed { change: Box<Change>, ids: LogIds },
    /// Nothing to write: the patch set every field to the value it has.
    Unchanged { task: Box<Task> },
    /// Refused; nothing was written.
    Refused { error: ApiError },
    /// A retry of a committed keyed write: its first response, nothing written now.
    Replayed { response: StoredResponse },
}

/// Committed changes of one workspace, in commit order, told to its board off the
/// critical path: one notice per commit (a task room's group commit sends its whole group).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeNotice {
    pub changes: Vec<(LogIds, Change)>,
}

/// Who is in a task's room, told to the workspace board when that set of users changes.
/// `at_ms` orders the reports of one room: they travel off the critical path, and an older
/// one arriving late must not undo a newer one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskViewers {
    pub task_id: TaskId,
    pub users: Vec<UserInfo>,
    pub at_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::task::new_task;
    use serde_json::json;

    #[test]
    fn calls_round_trip_through_json() {
        let request = WriteRequest {
            caller: Principal {
                user_id: "ana".into(),
                name: "Ana".into(),
                avatar_url: None,
                workspace_id: "ws".into(),
                role: Role::Member,
                expires_at: 9,
            },
            precondition: Some(IfMatch::Versions(vec![3])),
            op: WriteOp::Update {
                patch: json!({"title": "B"}),
            },
            claim: None,
        };
        let text = serde_json::to_string(&request).unwrap();
        assert!(text.contains(r#""op":"update""#), "{text}");
        assert_eq!(
            serde_json::from_str::<WriteRequest>(&text).unwrap(),
            request
        );

        let task = new_task(json!({"title": "A"}));
        let refused = WriteReply::Refused {
            error: ApiError::PreconditionFailed {
                current: Box::new(task.clone()),
            },
        };
        let text = serde_json::to_string(&refused).unwrap();
        assert!(text.contains(r#""outcome":"refused""#), "{text}");
        match serde_json::from_str::<WriteReply>(&text).unwrap() {
            WriteReply::Refused { error } => {
                assert_eq!(error.status_code(), 412);
                assert_eq!(error.problem().current, Some(task));
            }
            other => panic!("{other:?}"),
        }
    }
}
