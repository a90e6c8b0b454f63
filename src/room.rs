//! The room state machine: presence, typing, editing, rate limits and the durable event log,
//! with no runtime in sight.
//!
//! A room's state is rebuilt from what survives hibernation on every event: the sockets'
//! attachments ([`Connection`]), the pending departures and the log position from the Durable
//! Object's SQLite. Each entry point takes that state plus `now` and returns what to do as
//! [`Outbound`] actions; the Durable Object carries them out (sends, closes, attachment
//! writes) and schedules its one alarm at [`next_alarm`].

use serde::{Deserialize, Serialize};

use crate::domain::{Change, ChangeKind};
use crate::protocol::{
    close, codes, parse_client_message, Actor, ClientMessage, PresenceEntry, ServerMessage,
    UserInfo,
};

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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 4096,
            messages_per_sec: 20,
            max_strikes: 3,
            max_connections: 1000,
            grace_ms: 5000,
            typing_ttl_ms: 5000,
            frames_per_sec: 20_000,
            log_size: 1000,
        }
    }
}

/// Typing state of one connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typing {
    pub field: String,
    pub until_ms: i64,
}

/// A fixed one-second window counter for the rate limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateWindow {
    pub window_start_ms: i64,
    pub count: u32,
    /// Consecutive windows that went over the limit.
    pub strikes: u32,
}

/// What the rate limiter says about one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Yes,
    /// Over the limit: drop it; `notify` is true for the first such frame in a window.
    Limited {
        notify: bool,
    },
    /// Over the limit for too many windows in a row: close the connection.
    Abuse,
}

impl RateWindow {
    pub fn admit(&mut self, now_ms: i64, limits: &Limits) -> Admit {
        if now_ms - self.window_start_ms >= 1000 {
            let previous_went_over = self.count > limits.messages_per_sec;
            if !previous_went_over || now_ms - self.window_start_ms >= 2000 {
                self.strikes = 0;
            }
            self.window_start_ms = now_ms;
            self.count = 0;
        }
        self.count += 1;
        if self.count <= limits.messages_per_sec {
            return Admit::Yes;
        }
        let first_over = self.count == limits.messages_per_sec + 1;
        if first_over {
            self.strikes += 1;
        }
        if self.strikes >= limits.max_strikes {
            Admit::Abuse
        } else {
            Admit::Limited { notify: first_over }
        }
    }
}

/// Per-connection state. It is the socket's attachment, so it survives hibernation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub id: String,
    pub user: UserInfo,
    pub can_write: bool,
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
    /// To every connection except the one the event came from.
    Others(ServerMessage),
    /// To every connection.
    All(ServerMessage),
    /// Close this connection.
    Close {
        connection_id: String,
        code: u16,
        reason: String,
    },
}

/// The presence list: one entry per user, with their connection count and edited fields.
pub fn presence(connections: &[Connection]) -> Vec<PresenceEntry> {
    // Keyed by user id: one pass, sorted, whatever the room size (a room of a thousand
    // users builds this for every welcome).
    let mut entries: std::collections::BTreeMap<&str, PresenceEntry> = Default::default();
    for connection in connections {
        let entry = entries
            .entry(connection.user.id.as_str())
            .or_insert_with(|| PresenceEntry {
                user: connection.user.clone(),
                connections: 0,
                editing: Vec::new(),
            });
        entry.connections += 1;
        if let Some(field) = &connection.editing {
            if !entry.editing.contains(field) {
                entry.editing.push(field.clone());
            }
        }
    }
    let mut entries: Vec<PresenceEntry> = entries.into_values().collect();
    for entry in &mut entries {
        entry.editing.sort();
    }
    entries
}

fn user_connection_count(connections: &[Connection], user_id: &str) -> usize {
    connections.iter().filter(|c| c.user.id == user_id).count()
}

