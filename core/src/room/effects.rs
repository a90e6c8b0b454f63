//! What one room event decides, as one value: the Durable Object loads a snapshot, a core
//! entry point returns [`Effects`], and the glue's one `carry_out` applies them, in the
//! order of the fields below. Nothing is left in a flag to be drained later.

use super::{
    AwarenessState, ConnectWindow, Connection, Departure, DocConnection, Outbound, ViewerChange,
};
use crate::analytics::{Bucket, TaskFacts};
use crate::doc::flush::Unsaved;
use crate::protocol::{Actor, PresenceEntry};
use crate::task::TaskId;

/// Everything one event makes the room do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    /// Connection states to store as their sockets' attachments. On a connect, the first
    /// is the new connection: its socket is accepted with it.
    pub attachments: Vec<Connection>,
    /// The same for document sockets.
    pub doc_attachments: Vec<DocConnection>,
    /// Writes to the room's own SQLite, in order.
    pub storage: Vec<StorageWrite>,
    /// Frames and closes, in the order they go out.
    pub frames: Vec<Outbound>,
    /// Durable events (serialized, numbered) for every socket, through the paced outbox.
    pub publish: Vec<String>,
    /// The task was deleted: every socket closes with 4004 once `publish` is out.
    pub close_everyone: bool,
    /// When the room's one alarm must fire.
    pub alarm: Alarm,
    /// A refreshed token to verify; the answer is decided by [`super::on_refresh`].
    pub verify: Option<TokenCheck>,
    /// Who came to or left a task room, for its board (user_joined and user_left only, so
    /// the grace period holds there too).
    pub viewers: Vec<ViewerChange>,
    /// A board's analytics go out: to the connection the event came from, or to everyone.
    pub analytics: Option<Audience>,
    /// The presence diff a busy room held back is due: send it now.
    pub flush_held_presence: bool,
    /// Write the shared description to D1 now, as the edit of these people.
    pub flush: Option<Vec<Actor>>,
    /// The room's copy of the document took an update it could not integrate: drop it, and
    /// load it again from storage (where the update never went).
    pub reload_doc: bool,
}

impl Effects {
    /// Effects that only send `frames`.
    pub fn frames(frames: Vec<Outbound>) -> Self {
        Effects {
            frames,
            ..Effects::default()
        }
    }

    /// These effects, then `next`'s: lists are appended, the alarm takes the earlier
    /// deadline, flags are or-ed.
    pub fn then(mut self, next: Effects) -> Self {
        self.attachments.extend(next.attachments);
        self.storage.extend(next.storage);
        self.frames.extend(next.frames);
        self.publish.extend(next.publish);
        self.close_everyone |= next.close_everyone;
        self.alarm = self.alarm.and(next.alarm);
        self.verify = next.verify.or(self.verify);
        self.viewers.extend(next.viewers);
        self.analytics = next.analytics.or(self.analytics);
        self.flush_held_presence |= next.flush_held_presence;
        self.doc_attachments.extend(next.doc_attachments);
        self.flush = next.flush.or(self.flush);
        self.reload_doc |= next.reload_doc;
        self
    }

    /// Whether carrying these out would do nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == Effects::default()
    }
}

/// Who hears a message that is not a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The connection the event came from.
    Origin,
    Everyone,
}

/// What the room's one alarm should do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Alarm {
    /// Leave it as it is.
    #[default]
    Keep,
    /// Fire no later than this (Unix ms). A join or a keystroke only ever adds a deadline,
    /// so it need not read every socket to know the next one; an alarm that fires early
    /// finds nothing due and sets the next one from the full state.
    NoLaterThan(i64),
    /// Exactly this, or no alarm at all (`None`): the alarm's own decision, made with every
    /// deadline in view.
    Set(Option<i64>),
}

impl Alarm {
    /// Both requests at once: the earlier deadline wins.
    pub fn and(self, other: Alarm) -> Alarm {
        use Alarm::*;
        match (self, other) {
            (Keep, x) | (x, Keep) => x,
            (NoLaterThan(a), NoLaterThan(b)) => NoLaterThan(a.min(b)),
            (Set(a), NoLaterThan(b)) | (NoLaterThan(b), Set(a)) => {
                Set(Some(a.map_or(b, |a| a.min(b))))
            }
            (Set(_), Set(b)) => Set(b),
        }
    }
}

