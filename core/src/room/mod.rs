//! The room state machine: presence, typing, editing, rate limits, the durable event log and
//! connection acceptance, with no runtime in sight.
//!
//! Every room event is load → decide → carry out. The Durable Object loads a snapshot of
//! what the event needs (the sockets' attachments, [`Connection`]s; presence, departures and
//! the log position from its SQLite; the limits and the time), one entry point here decides,
//! and the glue carries out the one [`Effects`] value it returns: attachments, storage
//! writes, frames, published events, the next alarm, a token to verify, viewers to report.
//!
//! | event | entry point |
//! |---|---|
//! | a socket connects | [`on_connect`] |
//! | a frame arrives | [`on_frame`], then [`on_refresh`] once a refreshed token is checked |
//! | a socket closes | [`on_close`] |
//! | the alarm fires | [`on_alarm`] |
//! | changes were committed | [`on_committed`] (and [`after_commit`] in a task room) |
//! | a document socket connects, sends, closes | [`on_doc_connect`], [`admit_doc_frame`] then [`on_doc_sync`] / [`on_awareness`] / [`on_query_awareness`], [`on_doc_close`] |
//! | a REST write of the description | [`on_description_written`] |
//!
//! - [`key`]: which room ([`RoomKey`]) and its Durable Object name;
//! - [`calls`]: what the Worker and the rooms say to each other ([`RoomCall`]);
//! - [`effects`]: what an event decides ([`Effects`]);
//! - [`connect`]: a new connection: the caps, resume, and the order of the first frames;
//! - [`budget`]: what one user may cost a room: frames per second, and a cool-down;
//! - [`frames`]: one client frame: expiry, size cap, parse, typing and editing;
//! - [`refresh`]: a token refresh's expiry rule (none that has run out, never a shorter life);
//! - [`documents`], [`doc_frames`]: the shared description's sockets (y-websocket) in a
//!   task room: connect and close, and each frame;
//! - [`presence`]: joins, leaves, the presence list and a closing connection;
//! - [`log`]: the event log: cursors, seq numbering, trimming, a board's counts;
//! - [`timers`]: what the alarm does, and when it should next fire;
//! - [`pacing`]: how long a busy room's broadcast waits so it keeps to its frame budget;
//! - [`ephemeral`]: typing and editing, coalesced per user.

mod budget;
mod calls;
mod connect;
mod doc_frames;
mod documents;
mod effects;
mod ephemeral;
mod frames;
mod key;
mod log;
mod pacing;
mod presence;
mod refresh;
mod timers;

pub use budget::{cooldown_ms, cooling_reason, over_budget, Spend, UserBudget};
pub use calls::{
    Address, AnalyticsRequest, Call, CallKind, ChangeNotice, Done, Envelope, RoomCall, TaskViewers,
    WriteOp, WriteReply, WriteRequest,
};
pub use connect::{
    admission, count_connect, on_connect, resume, ConnectSnapshot, ConnectWindow, Connected,
    Joining, LogView, Resume,
};
pub use doc_frames::{admit_doc_frame, on_awareness, on_doc_sync, on_query_awareness};
pub use documents::{
    doc_window_key, on_description_written, on_doc_close, on_doc_connect, AwarenessState,
    DocCloseSnapshot, DocConnectSnapshot, DocConnected, DocConnection, Stored, AWARENESS_MAX_IDS,
    AWARENESS_MAX_STATE_BYTES, COMPACT_AFTER_UPDATES,
};
pub use effects::{Alarm, Audience, Effects, StorageWrite, StoredAppend, TokenCheck};
pub use ephemeral::{Ephemeral, EPHEMERAL_GAP_MS};
pub use frames::{on_frame, on_refresh, FrameSnapshot};
pub use key::RoomKey;
pub use log::{
    after_commit, events_for_change, notice_action, on_committed, plan_append, AfterCommit,
    AppendPlan, ChangeId, CommittedSnapshot, LogCursor, LogIds, LogPosition, NoticeAction, WsSeq,
};
pub use pacing::{
    broadcast_delay_ms, presence_delay_ms, MAX_BROADCAST_DELAY_MS, PRESENCE_GAP_MS, SMALL_ROOM,
};
pub use presence::{
    entry_of, on_close, presence, reconcile, viewer_changes, CloseSnapshot, PendingPresence,
    ViewerChange,
};
pub use timers::{board_day_turn, day_number, next_alarm, on_alarm, AlarmSnapshot};

/// Which kind of room an event happens in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomKind {
    /// A task's room: its task's writes, typing and editing.
    Task,
    /// The workspace board: it carries changes and figures, not typing or editing.
    Board,
}

use serde::{Deserialize, Serialize};

use crate::protocol::{ServerMessage, UserInfo};