/// A new connection joins. `existing` does not include it.
///
/// Sends `user_joined` to the others only for a user who was neither connected nor inside
/// their grace period; a returning tab or a quick reconnect only updates the presence list.
pub fn join(
    existing: &[Connection],
    departures: &mut Vec<Departure>,
    new: &Connection,
) -> Vec<Outbound> {
    let returning = departures.iter().any(|d| d.user_id == new.user.id);
    departures.retain(|d| d.user_id != new.user.id);
    let count = user_connection_count(existing, &new.user.id) + 1;
    if count == 1 && !returning {
        vec![Outbound::Others(ServerMessage::UserJoined {
            user: new.user.clone(),
            connections: count,
        })]
    } else {
        let mut all = existing.to_vec();
        all.push(new.clone());
        vec![Outbound::Others(ServerMessage::Presence {
            presence: presence(&all),
        })]
    }
}

/// A connection is gone. `remaining` does not include it.
pub fn leave(
    remaining: &[Connection],
    departures: &mut Vec<Departure>,
    gone: &Connection,
    now_ms: i64,
    limits: &Limits,
) -> Vec<Outbound> {
    let mut out = Vec::new();
    if let Some(typing) = &gone.typing {
        out.push(Outbound::All(ServerMessage::Typing {
            user_id: gone.user.id.clone(),
            field: typing.field.clone(),
            active: false,
        }));
    }
    let still_here = user_connection_count(remaining, &gone.user.id) > 0;
    if gone.editing.is_some() {
        let still_editing = remaining
            .iter()
            .find(|c| c.user.id == gone.user.id && c.editing.is_some())
            .and_then(|c| c.editing.clone());
        out.push(Outbound::All(ServerMessage::Editing {
            user_id: gone.user.id.clone(),
            field: still_editing,
        }));
    }
    if still_here {
        out.push(Outbound::All(ServerMessage::Presence {
            presence: presence(remaining),
        }));
    } else {
        departures.retain(|d| d.user_id != gone.user.id);
        departures.push(Departure {
            user_id: gone.user.id.clone(),
            due_ms: now_ms + limits.grace_ms,
        });
    }
    out
}

/// One text or binary frame from `connection`. Mutates its attachment state.
pub fn handle_frame(
    connection: &mut Connection,
    frame: Frame<'_>,
    now_ms: i64,
    limits: &Limits,
) -> Vec<Outbound> {
    let size = match frame {
        Frame::Text(text) => text.len(),
        Frame::Binary(len) => len,
    };
    if size > limits.max_frame_bytes {
        return vec![Outbound::Close {
            connection_id: connection.id.clone(),
            code: close::TOO_BIG,
            reason: format!("frames are limited to {} bytes", limits.max_frame_bytes),
        }];
    }
    match connection.rate.admit(now_ms, limits) {
        Admit::Yes => {}
        Admit::Limited { notify: true } => {
            return vec![Outbound::Reply(ServerMessage::error(
                codes::RATE_LIMITED,
                format!(
                    "more than {} messages in a second; extra messages are dropped",
                    limits.messages_per_sec
                ),
                None,
            ))]
        }
        Admit::Limited { notify: false } => return Vec::new(),
        Admit::Abuse => {
            return vec![Outbound::Close {
                connection_id: connection.id.clone(),
                code: close::POLICY,
                reason: "rate limit exceeded repeatedly".into(),
            }]
        }
    }
    let Frame::Text(text) = frame else {
        return vec![Outbound::Reply(ServerMessage::error(
            codes::BINARY_UNSUPPORTED,
            "send JSON text frames",
            None,
        ))];
    };
    let message = match parse_client_message(text) {
        Ok(message) => message,
        Err(rejection) => return vec![Outbound::Reply(rejection.into_message())],
    };
    apply(connection, message, now_ms, limits)
}

/// A frame as received: text, or the length of a binary frame.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    Text(&'a str),
    Binary(usize),
}

fn ack(id: Option<serde_json::Value>) -> Option<Outbound> {
    id.map(|id| Outbound::Reply(ServerMessage::Ack { id }))
}

