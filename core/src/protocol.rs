//! The WebSocket wire protocol: JSON text frames, one message each, tagged by `type`.
//!
//! See `docs/protocol.md` for the full description. Durable events (`task_*`) carry `seq`,
//! `at` and `actor` and can be replayed with `?since=`; everything else is ephemeral.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::analytics::Analytics;
use crate::json::{parse_strict, JsonError};
use crate::task::{Status, Task, WRITABLE_FIELDS};

/// Who a presence entry or an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: String,
    pub name: String,
    pub avatar_url: Option<String>,
}

/// Who made a durable change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: String,
    pub name: String,
}

/// One user in a room: several tabs of one user are one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceEntry {
    pub user: UserInfo,
    pub connections: usize,
    /// Fields this user is editing (from any of their connections), sorted.
    pub editing: Vec<String>,
}

/// Client → server.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    Ping {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<Value>,
    },
    Typing {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<Value>,
        field: String,
        active: bool,
    },
    Editing {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<Value>,
        field: Option<String>,
    },
    /// A fresh token for the same user and workspace, so a long session outlives the
    /// token it connected with (refresh in place, without reconnecting).
    Auth {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<Value>,
        token: String,
    },
}

/// The WebSocket subprotocol a browser offers, and the one the server selects. A browser
/// cannot set headers on a WebSocket, so it offers its token as a second subprotocol,
/// `bearer.<token>`: it travels in a header, never in the URL, and is never echoed.
pub const SUBPROTOCOL: &str = "hero-tasks.v1";
const BEARER_SUBPROTOCOL_PREFIX: &str = "bearer.";

/// The token in a `Sec-WebSocket-Protocol` request header, if it offers one of ours
/// (`hero-tasks.v1`, or `hero-tasks.doc.v1` for a document socket) and a `bearer.<token>`.
pub fn token_from_subprotocols(offered: &str) -> Option<String> {
    let protocols: Vec<&str> = offered.split(',').map(str::trim).collect();
    if !protocols.contains(&SUBPROTOCOL) && !protocols.contains(&DOC_SUBPROTOCOL) {
        return None;
    }
    protocols
        .iter()
        .find_map(|p| p.strip_prefix(BEARER_SUBPROTOCOL_PREFIX))
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
}

/// The protocol version a `welcome` announces. 2: presence changes arrive as
/// `presence_diff`; `auth` refreshes a token in place.
pub const PROTOCOL_VERSION: u32 = 2;

/// Server → client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First message on every connection.
    Welcome {
        /// [`PROTOCOL_VERSION`].
        protocol: u32,
        connection_id: String,
        user: UserInfo,
        presence: Vec<PresenceEntry>,
        /// The room's latest `seq` (after any replay that follows).
        seq: u64,
        /// True when `since` was honoured; `replayed` events follow this message.
        resumed: bool,
        replayed: u64,
        /// Board only: who is in each task's room (task id → users), tasks with nobody
        /// left out; `task_presence` messages keep it current.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task_presence: Option<std::collections::BTreeMap<String, Vec<UserInfo>>>,
    },
    TaskCreated {
        seq: u64,
        at: String,
        actor: Actor,
        task: Task,
    },
    TaskUpdated {
        seq: u64,
        at: String,
        actor: Actor,
        task: Task,
        changed: Vec<String>,
    },
    TaskStatusChanged {
        seq: u64,
        at: String,
        actor: Actor,
        task_id: String,
        from: Status,
        to: Status,
    },
    TaskDeleted {
        seq: u64,
        at: String,
        actor: Actor,
        task_id: String,
    },
    /// On the board, what an earlier event about a task that has since been deleted
    /// replays as: its `seq`, and which task, but none of the task's fields.
    TaskRedacted {
        seq: u64,
        task_id: String,
    },
    /// Board only: the workspace report after a change.
    Analytics {
        analytics: Analytics,
    },
    UserJoined {
        user: UserInfo,
        connections: usize,
    },
    UserLeft {
        user_id: String,
    },
    /// The whole presence list (protocol 1; see `presence_diff`).
    Presence {
        presence: Vec<PresenceEntry>,
    },
    /// Board only: the users now in one task's room (empty: nobody). Sent when the set
    /// changes, not per tab, with the task room's grace period for leaving.
    TaskPresence {
        task_id: String,
        users: Vec<UserInfo>,
    },
    /// What changed in the presence list: `joins` replace (or add) those users' entries,
    /// `leaves` remove users. A second tab changes one count here, not the whole list.
    PresenceDiff {
        joins: Vec<PresenceEntry>,
        leaves: Vec<String>,
    },
    Typing {
        user_id: String,
        field: String,
        active: bool,
    },
    Editing {
        user_id: String,
        field: Option<String>,
    },
    Pong {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<Value>,
    },
    Ack {
        id: Value,
    },
    Error {
        code: String,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<Value>,
    },
    /// `since` cannot be honoured: reload over REST, then continue from `seq`.
    Resync {
        reason: String,
        seq: u64,
    },
    /// Several durable events in one frame, in `seq` order. Built by [`batch_frames`] from
    /// already-serialized events; a client handles each element as if it came alone.
    Batch {
        events: Vec<ServerMessage>,
    },
}

