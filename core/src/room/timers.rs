//! Time-driven work: typing that went quiet, departures whose grace period is over, tokens
//! that expired; and when the room's one alarm should next fire (never, when idle).

use super::presence::user_connection_count;
use super::{Connection, Departure, Outbound};
use crate::protocol::{close, ServerMessage};

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

    #[test]
    fn expired_tokens_are_closed_with_4001() {
        let mut connections = [conn("a1", "ana")];
        connections[0].expires_at_ms = 50;
        assert_eq!(next_alarm(&connections, &[], None), Some(50));
        let out = on_alarm(&mut connections, &mut Vec::new(), 50);
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