fn apply(
    connection: &mut Connection,
    message: ClientMessage,
    now_ms: i64,
    limits: &Limits,
) -> Vec<Outbound> {
    let forbidden = |id| {
        vec![Outbound::Reply(ServerMessage::error(
            codes::FORBIDDEN,
            "viewers can watch a room but not type or edit",
            id,
        ))]
    };
    match message {
        ClientMessage::Ping { id } => vec![Outbound::Reply(ServerMessage::Pong { id })],
        ClientMessage::Typing { id, .. } | ClientMessage::Editing { id, .. }
            if !connection.can_write =>
        {
            forbidden(id)
        }
        ClientMessage::Typing { id, field, active } => {
            let mut out = Vec::new();
            let was = connection.typing.take();
            if active {
                connection.typing = Some(Typing {
                    field: field.clone(),
                    until_ms: now_ms + limits.typing_ttl_ms,
                });
            }
            if let Some(previous) = was.filter(|t| t.field != field) {
                out.push(Outbound::Others(ServerMessage::Typing {
                    user_id: connection.user.id.clone(),
                    field: previous.field,
                    active: false,
                }));
            }
            out.push(Outbound::Others(ServerMessage::Typing {
                user_id: connection.user.id.clone(),
                field,
                active,
            }));
            out.extend(ack(id));
            out
        }
        ClientMessage::Editing { id, field } => {
            let mut out = Vec::new();
            if connection.editing != field {
                connection.editing = field.clone();
                out.push(Outbound::Others(ServerMessage::Editing {
                    user_id: connection.user.id.clone(),
                    field,
                }));
            }
            out.extend(ack(id));
            out
        }
    }
}

/// Time-driven work, run from the alarm: typing that went quiet, departures whose grace
/// period is over, tokens that expired. `connections` is updated in place.
pub fn on_alarm(
    connections: &mut [Connection],
    departures: &mut Vec<Departure>,
    now_ms: i64,
) -> Vec<Outbound> {
    let mut out = Vec::new();
    for connection in connections.iter_mut() {
        if connection.expires_at_ms <= now_ms {
            out.push(Outbound::Close {
                connection_id: connection.id.clone(),
                code: close::TOKEN_EXPIRED,
                reason: "token expired".into(),
            });
            continue;
        }
        if let Some(typing) = connection.typing.take_if(|t| t.until_ms <= now_ms) {
            out.push(Outbound::All(ServerMessage::Typing {
                user_id: connection.user.id.clone(),
                field: typing.field,
                active: false,
            }));
        }
    }
    let (due, pending): (Vec<Departure>, Vec<Departure>) =
        departures.drain(..).partition(|d| d.due_ms <= now_ms);
    *departures = pending;
    for departure in due {
        if user_connection_count(connections, &departure.user_id) == 0 {
            out.push(Outbound::All(ServerMessage::UserLeft {
                user_id: departure.user_id,
            }));
        }
    }
    out
}

/// When the room next has time-driven work, if ever. Nothing else wakes an idle room.
pub fn next_alarm(connections: &[Connection], departures: &[Departure]) -> Option<i64> {
    let typing = connections
        .iter()
        .filter_map(|c| c.typing.as_ref().map(|t| t.until_ms));
    let expiry = connections.iter().map(|c| c.expires_at_ms);
    let leaving = departures.iter().map(|d| d.due_ms);
    typing.chain(expiry).chain(leaving).min()
}

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

/// `oldest_kept` is the lowest `seq` still in the log (None when the log is empty).
pub fn resume(since: Option<u64>, current_seq: u64, oldest_kept: Option<u64>) -> Resume {
    let Some(since) = since else {
        return Resume::Fresh;
    };
    if since > current_seq {
        return Resume::Resync {
            reason: format!("since={since} is ahead of this room (seq {current_seq})"),
        };
    }
    if since == current_seq {
        return Resume::Replay { since };
    }
    match oldest_kept {
        Some(oldest) if since + 1 >= oldest => Resume::Replay { since },
        _ => Resume::Resync {
            reason: format!("events after {since} are no longer kept"),
        },
    }
}