impl ServerMessage {
    pub fn error(code: &str, message: impl Into<String>, id: Option<Value>) -> Self {
        ServerMessage::Error {
            code: code.to_owned(),
            message: message.into(),
            id,
        }
    }

    /// The `seq` of a durable event; `None` for ephemeral messages.
    pub fn seq(&self) -> Option<u64> {
        match self {
            ServerMessage::TaskCreated { seq, .. }
            | ServerMessage::TaskUpdated { seq, .. }
            | ServerMessage::TaskStatusChanged { seq, .. }
            | ServerMessage::TaskDeleted { seq, .. }
            | ServerMessage::TaskRedacted { seq, .. } => Some(*seq),
            _ => None,
        }
    }

    /// The task a durable event is about.
    pub fn task_id(&self) -> Option<&str> {
        match self {
            ServerMessage::TaskCreated { task, .. } | ServerMessage::TaskUpdated { task, .. } => {
                Some(task.id.as_str())
            }
            ServerMessage::TaskStatusChanged { task_id, .. }
            | ServerMessage::TaskDeleted { task_id, .. }
            | ServerMessage::TaskRedacted { task_id, .. } => Some(task_id),
            _ => None,
        }
    }

    pub fn is_redaction(&self) -> bool {
        matches!(self, ServerMessage::TaskRedacted { .. })
    }