/// A token sent on an open socket (`auth`), to be verified the way the Worker verifies a
/// request's before the room answers.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenCheck {
    pub token: String,
    /// The frame's `id`, echoed in the answer.
    pub id: Option<serde_json::Value>,
    /// The connection as the frame left it.
    pub connection: Connection,
    /// When the frame came: a token that has run out by then is refused.
    pub now_ms: i64,
}

/// One write to the room's own SQLite.
#[derive(Debug, Clone, PartialEq)]
pub enum StorageWrite {
    /// One user's presence entry (`None`: they have no connection left).
    Presence {
        user_id: String,
        entry: Option<PresenceEntry>,
    },
    /// One user's entry, computed again from their sockets' attachments as stored by this
    /// event (a frame changed what they edit, and the frame knows only its own socket).
    PresenceFromSockets { user_id: String },
    /// The whole presence list, rebuilt after a restart left ghosts in it.
    ReplacePresence(Vec<PresenceEntry>),
    /// One user's pending departure: set, or cancelled (`None`).
    DepartureOf {
        user_id: String,
        departure: Option<Departure>,
    },
    /// Every pending departure, as the alarm left them.
    Departures(Vec<Departure>),
    /// One user's connects this minute.
    ConnectWindow {
        user_id: String,
        window: ConnectWindow,
    },
    /// New events for the log, the new position, and the log trimmed to its size.
    Append(StoredAppend),
    /// Board: one task's facts as now counted, and the counters moved for it.
    CountTask {
        task_id: TaskId,
        facts: Option<TaskFacts>,
        deltas: Vec<(Bucket, i64)>,
    },
    /// Board: a deleted task's events stay in the log (their seqs stay contiguous) without
    /// its fields, and nobody is in its room any more.
    ForgetTask(TaskId),
    /// One update to the shared document, kept until the next snapshot.
    DocUpdate(Vec<u8>),
    /// The whole document as one update, in place of everything stored before it.
    DocSnapshot(Vec<u8>),
    /// A deleted task's document goes with it.
    ForgetDoc,
    /// An awareness state (the latest for its client id).
    Awareness(AwarenessState),
    /// A document socket's awareness states, when it closes.
    AwarenessGone { connection_id: String },
    /// The edits D1 does not have yet (`None`: it has them all).
    Unsaved(Option<Unsaved>),
}

/// An [`super::AppendPlan`] as the room's SQLite keeps it: the cursor is a number there, a change
/// id in a task room and a workspace sequence number on a board (the room's kind says
/// which; every decision reads it back typed, through [`super::LogCursor`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAppend {
    pub events: Vec<(u64, String)>,
    pub seq: u64,
    pub cursor: i64,
    pub last_version: Option<i64>,
    pub trim_through: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earlier_deadline_wins() {
        use Alarm::*;
        assert_eq!(Keep.and(NoLaterThan(5)), NoLaterThan(5));
        assert_eq!(NoLaterThan(9).and(NoLaterThan(5)), NoLaterThan(5));
        assert_eq!(Set(None).and(NoLaterThan(5)), Set(Some(5)));
        assert_eq!(Set(Some(3)).and(NoLaterThan(5)), Set(Some(3)));
        assert_eq!(NoLaterThan(2).and(Set(Some(3))), Set(Some(2)));
        assert_eq!(Set(Some(3)).and(Keep), Set(Some(3)));
    }

    #[test]
    fn effects_add_up_in_order() {
        let first = Effects {
            publish: vec!["a".into()],
            alarm: Alarm::NoLaterThan(10),
            ..Effects::default()
        };
        let second = Effects {
            publish: vec!["b".into()],
            alarm: Alarm::NoLaterThan(7),
            close_everyone: true,
            ..Effects::default()
        };
        let both = first.then(second);
        assert_eq!(both.publish, ["a", "b"]);
        assert_eq!(both.alarm, Alarm::NoLaterThan(7));
        assert!(both.close_everyone);
        assert!(Effects::default().is_empty());
        assert!(!both.is_empty());
    }
}