/// The longest a broadcast ever waits for company, in milliseconds.
pub const MAX_BROADCAST_DELAY_MS: i64 = 100;

/// How long a broadcast should wait so the room keeps to `frames_per_sec`.
///
/// A broadcast to `sockets` sockets costs `sockets` frames, so broadcasts may start at most
/// every `sockets × 1000 / frames_per_sec` ms (50 ms for 1,000 sockets at the default
/// 20,000/s; 0.5 ms for 10). A room that broadcast longer ago than that sends at once, so a
/// quiet room adds no delay; a busy one waits out the rest of the gap, and everything
/// committed during the wait leaves in the same `batch` frame. Capped at
/// [`MAX_BROADCAST_DELAY_MS`].
pub fn broadcast_delay_ms(
    now_ms: i64,
    last_broadcast_ms: Option<i64>,
    sockets: usize,
    frames_per_sec: u64,
) -> i64 {
    let Some(last) = last_broadcast_ms else {
        return 0;
    };
    let gap = (sockets as i64)
        .saturating_mul(1000)
        .checked_div(frames_per_sec.max(1) as i64)
        .unwrap_or(0)
        .min(MAX_BROADCAST_DELAY_MS);
    (last + gap - now_ms).clamp(0, gap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Stamp, Status, Task, TaskChanges, TaskId};
    use serde_json::json;

    fn user(id: &str) -> UserInfo {
        UserInfo {
            id: id.into(),
            name: id.to_uppercase(),
            avatar_url: None,
        }
    }

    fn conn(id: &str, user_id: &str) -> Connection {
        Connection {
            id: id.into(),
            user: user(user_id),
            can_write: true,
            expires_at_ms: 1_000_000,
            typing: None,
            editing: None,
            rate: RateWindow::default(),
        }
    }

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn first_tab_joins_second_tab_only_updates_presence() {
        let mut departures = Vec::new();
        let a1 = conn("a1", "ana");
        let out = join(&[], &mut departures, &a1);
        assert!(matches!(
            &out[..],
            [Outbound::Others(ServerMessage::UserJoined {
                connections: 1,
                ..
            })]
        ));
        let a2 = conn("a2", "ana");
        let out = join(std::slice::from_ref(&a1), &mut departures, &a2);
        match &out[..] {
            [Outbound::Others(ServerMessage::Presence { presence })] => {
                assert_eq!(presence.len(), 1);
                assert_eq!(presence[0].connections, 2);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn user_left_only_after_last_tab_and_grace() {
        let l = limits();
        let mut departures = Vec::new();
        let (a1, a2) = (conn("a1", "ana"), conn("a2", "ana"));
        // one tab closes: no departure
        leave(std::slice::from_ref(&a2), &mut departures, &a1, 0, &l);
        assert!(departures.is_empty());
        // the last closes: a departure is pending, nothing sent yet
        let out = leave(&[], &mut departures, &a2, 100, &l);
        assert!(out.is_empty());
        assert_eq!(
            departures,
            [Departure {
                user_id: "ana".into(),
                due_ms: 100 + l.grace_ms
            }]
        );
        assert_eq!(next_alarm(&[], &departures), Some(100 + l.grace_ms));
        // before the grace period: nothing
        assert!(on_alarm(&mut [], &mut departures, 100 + l.grace_ms - 1).is_empty());
        // after it: user_left once
        let out = on_alarm(&mut [], &mut departures, 100 + l.grace_ms);
        assert_eq!(
            out,
            [Outbound::All(ServerMessage::UserLeft {
                user_id: "ana".into()
            })]
        );
        assert!(departures.is_empty());
        assert!(on_alarm(&mut [], &mut departures, 200 + l.grace_ms).is_empty());
    }

    #[test]
    fn reconnect_within_grace_does_not_flicker() {
        let l = limits();
        let mut departures = Vec::new();
        leave(&[], &mut departures, &conn("a1", "ana"), 0, &l);
        let out = join(&[], &mut departures, &conn("a2", "ana"));
        assert!(matches!(
            &out[..],
            [Outbound::Others(ServerMessage::Presence { .. })]
        ));
        assert!(departures.is_empty());
        let mut connections = [conn("a2", "ana")];
        assert!(on_alarm(&mut connections, &mut departures, l.grace_ms + 1).is_empty());
    }

    #[test]
    fn typing_is_broadcast_and_expires() {
        let l = limits();
        let mut a = conn("a1", "ana");
        let out = handle_frame(
            &mut a,
            Frame::Text(r#"{"type":"typing","field":"title","active":true,"id":1}"#),
            10,
            &l,
        );
        assert_eq!(out.len(), 2);
        assert!(matches!(
            &out[0],
            Outbound::Others(ServerMessage::Typing { active: true, .. })
        ));
        assert_eq!(out[1], Outbound::Reply(ServerMessage::Ack { id: json!(1) }));
        assert_eq!(
            next_alarm(std::slice::from_ref(&a), &[]),
            Some(10 + l.typing_ttl_ms)
        );
        let mut connections = [a];
        let out = on_alarm(&mut connections, &mut Vec::new(), 10 + l.typing_ttl_ms);
        assert!(matches!(
            &out[..],
            [Outbound::All(ServerMessage::Typing { active: false, .. })]
        ));
        assert_eq!(connections[0].typing, None);
    }

    #[test]
    fn viewers_cannot_type_or_edit() {
        let l = limits();
        let mut viewer = conn("v", "vic");
        viewer.can_write = false;
        for frame in [
            r#"{"type":"typing","field":"title","active":true,"id":"t"}"#,
            r#"{"type":"editing","field":"title","id":"t"}"#,
        ] {
            let out = handle_frame(&mut viewer, Frame::Text(frame), 0, &l);
            match &out[..] {
                [Outbound::Reply(ServerMessage::Error { code, id, .. })] => {
                    assert_eq!(code, codes::FORBIDDEN);
                    assert_eq!(id, &Some(json!("t")));
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(viewer.typing, None);
        let out = handle_frame(&mut viewer, Frame::Text(r#"{"type":"ping","id":5}"#), 0, &l);
        assert_eq!(
            out,
            [Outbound::Reply(ServerMessage::Pong { id: Some(json!(5)) })]
        );
    }

    #[test]
    fn editing_is_field_presence() {
        let l = limits();
        let mut a = conn("a1", "ana");
        let out = handle_frame(
            &mut a,
            Frame::Text(r#"{"type":"editing","field":"description"}"#),
            0,
            &l,
        );
        assert!(matches!(
            &out[..],
            [Outbound::Others(ServerMessage::Editing {
                field: Some(_),
                ..
            })]
        ));
        assert_eq!(presence(&[a.clone()])[0].editing, ["description"]);
        // leaving clears it for the others
        let out = leave(&[], &mut Vec::new(), &a, 0, &l);
        assert!(out.contains(&Outbound::All(ServerMessage::Editing {
            user_id: "ana".into(),
            field: None
        })));
    }

    #[test]
    fn oversized_and_binary_frames() {
        let l = limits();
        let mut a = conn("a1", "ana");
        let big = "x".repeat(l.max_frame_bytes + 1);
        let out = handle_frame(&mut a, Frame::Text(&big), 0, &l);
        assert!(matches!(
            &out[..],
            [Outbound::Close {
                code: close::TOO_BIG,
                ..
            }]
        ));
        let out = handle_frame(&mut a, Frame::Binary(3), 0, &l);
        assert!(matches!(
            &out[..],
            [Outbound::Reply(ServerMessage::Error { .. })]
        ));
    }

    #[test]
    fn rate_limit_warns_once_per_second_then_closes_on_sustained_abuse() {
        let l = Limits {
            messages_per_sec: 3,
            max_strikes: 2,
            ..limits()
        };
        let mut a = conn("a1", "ana");
        let ping = Frame::Text(r#"{"type":"ping"}"#);
        let mut errors = 0;
        for _ in 0..10 {
            for outbound in handle_frame(&mut a, ping, 0, &l) {
                if matches!(outbound, Outbound::Reply(ServerMessage::Error { .. })) {
                    errors += 1;
                }
            }
        }
        assert_eq!(errors, 1, "one rate_limited error per window");
        assert_eq!(a.rate.strikes, 1);
        // a calm second in between: the next abusive second starts counting from one again
        handle_frame(&mut a, ping, 1500, &l);
        let mut closed = false;
        for _ in 0..4 {
            closed |= handle_frame(&mut a, ping, 3000, &l)
                .iter()
                .any(|o| matches!(o, Outbound::Close { .. }));
        }
        assert!(!closed);
        assert_eq!(a.rate.strikes, 1);
        // two abusive seconds in a row close the connection
        for _ in 0..4 {
            closed |= handle_frame(&mut a, ping, 4000, &l).iter().any(|o| {
                matches!(
                    o,
                    Outbound::Close {
                        code: close::POLICY,
                        ..
                    }
                )
            });
        }
        assert!(closed);
    }

    #[test]
    fn expired_tokens_are_closed_with_4001() {
        let mut connections = [conn("a1", "ana")];
        connections[0].expires_at_ms = 50;
        assert_eq!(next_alarm(&connections, &[]), Some(50));
        let out = on_alarm(&mut connections, &mut Vec::new(), 50);
        assert!(matches!(
            &out[..],
            [Outbound::Close {
                code: close::TOKEN_EXPIRED,
                ..
            }]
        ));
    }

    fn change(kind: ChangeKind, status: &str, previous_status: Option<Status>) -> Change {
        let changes =
            TaskChanges::from_json(&json!({"title": "t", "status": status}), true).unwrap();
        let stamp = Stamp {
            actor: "ana",
            now: "2026-01-01T00:00:00.000Z",
        };
        Change {
            kind,
            task: Task::create(TaskId::generate(), "ws", changes, &stamp).unwrap(),
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
    fn resume_decisions() {
        assert_eq!(resume(None, 5, Some(1)), Resume::Fresh);
        assert_eq!(resume(Some(3), 5, Some(1)), Resume::Replay { since: 3 });
        assert_eq!(resume(Some(0), 5, Some(1)), Resume::Replay { since: 0 });
        assert_eq!(resume(Some(5), 5, Some(1)), Resume::Replay { since: 5 });
        assert_eq!(resume(Some(0), 0, None), Resume::Replay { since: 0 });
        assert!(matches!(
            resume(Some(1), 10, Some(5)),
            Resume::Resync { .. }
        ));
        assert_eq!(resume(Some(4), 10, Some(5)), Resume::Replay { since: 4 });
        assert!(matches!(
            resume(Some(11), 10, Some(5)),
            Resume::Resync { .. }
        ));
    }

    #[test]
    fn broadcasts_are_paced_by_the_frame_budget() {
        // never broadcast, or long ago: at once
        assert_eq!(broadcast_delay_ms(1_000, None, 1000, 20_000), 0);
        assert_eq!(broadcast_delay_ms(1_000, Some(900), 1000, 20_000), 0);
        // 1,000 sockets at 20,000 frames/s: one broadcast per 50 ms
        assert_eq!(broadcast_delay_ms(1_000, Some(980), 1000, 20_000), 30);
        assert_eq!(broadcast_delay_ms(1_000, Some(1_000), 1000, 20_000), 50);
        // a small room barely waits; the cap holds for a huge one
        assert_eq!(broadcast_delay_ms(1_000, Some(1_000), 10, 20_000), 0);
        assert_eq!(broadcast_delay_ms(1_000, Some(1_000), 100, 20_000), 5);
        assert_eq!(
            broadcast_delay_ms(1_000, Some(1_000), 1_000_000, 20_000),
            MAX_BROADCAST_DELAY_MS
        );
        // a clock that went backwards never waits longer than one gap
        assert_eq!(broadcast_delay_ms(1_000, Some(5_000), 1000, 20_000), 50);
    }
}