    /// What this event replays as once its task is deleted: the same `seq` without the
    /// task's fields. `None` for events that carry no fields (the delete itself).
    pub fn redacted(&self) -> Option<ServerMessage> {
        match self {
            ServerMessage::TaskCreated { .. }
            | ServerMessage::TaskUpdated { .. }
            | ServerMessage::TaskStatusChanged { .. } => Some(ServerMessage::TaskRedacted {
                seq: self.seq()?,
                task_id: self.task_id()?.to_owned(),
            }),
            _ => None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server messages always serialize")
    }
}

/// The exact keep-alive frame the runtime answers by itself (`set_websocket_auto_response`),
/// so pings never wake a hibernating room, and its answer.
pub const PING_FRAME: &str = r#"{"type":"ping"}"#;
pub const PONG_FRAME: &str = r#"{"type":"pong"}"#;

/// How many events one `batch` frame may hold, and roughly how many bytes.
///
/// The caps keep a frame well under what clients buffer comfortably, and keep one slow
/// reader's frame from growing without bound when a burst of writes lands at once.
pub const BATCH_MAX_EVENTS: usize = 64;
pub const BATCH_MAX_BYTES: usize = 64 * 1024;

/// Groups serialized durable events into as few frames as the caps allow, keeping order.
///
/// A lone event is sent as itself, not wrapped, so a quiet room's frames are unchanged; two
/// or more become `{"type":"batch","events":[…]}`. The events are spliced in as they are:
/// nothing is parsed or serialized again. An event larger than `max_bytes` still goes, alone.
pub fn batch_frames(events: &[String], max_events: usize, max_bytes: usize) -> Vec<String> {
    const OPEN: &str = r#"{"type":"batch","events":["#;
    const CLOSE: &str = "]}";
    let mut frames = Vec::new();
    let mut start = 0;
    while start < events.len() {
        let mut end = start + 1;
        let mut bytes = OPEN.len() + CLOSE.len() + events[start].len();
        while end < events.len()
            && end - start < max_events
            && bytes + 1 + events[end].len() <= max_bytes
        {
            bytes += 1 + events[end].len();
            end += 1;
        }
        frames.push(match &events[start..end] {
            [single] => single.clone(),
            group => format!("{OPEN}{}{CLOSE}", group.join(",")),
        });
        start = end;
    }
    frames
}

/// Error codes sent in `error` messages.
pub mod codes {
    pub const BAD_JSON: &str = "bad_json";
    pub const BAD_MESSAGE: &str = "bad_message";
    pub const UNKNOWN_TYPE: &str = "unknown_type";
    pub const BAD_FIELD: &str = "bad_field";
    pub const FORBIDDEN: &str = "forbidden";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const BINARY_UNSUPPORTED: &str = "binary_unsupported";
    /// `typing` or `editing` on the board, which has no task to type in.
    pub const WRONG_ROOM: &str = "wrong_room";
    /// An `auth` token that does not verify (expired, forged, another issuer…); the
    /// connection keeps its current token.
    pub const BAD_TOKEN: &str = "bad_token";
    /// An `auth` token for another user or workspace; the connection is closed with 4003.
    pub const TOKEN_MISMATCH: &str = "token_mismatch";
}

/// WebSocket close codes the rooms use.
pub mod close {
    /// The token expired while connected.
    pub const TOKEN_EXPIRED: u16 = 4001;
    /// Sustained rate-limit abuse.
    pub const POLICY: u16 = 1008;
    /// A frame over the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The room is at its connection cap.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// An `auth` refresh named another user or workspace.
    pub const TOKEN_MISMATCH: u16 = 4003;
    /// The task was deleted; the room has nothing more to say.
    pub const TASK_DELETED: u16 = 4004;
    /// This user has too many sockets in the room, or connected too often this minute.
    pub const TOO_MANY_FOR_USER: u16 = 4029;
    /// A document socket got a text frame: it speaks binary y-protocols frames only.
    pub const UNSUPPORTED: u16 = 1003;
    /// A document frame that is not a y-protocols message, or an update that does not
    /// decode.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// A document update that touches anything but the description's text, or that the
    /// document cannot integrate.
    pub const UPDATE_REFUSED: u16 = 4400;
    /// Awareness for a client id another connection speaks for, or for too many.
    pub const NOT_YOURS: u16 = 4403;
}

/// The subprotocol a browser's document socket offers beside `bearer.<token>` (the room's
/// JSON sockets offer [`SUBPROTOCOL`]).
pub const DOC_SUBPROTOCOL: &str = "hero-tasks.doc.v1";

const TYPE_NAMES: &[&str] = &["ping", "typing", "editing", "auth"];
/// Longest token an `auth` frame may carry (the frame cap bounds it too).
const TOKEN_MAX_BYTES: usize = 8 * 1024;
const MESSAGE_ID_MAX_CHARS: usize = 64;

/// A client frame that could not be turned into a [`ClientMessage`]: the `error` to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub code: &'static str,
    pub message: String,
    pub id: Option<Value>,
}

impl Rejection {
    pub fn into_message(self) -> ServerMessage {
        ServerMessage::error(self.code, self.message, self.id)
    }
}

fn valid_id(id: &Value) -> bool {
    match id {
        Value::Number(_) => true,
        Value::String(text) => text.chars().count() <= MESSAGE_ID_MAX_CHARS,
        _ => false,
    }
}

