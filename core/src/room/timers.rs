//! Time-driven work ([`on_alarm`]): typing that went quiet, departures whose grace period
//! is over, tokens that expired, a held-back presence diff, a board's figures at midnight;
//! and when the room's one alarm should next fire (never, when idle).

use super::effects::{Alarm, Audience, Effects, StorageWrite};
use super::presence::{user_connection_count, viewer_changes};
use super::{Connection, Departure, DocConnection, Outbound, RoomKind};
use crate::doc::flush::Unsaved;
use crate::protocol::{close, ServerMessage};

/// What the alarm needs to know.
#[derive(Debug, Clone)]
pub struct AlarmSnapshot {
    pub now_ms: i64,
    pub kind: RoomKind,
    /// Every live connection.
    pub connections: Vec<Connection>,
    pub departures: Vec<Departure>,
    /// When the presence diff a busy room held back is due, if one is.
    pub held_presence_due: Option<i64>,
    /// A board that has counted its workspace: the UTC day of the figures it last sent.
    pub analytics_day: Option<i64>,
    /// A task room: its document sockets.
    pub doc_connections: Vec<DocConnection>,
    /// A task room: the document's edits D1 does not have yet.
    pub unsaved: Option<Unsaved>,
}

/// The alarm fired: everything due now is done, and the alarm is set to the next deadline
/// (or cleared, so an idle room hibernates).
pub fn on_alarm(snapshot: AlarmSnapshot) -> Effects {
    let AlarmSnapshot {
        now_ms,
        kind,
        mut connections,
        mut departures,
        held_presence_due,
        analytics_day,
        doc_connections,
        unsaved,
    } = snapshot;
    let before = connections.clone();
    let mut frames = expire(&mut connections, &mut departures, now_ms);
    let (expired_docs, open_docs): (Vec<_>, Vec<_>) = doc_connections
        .into_iter()
        .partition(|c| c.expires_at_ms <= now_ms);
    frames.extend(expired_docs.into_iter().map(|c| Outbound::Close {
        connection_id: c.id,
        code: close::TOKEN_EXPIRED,
        reason: "token expired".into(),
    }));
    let (flush, unsaved_left) = match unsaved {
        Some(unsaved) if unsaved.is_due(now_ms) => (Some(unsaved.editors), None),
        other => (None, other),
    };
    let closed: Vec<&str> = frames
        .iter()
        .filter_map(|frame| match frame {
            Outbound::Close { connection_id, .. } => Some(connection_id.as_str()),
            _ => None,
        })
        .collect();
    let staying: Vec<Connection> = connections
        .iter()
        .filter(|c| !closed.contains(&c.id.as_str()))
        .cloned()
        .collect();
    let watched_board = analytics_day.is_some() && !staying.is_empty();
    let flush_held_presence = held_presence_due.is_some_and(|due| due <= now_ms);
    let next = next_alarm(&staying, &departures, board_day_turn(now_ms, watched_board))
        .into_iter()
        .chain(held_presence_due.filter(|due| *due > now_ms))
        .chain(open_docs.iter().map(|c| c.expires_at_ms))
        .chain(unsaved_left.as_ref().map(Unsaved::due_ms))
        .min();
    let mut storage = vec![StorageWrite::Departures(departures)];
    if flush.is_some() {
        storage.push(StorageWrite::Unsaved(None));
    }
    let new_day = analytics_day.is_some_and(|day| day != day_number(now_ms));
    Effects {
        attachments: changed(&before, connections),
        storage,
        flush,
        viewers: match kind {
            RoomKind::Task => viewer_changes(&frames),
            RoomKind::Board => Vec::new(),
        },
        frames,
        alarm: Alarm::Set(next),
        // A board's figures move with the calendar: resend them when the day turned.
        analytics: (watched_board && new_day).then_some(Audience::Everyone),
        flush_held_presence,
        ..Effects::default()
    }
}

