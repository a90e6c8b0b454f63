//! What the Worker and the rooms say to each other: one [`RoomCall`] per request, each kind
//! with its reply type ([`Call::Reply`]): a connect, the write a task room commits for the
//! Worker, the notice a committed change sends to the workspace board, who is in a task's
//! room, and the board's figures.
//!
//! Like the client protocol, these are tagged serde enums on an internal wire (a Durable
//! Object has no public address, so only the Worker and other rooms reach it). The Worker
//! sends every call through one generic client and the room answers them in one `match`,
//! so a call added here is a compile error on both sides until both handle it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::connect::Joining;
use super::key::RoomKey;
use super::log::LogIds;
use crate::analytics::Analytics;
use crate::auth::Principal;
use crate::conditional::IfMatch;
use crate::error::ApiError;
use crate::idempotency::Claim;
use crate::protocol::UserInfo;
use crate::task::{Change, Task, TaskId};

/// One call to a room.
#[derive(Debug, Clone, PartialEq)]
pub enum RoomCall {
    /// Any room: open a WebSocket. Answered with the 101 itself, so it has no JSON reply.
    Connect(Joining),
    /// A task room: open a document socket (the shared description, y-websocket).
    ConnectDoc(Joining),
    /// A task room: commit a write.
    Write(WriteRequest),
    /// A board: committed changes.
    Notice(ChangeNotice),
    /// A board: who is in a task's room now.
    Viewers(TaskViewers),
    /// A board: the workspace's figures.
    Analytics(AnalyticsRequest),
}

/// Which call, named on the wire beside the call's own JSON (so the room parses that
/// straight into its type: no tagged-enum machinery, which would first buffer the whole
/// body and costs the wasm code size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Connect,
    ConnectDoc,
    Write,
    Notice,
    Viewers,
    Analytics,
}

impl RoomCall {
    pub fn kind(&self) -> CallKind {
        match self {
            RoomCall::Connect(_) => CallKind::Connect,
            RoomCall::ConnectDoc(_) => CallKind::ConnectDoc,
            RoomCall::Write(_) => CallKind::Write,
            RoomCall::Notice(_) => CallKind::Notice,
            RoomCall::Viewers(_) => CallKind::Viewers,
            RoomCall::Analytics(_) => CallKind::Analytics,
        }
    }

    /// A connect is a WebSocket upgrade (a GET); every other call is a POST with a body.
    pub fn is_upgrade(&self) -> bool {
        matches!(self, RoomCall::Connect(_) | RoomCall::ConnectDoc(_))
    }

    /// The call's own JSON (its arguments).
    pub fn args_json(&self) -> serde_json::Result<String> {
        match self {
            RoomCall::Connect(args) | RoomCall::ConnectDoc(args) => serde_json::to_string(args),
            RoomCall::Write(args) => serde_json::to_string(args),
            RoomCall::Notice(args) => serde_json::to_string(args),
            RoomCall::Viewers(args) => serde_json::to_string(args),
            RoomCall::Analytics(args) => serde_json::to_string(args),
        }
    }

    /// The call of `kind` with these arguments.
    pub fn parse(kind: CallKind, args: &str) -> serde_json::Result<RoomCall> {
        Ok(match kind {
            CallKind::Connect => RoomCall::Connect(serde_json::from_str(args)?),
            CallKind::ConnectDoc => RoomCall::ConnectDoc(serde_json::from_str(args)?),
            CallKind::Write => RoomCall::Write(serde_json::from_str(args)?),
            CallKind::Notice => RoomCall::Notice(serde_json::from_str(args)?),
            CallKind::Viewers => RoomCall::Viewers(serde_json::from_str(args)?),
            CallKind::Analytics => RoomCall::Analytics(serde_json::from_str(args)?),
        })
    }
}

/// Which room a call is for, which call it is, and the request it serves (for the logs):
/// what travels beside the call's arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub room: RoomKey,
    pub request_id: String,
    pub call: CallKind,
}

/// A call and its address, as a room receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub room: RoomKey,
    pub request_id: String,
    pub call: RoomCall,
}

impl Envelope {
    pub fn address(&self) -> Address {
        Address {
            room: self.room.clone(),
            request_id: self.request_id.clone(),
            call: self.call.kind(),
        }
    }

    /// The envelope, from its address and the call's arguments.
    pub fn open(address: Address, args: &str) -> serde_json::Result<Envelope> {
        Ok(Envelope {
            call: RoomCall::parse(address.call, args)?,
            room: address.room,
            request_id: address.request_id,
        })
    }
}

/// A call with a JSON reply.
pub trait Call: Into<RoomCall> {
    type Reply: Serialize + DeserializeOwned;
}

/// The reply of a call that only needs to be taken: `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {}

/// Asks a board for the workspace's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalyticsRequest {}

impl Call for WriteRequest {
    type Reply = WriteReply;
}

impl Call for ChangeNotice {
    type Reply = Done;
}

impl Call for TaskViewers {
    type Reply = Done;
}

impl Call for AnalyticsRequest {
    type Reply = Analytics;
}

impl From<WriteRequest> for RoomCall {
    fn from(call: WriteRequest) -> Self {
        RoomCall::Write(call)
    }
}

impl From<ChangeNotice> for RoomCall {
    fn from(call: ChangeNotice) -> Self {
        RoomCall::Notice(call)
    }
}

impl From<TaskViewers> for RoomCall {
    fn from(call: TaskViewers) -> Self {
        RoomCall::Viewers(call)
    }
}

impl From<AnalyticsRequest> for RoomCall {
    fn from(call: AnalyticsRequest) -> Self {
        RoomCall::Analytics(call)
    }
}

/// A write to a task, handed to the task's room, which commits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteRequest {
    /// The authenticated caller (the Worker verified the token).
    pub caller: Principal,
    pub precondition: Option<IfMatch>,
    pub op: WriteOp,
    /// The request's claim on its `Idempotency-Key`, when it has one: the Worker took it
    /// in D1 before the call, and the commit completes it.
    #[serde(default)]
    pub claim: Option<Claim>,
    /// The room's own write of the shared description: everyone whose typing it carries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub editors: Vec<crate::protocol::Actor>,
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
            editors: Vec::new(),
        };
        let text = serde_json::to_string(&request).unwrap();
        assert!(text.contains(r#""op":"update""#), "{text}");
        assert_eq!(
            serde_json::from_str::<WriteRequest>(&text).unwrap(),
            request
        );
        let envelope = Envelope {
            room: RoomKey::Board {
                workspace_id: "ws".into(),
            },
            request_id: "r1".into(),
            call: request.clone().into(),
        };
        let address = serde_json::to_string(&envelope.address()).unwrap();
        assert!(address.contains(r#""call":"write""#), "{address}");
        let args = envelope.call.args_json().unwrap();
        let opened = Envelope::open(serde_json::from_str(&address).unwrap(), &args).unwrap();
        assert_eq!(opened, envelope);
        let analytics = RoomCall::from(AnalyticsRequest {});
        assert_eq!(analytics.args_json().unwrap(), "{}");
        assert!(
            RoomCall::parse(CallKind::Write, "{}").is_err(),
            "a write needs its fields"
        );
        assert_eq!(serde_json::to_string(&Done {}).unwrap(), "{}");

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