/// Parses one client text frame. The error keeps the frame's `id` when it had a usable one.
pub fn parse_client_message(text: &str) -> Result<ClientMessage, Rejection> {
    let value: Value = parse_strict(text.as_bytes()).map_err(|error| Rejection {
        code: match error {
            JsonError::Syntax(_) => codes::BAD_JSON,
            JsonError::DuplicateKey(_) => codes::BAD_MESSAGE,
        },
        message: error.message("the frame"),
        id: None,
    })?;
    let id = value.get("id").filter(|id| valid_id(id)).cloned();
    let reject = |code, message: String| Rejection {
        code,
        message,
        id: id.clone(),
    };
    let Some(object) = value.as_object() else {
        return Err(reject(
            codes::BAD_MESSAGE,
            "the frame must be a JSON object".into(),
        ));
    };
    if object.get("id").is_some_and(|raw| !valid_id(raw)) {
        return Err(reject(
            codes::BAD_MESSAGE,
            format!("id must be a number or a string of at most {MESSAGE_ID_MAX_CHARS} characters"),
        ));
    }
    match object.get("type").and_then(Value::as_str) {
        None => {
            return Err(reject(
                codes::BAD_MESSAGE,
                "the frame needs a string `type`".into(),
            ))
        }
        Some(kind) if !TYPE_NAMES.contains(&kind) => {
            return Err(reject(
                codes::UNKNOWN_TYPE,
                format!(
                    "unknown type {kind:?}; expected one of {}",
                    TYPE_NAMES.join(", ")
                ),
            ))
        }
        Some(_) => {}
    }
    let message: ClientMessage = serde_json::from_value(value.clone())
        .map_err(|error| reject(codes::BAD_MESSAGE, error.to_string()))?;
    if let ClientMessage::Auth { token, .. } = &message {
        if token.is_empty() || token.len() > TOKEN_MAX_BYTES {
            return Err(reject(
                codes::BAD_MESSAGE,
                format!("token must be 1 to {TOKEN_MAX_BYTES} bytes"),
            ));
        }
    }
    let field = match &message {
        ClientMessage::Typing { field, .. } => Some(field.as_str()),
        ClientMessage::Editing { field, .. } => field.as_deref(),
        ClientMessage::Ping { .. } | ClientMessage::Auth { .. } => None,
    };
    if let Some(field) = field {
        if !WRITABLE_FIELDS.contains(&field) {
            return Err(reject(
                codes::BAD_FIELD,
                format!("field must be one of {}", WRITABLE_FIELDS.join(", ")),
            ));
        }
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_messages_parse() {
        assert_eq!(
            parse_client_message(r#"{"type":"ping"}"#),
            Ok(ClientMessage::Ping { id: None })
        );
        assert_eq!(
            parse_client_message(r#"{"type":"typing","field":"title","active":true,"id":7}"#),
            Ok(ClientMessage::Typing {
                id: Some(json!(7)),
                field: "title".into(),
                active: true
            })
        );
        assert_eq!(
            parse_client_message(r#"{"type":"editing","field":null,"id":"a"}"#),
            Ok(ClientMessage::Editing {
                id: Some(json!("a")),
                field: None
            })
        );
    }

    #[test]
    fn bad_frames_get_specific_codes_and_keep_the_id() {
        let cases = [
            ("not json", codes::BAD_JSON, None),
            ("[1,2]", codes::BAD_MESSAGE, None),
            (r#"{"id":1}"#, codes::BAD_MESSAGE, Some(json!(1))),
            (
                r#"{"type":"dance","id":"x"}"#,
                codes::UNKNOWN_TYPE,
                Some(json!("x")),
            ),
            (
                r#"{"type":"typing","id":2}"#,
                codes::BAD_MESSAGE,
                Some(json!(2)),
            ),
            (
                r#"{"type":"typing","field":"title","active":"yes"}"#,
                codes::BAD_MESSAGE,
                None,
            ),
            (
                r#"{"type":"typing","field":"colour","active":true}"#,
                codes::BAD_FIELD,
                None,
            ),
            (r#"{"type":"ping","extra":1}"#, codes::BAD_MESSAGE, None),
            (r#"{"type":"ping","id":{"a":1}}"#, codes::BAD_MESSAGE, None),
        ];
        for (frame, code, id) in cases {
            let rejection = parse_client_message(frame).unwrap_err();
            assert_eq!(rejection.code, code, "{frame}");
            assert_eq!(rejection.id, id, "{frame}");
        }
    }

    #[test]
    fn events_about_a_deleted_task_redact_to_their_seq_and_id() {
        let deleted = ServerMessage::TaskDeleted {
            seq: 9,
            at: "2026-01-01T00:00:00.000Z".into(),
            actor: Actor {
                id: "ana".into(),
                name: "Ana".into(),
            },
            task_id: "t".into(),
        };
        assert_eq!(deleted.redacted(), None, "the delete itself stays");
        let moved = ServerMessage::TaskStatusChanged {
            seq: 4,
            at: "2026-01-01T00:00:00.000Z".into(),
            actor: Actor {
                id: "ana".into(),
                name: "Ana".into(),
            },
            task_id: "t".into(),
            from: Status::Todo,
            to: Status::Done,
        };
        let stub = moved.redacted().unwrap();
        assert_eq!(
            stub.to_json(),
            r#"{"type":"task_redacted","seq":4,"task_id":"t"}"#
        );
        assert!(stub.is_redaction() && stub.redacted().is_none());
    }

    #[test]
    fn a_token_can_ride_in_the_subprotocol_header() {
        assert_eq!(
            token_from_subprotocols("hero-tasks.v1, bearer.eyJ.a.b").as_deref(),
            Some("eyJ.a.b")
        );
        assert_eq!(
            token_from_subprotocols("bearer.eyJ.a.b"),
            None,
            "only with ours"
        );
        assert_eq!(token_from_subprotocols("hero-tasks.v1"), None);
        assert_eq!(token_from_subprotocols("hero-tasks.v1, bearer."), None);
    }

    #[test]
    fn auth_frames_carry_a_bounded_token() {
        assert_eq!(
            parse_client_message(r#"{"type":"auth","token":"a.b.c","id":1}"#),
            Ok(ClientMessage::Auth {
                id: Some(json!(1)),
                token: "a.b.c".into()
            })
        );
        let long = format!(r#"{{"type":"auth","token":"{}"}}"#, "a".repeat(9000));
        assert_eq!(
            parse_client_message(&long).unwrap_err().code,
            codes::BAD_MESSAGE
        );
        assert_eq!(
            parse_client_message(r#"{"type":"auth","token":""}"#)
                .unwrap_err()
                .code,
            codes::BAD_MESSAGE
        );
    }

    #[test]
    fn a_repeated_key_is_a_bad_message() {
        for frame in [
            r#"{"type":"ping","id":1,"id":2}"#,
            r#"{"type":"typing","type":"ping"}"#,
            r#"{"type":"typing","field":"title","active":true,"active":false}"#,
        ] {
            let rejection = parse_client_message(frame).unwrap_err();
            assert_eq!(rejection.code, codes::BAD_MESSAGE, "{frame}");
            assert!(rejection.message.contains("more than once"), "{frame}");
        }
        assert_eq!(
            parse_client_message(r#"{"type":"ping","id":1}"#),
            Ok(ClientMessage::Ping { id: Some(json!(1)) })
        );
    }

    #[test]
    fn deeply_nested_json_is_refused_without_panicking() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(
            parse_client_message(&deep).unwrap_err().code,
            codes::BAD_JSON
        );
    }

    #[test]
    fn server_messages_are_tagged_and_round_trip() {
        let message = ServerMessage::TaskStatusChanged {
            seq: 3,
            at: "2026-01-01T00:00:00.000Z".into(),
            actor: Actor {
                id: "ana".into(),
                name: "Ana".into(),
            },
            task_id: "t".into(),
            from: Status::Todo,
            to: Status::Done,
        };
        let text = message.to_json();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["type"], "task_status_changed");
        assert_eq!(value["from"], "todo");
        assert_eq!(
            serde_json::from_str::<ServerMessage>(&text).unwrap(),
            message
        );
        assert_eq!(message.seq(), Some(3));
        assert_eq!(
            ServerMessage::Pong { id: None }.to_json(),
            r#"{"type":"pong"}"#
        );
        assert_eq!(ServerMessage::Pong { id: None }.seq(), None);
    }

    fn event(seq: u64) -> String {
        ServerMessage::TaskDeleted {
            seq,
            at: "2026-01-01T00:00:00.000Z".into(),
            actor: Actor {
                id: "ana".into(),
                name: "Ana".into(),
            },
            task_id: "t".into(),
        }
        .to_json()
    }

    /// The events a client sees after unpacking every frame.
    fn unpacked(frames: &[String]) -> Vec<ServerMessage> {
        frames
            .iter()
            .flat_map(|frame| match serde_json::from_str(frame).unwrap() {
                ServerMessage::Batch { events } => events,
                single => vec![single],
            })
            .collect()
    }

    #[test]
    fn a_lone_event_is_not_wrapped() {
        let events = vec![event(1)];
        assert_eq!(batch_frames(&events, 64, 65_536), events);
        assert!(batch_frames(&[], 64, 65_536).is_empty());
    }

    #[test]
    fn batches_keep_order_and_respect_both_caps() {
        let events: Vec<String> = (1..=10).map(event).collect();
        let frames = batch_frames(&events, 4, 65_536);
        assert_eq!(frames.len(), 3, "4 + 4 + 2");
        assert!(frames[0].starts_with(r#"{"type":"batch","events":[{"#));
        let seqs: Vec<u64> = unpacked(&frames).iter().filter_map(|e| e.seq()).collect();
        assert_eq!(seqs, (1..=10).collect::<Vec<_>>());

        let one = events[0].len();
        let frames = batch_frames(&events, 64, 2 * one + 40);
        assert!(frames.iter().all(|f| f.len() <= 2 * one + 40));
        assert_eq!(frames.len(), 5);
        assert_eq!(unpacked(&frames).len(), 10);
    }

    #[test]
    fn an_event_over_the_byte_cap_still_goes_alone() {
        let events: Vec<String> = (1..=3).map(event).collect();
        let frames = batch_frames(&events, 64, 10);
        assert_eq!(frames, events);
    }
}
