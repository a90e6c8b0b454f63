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
pub fn next_alarm(connections: &[Connection], departures: &[Departure]) -> Option<i64> {
    let typing = connections
        .iter()
        .filter_map(|c| c.typing.as_ref().map(|t| t.until_ms));
    let expiry = connections.iter().map(|c| c.expires_at_ms);
    let leaving = departures.iter().map(|d| d.due_ms);
    typing.chain(expiry).chain(leaving).min()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::conn;
    use super::*;

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

    #[test]
    fn an_idle_room_sets_no_alarm() {
        assert_eq!(next_alarm(&[], &[]), None);
        let mut typing = conn("a1", "ana");
        typing.typing = Some(super::super::Typing {
            field: "title".into(),
            until_ms: 40,
        });
        let departures = [Departure {
            user_id: "bo".into(),
            due_ms: 30,
        }];
        assert_eq!(next_alarm(&[typing], &departures), Some(30));
    }
}