/// The connections of `after` that differ from what they were.
fn changed(before: &[Connection], after: Vec<Connection>) -> Vec<Connection> {
    after
        .into_iter()
        .zip(before)
        .filter(|(after, before)| after != *before)
        .map(|(after, _)| after)
        .collect()
}

/// Typing that went quiet, departures whose grace period is over, tokens that expired.
/// `connections` and `departures` are updated in place.
pub(super) fn expire(
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
/// `day_turn_ms` is when a board's analytics next change by the calendar alone
/// ([`board_day_turn`]).
pub fn next_alarm(
    connections: &[Connection],
    departures: &[Departure],
    day_turn_ms: Option<i64>,
) -> Option<i64> {
    let typing = connections
        .iter()
        .filter_map(|c| c.typing.as_ref().map(|t| t.until_ms));
    let expiry = connections.iter().map(|c| c.expires_at_ms);
    let leaving = departures.iter().map(|d| d.due_ms);
    typing.chain(expiry).chain(leaving).chain(day_turn_ms).min()
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A board's analytics change with the calendar ("overdue" at midnight UTC, "this week" on
/// Mondays) even when nothing is written. While someone is watching, the board wakes at the
/// next midnight to send them fresh figures; with nobody watching it sleeps through.
pub fn board_day_turn(now_ms: i64, watched: bool) -> Option<i64> {
    watched.then(|| (now_ms.div_euclid(DAY_MS) + 1) * DAY_MS)
}

/// The UTC day of an instant, as days since the epoch: a board sends analytics again when
/// this moves.
pub fn day_number(now_ms: i64) -> i64 {
    now_ms.div_euclid(DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::conn;
    use super::*;

    fn snapshot(connections: Vec<Connection>, now_ms: i64) -> AlarmSnapshot {
        AlarmSnapshot {
            now_ms,
            kind: RoomKind::Task,
            connections,
            departures: Vec::new(),
            held_presence_due: None,
            analytics_day: None,
            doc_connections: Vec::new(),
            unsaved: None,
        }
    }

    #[test]
    fn the_alarm_closes_expired_tokens_ends_typing_and_sets_the_next_deadline() {
        let mut expired = conn("a1", "ana");
        expired.expires_at_ms = 50;
        let mut typing = conn("b1", "bo");
        typing.typing = Some(super::super::Typing {
            field: "title".into(),
            until_ms: 40,
        });
        let mut later = snapshot(vec![expired, typing], 50);
        later.departures = vec![Departure {
            user_id: "cy".into(),
            due_ms: 45,
        }];
        later.held_presence_due = Some(70);
        let effects = on_alarm(later);
        let kinds: Vec<&str> = effects
            .frames
            .iter()
            .map(|frame| match frame {
                Outbound::Close {
                    code: close::TOKEN_EXPIRED,
                    ..
                } => "close_expired",
                Outbound::All(ServerMessage::Typing { active: false, .. }) => "typing_off",
                Outbound::All(ServerMessage::UserLeft { .. }) => "left",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["close_expired", "typing_off", "left"]);
        assert_eq!(effects.attachments.len(), 1, "bo stopped typing");
        assert_eq!(effects.storage, [StorageWrite::Departures(Vec::new())]);
        assert_eq!(effects.viewers.len(), 1, "cy is gone for the board");
        // bo's token (1_000_000) and the held diff (70) are what is left; ana is closed.
        assert_eq!(effects.alarm, Alarm::Set(Some(70)));
        assert!(!effects.flush_held_presence);
    }

    #[test]
    fn document_sockets_expire_and_unsaved_edits_are_written_when_due() {
        let ana = crate::protocol::Actor {
            id: "ana".into(),
            name: "Ana".into(),
        };
        let unsaved = crate::doc::flush::edited(None, &ana, 1_000);
        let doc = |id: &str, expires_at_ms| DocConnection {
            id: id.into(),
            user: conn("x", "ana").user,
            can_write: true,
            expires_at_ms,
            awareness: Vec::new(),
            window_start_ms: 0,
            frames: 0,
        };
        let mut early = snapshot(Vec::new(), 2_000);
        early.unsaved = Some(unsaved.clone());
        early.doc_connections = vec![doc("d1", 1_500), doc("d2", 9_000)];
        let effects = on_alarm(early);
        assert!(matches!(
            &effects.frames[..],
            [Outbound::Close { connection_id, code: close::TOKEN_EXPIRED, .. }] if connection_id == "d1"
        ));
        assert_eq!(effects.flush, None, "due at 3,000");
        assert_eq!(effects.alarm, Alarm::Set(Some(3_000)));
        let mut due = snapshot(Vec::new(), 3_000);
        due.unsaved = Some(unsaved);
        let effects = on_alarm(due);
        assert_eq!(effects.flush, Some(vec![ana]));
        assert!(effects.storage.contains(&StorageWrite::Unsaved(None)));
        assert_eq!(effects.alarm, Alarm::Set(None));
    }

    #[test]
    fn an_idle_room_clears_its_alarm_and_sends_a_due_diff() {
        let mut idle = snapshot(Vec::new(), 100);
        idle.held_presence_due = Some(90);
        let effects = on_alarm(idle);
        assert_eq!(effects.alarm, Alarm::Set(None));
        assert!(effects.flush_held_presence);
    }

    #[test]
    fn a_watched_board_resends_its_figures_when_the_day_turned() {
        let noon = 1_800_000_000_000 - 1_800_000_000_000 % DAY_MS + DAY_MS / 2;
        let mut watcher = conn("a1", "ana");
        watcher.expires_at_ms = i64::MAX;
        let mut board = snapshot(vec![watcher], noon);
        board.kind = RoomKind::Board;
        board.analytics_day = Some(day_number(noon) - 1);
        let effects = on_alarm(board.clone());
        assert_eq!(effects.analytics, Some(Audience::Everyone));
        assert_eq!(effects.alarm, Alarm::Set(Some(noon + DAY_MS / 2)));
        board.analytics_day = Some(day_number(noon));
        assert_eq!(on_alarm(board.clone()).analytics, None);
        board.connections.clear();
        let unwatched = on_alarm(board);
        assert_eq!(unwatched.analytics, None, "nobody to tell");
        assert_eq!(unwatched.alarm, Alarm::Set(None), "sleeps through midnight");
    }

    #[test]
    fn expired_tokens_are_closed_with_4001() {
        let mut connections = [conn("a1", "ana")];
        connections[0].expires_at_ms = 50;
        assert_eq!(next_alarm(&connections, &[], None), Some(50));
        let out = expire(&mut connections, &mut Vec::new(), 50);
        assert!(matches!(
            &out[..],
            [Outbound::Close {
                code: close::TOKEN_EXPIRED,
                ..
            }]
        ));
    }

    #[test]
    fn a_watched_board_wakes_at_midnight_utc_only() {
        let noon = 1_800_000_000_000 - 1_800_000_000_000 % DAY_MS + DAY_MS / 2;
        let midnight = noon + DAY_MS / 2;
        assert_eq!(board_day_turn(noon, true), Some(midnight));
        assert_eq!(board_day_turn(midnight, true), Some(midnight + DAY_MS));
        assert_eq!(board_day_turn(noon, false), None);
        assert_eq!(
            next_alarm(&[], &[], board_day_turn(noon, true)),
            Some(midnight)
        );
        assert_eq!(day_number(midnight) - day_number(noon), 1);
    }

    #[test]
    fn an_idle_room_sets_no_alarm() {
        assert_eq!(next_alarm(&[], &[], None), None);
        let mut typing = conn("a1", "ana");
        typing.typing = Some(super::super::Typing {
            field: "title".into(),
            until_ms: 40,
        });
        let departures = [Departure {
            user_id: "bo".into(),
            due_ms: 30,
        }];
        assert_eq!(next_alarm(&[typing], &departures, None), Some(30));
    }
}
