//! Who is in a room: one entry per user, several tabs counted, and the grace period that
//! keeps a quick reconnect from flickering.

use super::{Connection, Departure, Limits, Outbound};
use crate::protocol::{PresenceEntry, ServerMessage};

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

pub(super) fn user_connection_count(connections: &[Connection], user_id: &str) -> usize {
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

#[cfg(test)]
mod tests {
    use super::super::test_support::conn;
    use super::super::{handle_frame, next_alarm, on_alarm, Frame};
    use super::*;

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
        assert_eq!(next_alarm(&[], &departures, None), Some(100 + l.grace_ms));
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
}
