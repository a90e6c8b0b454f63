//! A new connection: whether the room takes it, how its `since` is honoured, and the order
//! of everything it causes ([`on_connect`]).
//!
//! The order is fixed: ghosts a restart left in the presence list leave first; then the new
//! connection gets `welcome` (with the room's `seq` and the full presence list), the
//! replayed events, and `resync` when `since` could not be honoured; only then do the others
//! hear of the join. A client therefore always knows where it stands before the first live
//! event reaches it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::effects::{Alarm, Audience, Effects, StorageWrite};
use super::presence::{entry_of, join, reconcile, viewer_changes};
use super::timers::board_day_turn;
use super::{Connection, Departure, Limits, Outbound, RateWindow, RoomKind};
use crate::protocol::{close, PresenceEntry, ServerMessage, UserInfo, PROTOCOL_VERSION};

/// Who asks to join a room: the principal the Worker verified, the last `seq` they saw,
/// and whether development tokens are accepted for them (so their token refreshes are
/// verified the way the Worker verified this one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Joining {
    pub principal: crate::auth::Principal,
    pub since: Option<u64>,
    pub dev_tokens: bool,
}

/// One user's connects to one room in the current minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectWindow {
    pub start_ms: i64,
    pub count: u32,
}

/// Counts a connect attempt into the user's window (a fresh one each minute); returns the
/// window to store.
pub fn count_connect(window: Option<ConnectWindow>, now_ms: i64) -> ConnectWindow {
    match window {
        Some(window) if now_ms - window.start_ms < 60_000 => ConnectWindow {
            count: window.count.saturating_add(1),
            ..window
        },
        _ => ConnectWindow {
            start_ms: now_ms,
            count: 1,
        },
    }
}

/// Whether the room takes one more connection: `open` sockets in all, `open_of_user` of
/// this user, and the user's connects this minute (this one counted). If not, the close
/// code and reason the new socket gets right after its upgrade. The per-user limits come
/// first, so one user filling their share never turns others away.
pub fn admission(
    open: usize,
    open_of_user: usize,
    connects: ConnectWindow,
    limits: &Limits,
) -> Result<(), (u16, &'static str)> {
    if open_of_user >= limits.max_connections_per_user {
        Err((
            close::TOO_MANY_FOR_USER,
            "too many connections for one user",
        ))
    } else if connects.count > limits.connects_per_minute {
        Err((close::TOO_MANY_FOR_USER, "too many connects this minute"))
    } else if open >= limits.max_connections {
        Err((close::TRY_AGAIN_LATER, "room is full"))
    } else {
        Ok(())
    }
}

/// How to honour a client's `since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// No `since`: live events only.
    Fresh,
    /// Replay every kept event with `seq > since`.
    Replay { since: u64 },
    /// The gap cannot be filled from the log.
    Resync { reason: String },
}

/// Where the room's event log stands, as a connect sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogView {
    /// The last event's `seq`.
    pub seq: u64,
    /// The lowest `seq` still kept (`None`: the log is empty).
    pub oldest_kept: Option<u64>,
}

pub fn resume(since: Option<u64>, log: LogView) -> Resume {
    let Some(since) = since else {
        return Resume::Fresh;
    };
    if since > log.seq {
        return Resume::Resync {
            reason: format!("since={since} is ahead of this room (seq {})", log.seq),
        };
    }
    if since == log.seq {
        return Resume::Replay { since };
    }
    match log.oldest_kept {
        Some(oldest) if since + 1 >= oldest => Resume::Replay { since },
        _ => Resume::Resync {
            reason: format!("events after {since} are no longer kept"),
        },
    }
}

/// What a connect needs to know, loaded by the room before it decides.
pub struct ConnectSnapshot<'a> {
    pub now_ms: i64,
    pub limits: &'a Limits,
    pub kind: RoomKind,
    /// The id the new connection gets (the glue draws it).
    pub connection_id: String,
    pub joining: &'a Joining,
    /// A task room whose task is gone: deleted while this connect waited, or never here.
    pub task_gone: bool,
    /// Sockets open now, both kinds (the room's cap counts every one), counted by the runtime
    /// without reading any attachment.
    pub open_sockets: usize,
    /// Of those, the room's JSON sockets: what the presence list counts.
    pub room_sockets: usize,
    /// The stored presence list.
    pub listed: Vec<PresenceEntry>,
    /// Every live connection, read only when the list counts more than are open.
    pub live: &'a dyn Fn() -> Vec<Connection>,
    /// The joining user's other connections.
    pub same_user: Vec<Connection>,
    pub connect_window: Option<ConnectWindow>,
    /// The joining user's pending departure, if they left within the grace period.
    pub returning: Option<Departure>,
    pub log: LogView,
    /// A board: who is in each task's room, for its welcome. Empty in a task room.
    pub task_presence: BTreeMap<String, Vec<UserInfo>>,
}

/// What a connect comes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Connected {
    /// The task is not there: a 404 before any upgrade.
    NotFound,
    /// Over a cap: the socket is accepted and closed at once with `code` (a WebSocket
    /// client learns a reason no other way). `effects` still count the connect.
    Refused {
        code: u16,
        reason: &'static str,
        effects: Effects,
    },
    /// In: `effects.attachments[0]` is the new connection, whose socket is accepted with it.
    Accepted {
        connection: Connection,
        resume: Resume,
        effects: Effects,
    },
}