/// Tunable limits; each is a wrangler.toml var (see README, "Rooms").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `ROOM_MAX_FRAME_BYTES`: a larger client frame closes the socket with 1009.
    pub max_frame_bytes: usize,
    /// `ROOM_MESSAGES_PER_SEC`: one user's messages per second in one room, all their
    /// sockets together; one more closes them (1008) and cools them down
    /// ([`budget`]).
    pub messages_per_sec: u32,
    /// `ROOM_MAX_CONNECTIONS`: a connection over it is closed with 1013.
    pub max_connections: usize,
    /// `ROOM_MAX_CONNECTIONS_PER_USER`: one user's sockets in one room; over it, 4029.
    pub max_connections_per_user: usize,
    /// `ROOM_CONNECTS_PER_MINUTE`: one user's new connections to one room per minute;
    /// over it, 4029.
    pub connects_per_minute: u32,
    /// `PRESENCE_GRACE_MS`: how long a user's last connection may be gone before `user_left`.
    pub grace_ms: i64,
    /// `TYPING_TTL_MS`: typing ends by itself this long after the last `typing` frame.
    pub typing_ttl_ms: i64,
    /// `ROOM_LOG_SIZE`: durable events kept for `since` replay.
    pub log_size: u64,
    /// `ROOM_REPLAY_MAX_BYTES`: a resume that would replay more than this gets `resync`
    /// instead (the client reloads over REST, which pages).
    pub replay_max_bytes: u64,
    /// `ROOM_FRAMES_PER_SEC`: the frames a room aims to send per second over all its
    /// sockets. Broadcasts closer together than that allows wait, and the events that land
    /// meanwhile go out as one `batch` frame (see [`broadcast_delay_ms`]).
    pub frames_per_sec: u64,
    /// `ROOM_PRESENCE_BATCH_ABOVE`: in a room with more sockets than this, joins and leaves
    /// wait and go out together as one `presence_diff`.
    pub presence_batch_above: usize,
    /// `ROOM_PRESENCE_GAP_MS`: how often such a room sends presence at most.
    pub presence_gap_ms: i64,
    /// `ROOM_DOC_MAX_FRAME_BYTES`: a larger document frame closes its socket with 1009.
    pub doc_max_frame_bytes: usize,
    /// `ROOM_DOC_MESSAGES_PER_SEC`: one user's document frames per second, all their
    /// document sockets together; one more closes them with 1008 (an edit is never dropped
    /// silently: the client resyncs when it is back).
    pub doc_messages_per_sec: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 4096,
            messages_per_sec: 20,
            max_connections: 1000,
            max_connections_per_user: 10,
            connects_per_minute: 30,
            grace_ms: 5000,
            typing_ttl_ms: 5000,
            frames_per_sec: 20_000,
            log_size: 1000,
            replay_max_bytes: 4 * 1024 * 1024,
            presence_batch_above: SMALL_ROOM,
            presence_gap_ms: PRESENCE_GAP_MS,
            doc_max_frame_bytes: 256 * 1024,
            doc_messages_per_sec: 100,
        }
    }
}

/// Typing state of one connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typing {
    pub field: String,
    pub until_ms: i64,
}

/// Per-connection state. It is the socket's attachment, so it survives hibernation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub id: String,
    pub user: UserInfo,
    pub can_write: bool,
    /// Whether a refreshed token may be a development token (the dev sign-in was on for
    /// the request that opened the connection).
    #[serde(default)]
    pub dev_tokens: bool,
    /// When the connection's token expires (Unix ms); the socket is closed with 4001 then.
    pub expires_at_ms: i64,
    pub typing: Option<Typing>,
    pub editing: Option<String>,
}

/// A user whose last connection closed; `user_left` goes out at `due_ms` unless they return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Departure {
    pub user_id: String,
    pub due_ms: i64,
}

/// A frame to send, or a socket to close.
#[derive(Debug, Clone, PartialEq)]
pub enum Outbound {
    /// To the connection the event came from.
    Reply(ServerMessage),
    /// The stored events after `after` to that connection, in `batch` frames: a resume.
    Replay { after: u64 },
    /// To every connection except the one the event came from.
    Others(ServerMessage),
    /// To every connection.
    All(ServerMessage),
    /// A document frame to the document socket the event came from.
    DocReply(Vec<u8>),
    /// A document frame to every other document socket of the task.
    DocOthers(Vec<u8>),
    /// A document frame to every document socket of the task.
    DocAll(Vec<u8>),
    /// Close this connection; it then leaves as if its client had closed it.
    Close {
        connection_id: String,
        code: u16,
        reason: String,
    },
}

/// A frame as received.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub fn user(id: &str) -> UserInfo {
        UserInfo {
            id: id.into(),
            name: id.to_uppercase(),
            avatar_url: None,
        }
    }

    /// `user_id` joining with a member's token that expires at 3,600 s.
    pub fn joining(user_id: &str, since: Option<u64>) -> Joining {
        Joining {
            principal: crate::auth::Principal {
                user_id: user_id.into(),
                name: user_id.to_uppercase(),
                avatar_url: None,
                workspace_id: "ws".into(),
                role: crate::auth::Role::Member,
                expires_at: 3_600,
            },
            since,
            dev_tokens: false,
        }
    }

    /// One frame on `connection`, which takes the attachment the frame leaves; its frames.
    pub fn handle(
        connection: &mut Connection,
        frame: Frame<'_>,
        now_ms: i64,
        limits: &Limits,
        kind: RoomKind,
    ) -> Vec<Outbound> {
        let snapshot = FrameSnapshot {
            connection,
            now_ms,
            limits,
            kind,
        };
        let effects = on_frame(snapshot, frame);
        if let Some(updated) = effects.attachments.last() {
            *connection = updated.clone();
        }
        effects.frames
    }

    /// What the alarm does about `connections` and `departures` at `now_ms`.
    pub fn alarm_over(
        connections: &mut [Connection],
        departures: &mut Vec<Departure>,
        now_ms: i64,
    ) -> Vec<Outbound> {
        super::timers::expire(connections, departures, now_ms)
    }

    pub fn conn(id: &str, user_id: &str) -> Connection {
        Connection {
            id: id.into(),
            user: user(user_id),
            can_write: true,
            dev_tokens: false,
            expires_at_ms: 1_000_000,
            typing: None,
            editing: None,
        }
    }
}
