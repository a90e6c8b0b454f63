//! The room state machine: presence, typing, editing, rate limits, the durable event log and
//! connection acceptance, with no runtime in sight.
//!
//! A room's state is rebuilt from what survives hibernation on every event: the sockets'
//! attachments ([`Connection`]), the pending departures and the log position from the Durable
//! Object's SQLite. Each entry point takes that state plus `now` and returns what to do as
//! [`Outbound`] actions (or a plan, for the log); the Durable Object carries them out (sends,
//! closes, attachment and storage writes) and schedules its one alarm at [`next_alarm`].
//!
//! - [`key`]: which room ([`RoomKey`]) and its Durable Object name;
//! - [`calls`]: what the Worker and the rooms say to each other (writes, change notices);
//! - [`presence`]: joins, leaves and the presence list;
//! - [`frames`]: one client frame: size cap, rate limit, parse, typing and editing;
//! - [`log`]: the event log plan: seq numbering, cursor skip, trimming, what a delete closes;
//! - [`accept`]: connection acceptance: the cap, resume, and the order of the first frames;
//! - [`timers`]: what the alarm does, and when it should next fire;
//! - [`pacing`]: how long a busy room's broadcast waits so it keeps to its frame budget.

mod accept;
mod calls;
mod frames;
mod key;
mod log;
mod pacing;
mod presence;
mod timers;

pub use accept::{admission, count_connect, greeting, resume, ConnectWindow, Resume};
pub use calls::{ChangeNotice, LogIds, TaskViewers, WriteOp, WriteReply, WriteRequest};
pub use frames::{handle_frame, refreshed, Admit, RateWindow, RoomKind};
pub use key::RoomKey;
pub use log::{
    events_for_change, notice_action, plan_append, AppendPlan, LogPosition, NoticeAction,
};
pub use pacing::{
    broadcast_delay_ms, presence_delay_ms, MAX_BROADCAST_DELAY_MS, PRESENCE_GAP_MS, SMALL_ROOM,
};
pub use presence::{
    entry_of, join, leave, presence, reconcile, viewer_changes, PendingPresence, ViewerChange,
};
pub use timers::{board_day_turn, day_number, next_alarm, on_alarm};

use serde::{Deserialize, Serialize};

use crate::protocol::{ServerMessage, UserInfo};

/// Tunable limits; each is a wrangler.toml var (see README, "Rooms").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `ROOM_MAX_FRAME_BYTES`: a larger client frame closes the socket with 1009.
    pub max_frame_bytes: usize,
    /// `ROOM_MESSAGES_PER_SEC`: more in one second gets `error rate_limited`.
    pub messages_per_sec: u32,
    /// `ROOM_RATE_STRIKES`: this many limited seconds in a row closes with 1008.
    pub max_strikes: u32,
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
    /// `ROOM_FRAMES_PER_SEC`: the frames a room aims to send per second over all its
    /// sockets. Broadcasts closer together than that allows wait, and the events that land
    /// meanwhile go out as one `batch` frame (see [`broadcast_delay_ms`]).
    pub frames_per_sec: u64,
    /// `ROOM_PRESENCE_BATCH_ABOVE`: in a room with more sockets than this, joins and leaves
    /// wait and go out together as one `presence_diff`.
    pub presence_batch_above: usize,
    /// `ROOM_PRESENCE_GAP_MS`: how often such a room sends presence at most.
    pub presence_gap_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 4096,
            messages_per_sec: 20,
            max_strikes: 3,
            max_connections: 1000,
            max_connections_per_user: 10,
            connects_per_minute: 30,
            grace_ms: 5000,
            typing_ttl_ms: 5000,
            frames_per_sec: 20_000,
            log_size: 1000,
            presence_batch_above: SMALL_ROOM,
            presence_gap_ms: PRESENCE_GAP_MS,
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
    pub rate: RateWindow,
}

/// A user whose last connection closed; `user_left` goes out at `due_ms` unless they return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Departure {
    pub user_id: String,
    pub due_ms: i64,
}

/// What the Durable Object should do.
#[derive(Debug, Clone, PartialEq)]
pub enum Outbound {
    /// To the connection the event came from.
    Reply(ServerMessage),
    /// An already-serialized frame (a replayed event or a batch of them) to that connection.
    ReplyFrame(String),
    /// To every connection except the one the event came from.
    Others(ServerMessage),
    /// To every connection.
    All(ServerMessage),
    /// Verify this token (from an `auth` frame) and answer with [`refreshed`]: the check
    /// may have to fetch keys, which the state machine leaves to the glue.
    Verify {
        token: String,
        id: Option<serde_json::Value>,
    },
    /// Close this connection.
    Close {
        connection_id: String,
        code: u16,
        reason: String,
    },
}

/// A frame as received: text, or the length of a binary frame.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    Text(&'a str),
    Binary(usize),
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

    pub fn conn(id: &str, user_id: &str) -> Connection {
        Connection {
            id: id.into(),
            user: user(user_id),
            can_write: true,
            dev_tokens: false,
            expires_at_ms: 1_000_000,
            typing: None,
            editing: None,
            rate: RateWindow::default(),
        }
    }
}