/// A new connection, from the existence check to the others hearing of it (see the
/// module doc for the order).
pub fn on_connect(snapshot: ConnectSnapshot<'_>) -> Connected {
    if snapshot.task_gone {
        return Connected::NotFound;
    }
    let user_id = snapshot.joining.principal.user_id.clone();
    let (listed, mut ghosts) = settle_ghosts(&snapshot);
    let window = count_connect(snapshot.connect_window, snapshot.now_ms);
    ghosts.storage.push(StorageWrite::ConnectWindow {
        user_id: user_id.clone(),
        window,
    });
    let open_of_user = snapshot.same_user.len();
    if let Err((code, reason)) =
        admission(snapshot.open_sockets, open_of_user, window, snapshot.limits)
    {
        return Connected::Refused {
            code,
            reason,
            effects: ghosts,
        };
    }
    let connection = new_connection(&snapshot);
    let resume = resume(snapshot.joining.since, snapshot.log);
    let joined = welcome(&snapshot, &connection, listed, &resume);
    let mut effects = ghosts.then(joined);
    if snapshot.kind == RoomKind::Task {
        effects.viewers = viewer_changes(&effects.frames);
    }
    Connected::Accepted {
        connection,
        resume,
        effects,
    }
}

/// A restart drops sockets without a close event: whoever the stored list still names
/// without a socket leaves first (see [`reconcile`]). Returns the list as it stands.
fn settle_ghosts(snapshot: &ConnectSnapshot<'_>) -> (Vec<PresenceEntry>, Effects) {
    match reconcile(&snapshot.listed, snapshot.room_sockets, snapshot.live) {
        None => (snapshot.listed.clone(), Effects::default()),
        Some((rebuilt, left)) => {
            let effects = Effects {
                storage: vec![StorageWrite::ReplacePresence(rebuilt.clone())],
                frames: left,
                ..Effects::default()
            };
            (rebuilt, effects)
        }
    }
}

fn new_connection(snapshot: &ConnectSnapshot<'_>) -> Connection {
    let principal = &snapshot.joining.principal;
    Connection {
        id: snapshot.connection_id.clone(),
        user: UserInfo {
            id: principal.user_id.clone(),
            name: principal.name.clone(),
            avatar_url: principal.avatar_url.clone(),
        },
        can_write: principal.can_write(),
        dev_tokens: snapshot.joining.dev_tokens,
        expires_at_ms: principal.expires_at.saturating_mul(1000),
        typing: None,
        editing: None,
        rate: RateWindow::default(),
    }
}

/// The accepted connection's own effects: its attachment, its first frames, the others
/// hearing of it, presence and departure in storage, and its deadlines.
fn welcome(
    snapshot: &ConnectSnapshot<'_>,
    new: &Connection,
    listed: Vec<PresenceEntry>,
    resume: &Resume,
) -> Effects {
    let mut departures: Vec<Departure> = snapshot.returning.iter().cloned().collect();
    let others_hear = join(&snapshot.same_user, &mut departures, new);
    let mut theirs = snapshot.same_user.clone();
    theirs.push(new.clone());
    let entry = entry_of(&theirs);
    let mut storage = vec![StorageWrite::Presence {
        user_id: new.user.id.clone(),
        entry: entry.clone(),
    }];
    if snapshot.returning.is_some() {
        storage.push(StorageWrite::DepartureOf {
            user_id: new.user.id.clone(),
            departure: None,
        });
    }
    let mut frames = first_frames(snapshot, new, listed, entry, resume);
    frames.extend(others_hear);
    let board = snapshot.kind == RoomKind::Board;
    let day_turn = board_day_turn(snapshot.now_ms, board).map_or(Alarm::Keep, Alarm::NoLaterThan);
    Effects {
        attachments: vec![new.clone()],
        storage,
        frames,
        alarm: Alarm::NoLaterThan(new.expires_at_ms).and(day_turn),
        analytics: board.then_some(Audience::Origin),
        ..Effects::default()
    }
}

/// `welcome`, the replay, and `resync`, in that order, for the new connection alone.
fn first_frames(
    snapshot: &ConnectSnapshot<'_>,
    new: &Connection,
    listed: Vec<PresenceEntry>,
    entry: Option<PresenceEntry>,
    resume: &Resume,
) -> Vec<Outbound> {
    let mut list: Vec<PresenceEntry> = listed
        .into_iter()
        .filter(|listed| listed.user.id != new.user.id)
        .chain(entry)
        .collect();
    list.sort_by(|a, b| a.user.id.cmp(&b.user.id));
    let seq = snapshot.log.seq;
    let replayed = match resume {
        Resume::Replay { since } => seq - since,
        _ => 0,
    };
    let mut frames = vec![Outbound::Reply(ServerMessage::Welcome {
        protocol: PROTOCOL_VERSION,
        connection_id: new.id.clone(),
        user: new.user.clone(),
        presence: list,
        seq,
        resumed: matches!(resume, Resume::Replay { .. }),
        replayed,
        task_presence: (snapshot.kind == RoomKind::Board).then(|| snapshot.task_presence.clone()),
    })];
    match resume {
        Resume::Replay { since } if replayed > 0 => {
            frames.push(Outbound::Replay { after: *since });
        }
        Resume::Resync { reason } => frames.push(Outbound::Reply(ServerMessage::Resync {
            reason: reason.clone(),
            seq,
        })),
        _ => {}
    }
    frames
}

#[cfg(test)]
#[path = "connect_tests.rs"]
mod tests;
