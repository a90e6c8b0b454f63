//! Who is in a room: one entry per user, several tabs counted, and the grace period that
//! keeps a quick reconnect from flickering; a connection that closes ([`on_close`]).

use super::effects::{Alarm, Effects, StorageWrite};
use super::{Connection, Departure, Limits, Outbound, RoomKind};
use crate::protocol::{PresenceEntry, ServerMessage, UserInfo};

/// What a closing connection needs to know: itself (its socket's attachment, taken so it is
/// never counted twice) and its user's other connections. Nobody else's.
#[derive(Debug, Clone, Copy)]
pub struct CloseSnapshot<'a> {
    pub gone: &'a Connection,
    pub same_user: &'a [Connection],
    pub now_ms: i64,
    pub limits: &'a Limits,
    pub kind: RoomKind,
}

/// A connection closed (the client went, or the room closed it): the others hear that it
/// stopped typing or editing, the user's entry shrinks, and a user with no tab left leaves
/// after the grace period (the alarm sends `user_left` then, unless they return).
pub fn on_close(snapshot: CloseSnapshot<'_>) -> Effects {
    let CloseSnapshot {
        gone,
        same_user,
        now_ms,
        limits,
        kind,
    } = snapshot;
    let mut departures = Vec::new();
    let frames = leave(same_user, &mut departures, gone, now_ms, limits);
    let departure = departures.pop();
    let user_id = gone.user.id.clone();
    Effects {
        storage: vec![
            StorageWrite::DepartureOf {
                user_id: user_id.clone(),
                departure: departure.clone(),
            },
            StorageWrite::Presence {
                user_id,
                entry: entry_of(same_user),
            },
        ],
        viewers: match kind {
            RoomKind::Task => viewer_changes(&frames),
            RoomKind::Board => Vec::new(),
        },
        frames,
        alarm: departure.map_or(Alarm::Keep, |d| Alarm::NoLaterThan(d.due_ms)),
        ..Effects::default()
    }
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

pub(super) fn user_connection_count(connections: &[Connection], user_id: &str) -> usize {
    connections.iter().filter(|c| c.user.id == user_id).count()
}

/// One user's entry, from that user's connections alone (none: `None`).
pub fn entry_of(connections: &[Connection]) -> Option<PresenceEntry> {
    presence(connections).into_iter().next()
}

/// The stored presence list, checked against the sockets that are really open. When an
/// object restarts (a deploy, a crash) the runtime drops its sockets without calling the
/// close handler, so the stored list can still name people who are long gone. It then counts
/// more connections than there are open sockets, which a join checks for free (it has both
/// at hand); only then is the list rebuilt from the live connections. (Fewer is normal: a
/// socket that has left but not finished closing is still open and no longer counted.)
/// Each ghost leaves with a `user_left`, as after a grace period, so the board's map of
/// viewers forgets them too. `None`: the list is right as it is.
pub fn reconcile(
    stored: &[PresenceEntry],
    open_sockets: usize,
    live: impl FnOnce() -> Vec<Connection>,
) -> Option<(Vec<PresenceEntry>, Vec<Outbound>)> {
    let counted: usize = stored.iter().map(|entry| entry.connections).sum();
    if counted <= open_sockets {
        return None;
    }
    let rebuilt = presence(&live());
    let ghosts = stored
        .iter()
        .filter(|entry| !rebuilt.iter().any(|now| now.user.id == entry.user.id))
        .map(|entry| {
            Outbound::Others(ServerMessage::UserLeft {
                user_id: entry.user.id.clone(),
            })
        })
        .collect();
    Some((rebuilt, ghosts))
}

/// A new connection joins. `same_user` is the user's other connections (not `new`): a join
/// never needs anyone else's.
///
/// Sends `user_joined` to the others only for a user who was neither connected nor inside
/// their grace period; a second tab or a quick reconnect sends a `presence_diff` with the
/// user's new entry, not the whole list.
pub fn join(
    same_user: &[Connection],
    departures: &mut Vec<Departure>,
    new: &Connection,
) -> Vec<Outbound> {
    let returning = departures.iter().any(|d| d.user_id == new.user.id);
    departures.retain(|d| d.user_id != new.user.id);
    if same_user.is_empty() && !returning {
        return vec![Outbound::Others(ServerMessage::UserJoined {
            user: new.user.clone(),
            connections: 1,
        })];
    }
    let mut theirs = same_user.to_vec();
    theirs.push(new.clone());
    vec![Outbound::Others(ServerMessage::PresenceDiff {
        joins: entry_of(&theirs).into_iter().collect(),
        leaves: Vec::new(),
    })]
}

/// A connection is gone. `same_user` is the user's remaining connections (not `gone`).
pub fn leave(
    same_user: &[Connection],
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
    if gone.editing.is_some() {
        let still_editing = same_user.iter().find_map(|c| c.editing.clone());
        out.push(Outbound::All(ServerMessage::Editing {
            user_id: gone.user.id.clone(),
            field: still_editing,
        }));
    }
    match entry_of(same_user) {
        Some(entry) => out.push(Outbound::All(ServerMessage::PresenceDiff {
            joins: vec![entry],
            leaves: Vec::new(),
        })),
        None => {
            departures.retain(|d| d.user_id != gone.user.id);
            departures.push(Departure {
                user_id: gone.user.id.clone(),
                due_ms: now_ms + limits.grace_ms,
            });
        }
    }
    out
}

/// A change to the set of users in a task room, as its board hears of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewerChange {
    Came(UserInfo),
    Went(String),
}

/// How the set of users in a task room changes with `outbounds`: their `user_joined` and
/// `user_left`, which already keep the grace period. A second tab, a quick reconnect or a
/// typing flag is not among them and tells the board nothing. The room applies these to
/// the set it last reported, one row per user, so a join into a full room costs one row,
/// not a rewrite of the whole set; the set itself says whether anything changed (a user
/// it already has, or never had, changes nothing).
pub fn viewer_changes(outbounds: &[Outbound]) -> Vec<ViewerChange> {
    outbounds
        .iter()
        .filter_map(|outbound| match outbound {
            Outbound::All(message) | Outbound::Others(message) => match message {
                ServerMessage::UserJoined { user, .. } => Some(ViewerChange::Came(user.clone())),
                ServerMessage::UserLeft { user_id } => Some(ViewerChange::Went(user_id.clone())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Presence changes waiting while a busy room holds its broadcasts back: they leave
/// together as one `presence_diff`, in which a user's latest entry wins and a leave
/// cancels an earlier join (and the other way round).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingPresence {
    joins: std::collections::BTreeMap<String, PresenceEntry>,
    leaves: std::collections::BTreeSet<String>,
}

impl PendingPresence {
    /// Takes in one presence message; anything else is not presence and is refused (`false`).
    pub fn add(&mut self, message: &ServerMessage) -> bool {
        match message {
            ServerMessage::UserJoined { user, connections } => {
                self.join(PresenceEntry {
                    user: user.clone(),
                    connections: *connections,
                    editing: Vec::new(),
                });
            }
            ServerMessage::UserLeft { user_id } => {
                self.joins.remove(user_id);
                self.leaves.insert(user_id.clone());
            }
            ServerMessage::PresenceDiff { joins, leaves } => {
                for user_id in leaves {
                    self.joins.remove(user_id);
                    self.leaves.insert(user_id.clone());
                }
                for entry in joins {
                    self.join(entry.clone());
                }
            }
            _ => return false,
        }
        true
    }

    fn join(&mut self, entry: PresenceEntry) {
        self.leaves.remove(&entry.user.id);
        self.joins.insert(entry.user.id.clone(), entry);
    }

    pub fn is_empty(&self) -> bool {
        self.joins.is_empty() && self.leaves.is_empty()
    }

    /// The one frame that carries everything pending.
    pub fn into_message(self) -> ServerMessage {
        ServerMessage::PresenceDiff {
            joins: self.joins.into_values().collect(),
            leaves: self.leaves.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::conn;
    use super::super::test_support::{alarm_over, handle};
    use super::super::{next_alarm, Frame};
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn a_list_that_adds_up_is_trusted_without_reading_a_socket() {
        let stored = presence(&[conn("a1", "ana"), conn("a2", "ana"), conn("b1", "bo")]);
        for open in [3, 4] {
            assert_eq!(
                reconcile(&stored, open, || panic!("no attachment is read")),
                None,
                "{open} open sockets"
            );
        }
    }

    #[test]
    fn ghosts_left_by_a_restart_are_dropped_and_leave() {
        // Stored before the restart: ana (two tabs) and bo. Only bo reconnected since.
        let stored = presence(&[conn("a1", "ana"), conn("a2", "ana"), conn("b1", "bo")]);
        let (rebuilt, left) = reconcile(&stored, 1, || vec![conn("b2", "bo")]).unwrap();
        assert_eq!(rebuilt, presence(&[conn("b2", "bo")]));
        assert_eq!(
            left,
            vec![Outbound::Others(ServerMessage::UserLeft {
                user_id: "ana".into()
            })]
        );
        // Nobody back at all: the list empties.
        let (rebuilt, left) = reconcile(&stored, 0, Vec::new).unwrap();
        assert!(rebuilt.is_empty());
        assert_eq!(left.len(), 2);
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
            [Outbound::Others(ServerMessage::PresenceDiff { joins, leaves })] => {
                assert_eq!(joins.len(), 1, "one user's entry, not the room's list");
                assert_eq!(joins[0].connections, 2);
                assert!(leaves.is_empty());
            }
            other => panic!("{other:?}"),
        }
        // closing one of the two tabs: a diff with the count back to 1
        let mut a2_editing = a2.clone();
        a2_editing.editing = Some("title".into());
        let out = leave(
            std::slice::from_ref(&a2_editing),
            &mut departures,
            &a1,
            0,
            &limits(),
        );
        match &out[..] {
            [Outbound::All(ServerMessage::PresenceDiff { joins, .. })] => {
                assert_eq!(
                    (joins[0].connections, joins[0].editing.as_slice()),
                    (1, &["title".to_owned()][..])
                );
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
        assert!(alarm_over(&mut [], &mut departures, 100 + l.grace_ms - 1).is_empty());
        // after it: user_left once
        let out = alarm_over(&mut [], &mut departures, 100 + l.grace_ms);
        assert_eq!(
            out,
            [Outbound::All(ServerMessage::UserLeft {
                user_id: "ana".into()
            })]
        );
        assert!(departures.is_empty());
        assert!(alarm_over(&mut [], &mut departures, 200 + l.grace_ms).is_empty());
    }

    #[test]
    fn the_board_hears_of_users_not_tabs() {
        let l = limits();
        let mut departures = Vec::new();
        let ana = conn("a1", "ana");
        let first = join(&[], &mut departures, &ana);
        assert_eq!(
            viewer_changes(&first),
            [ViewerChange::Came(ana.user.clone())]
        );
        // a second tab, and that tab closing: nothing for the board
        let second = join(
            std::slice::from_ref(&ana),
            &mut departures,
            &conn("a2", "ana"),
        );
        assert_eq!(viewer_changes(&second), []);
        let closed = leave(
            std::slice::from_ref(&ana),
            &mut departures,
            &conn("a2", "ana"),
            0,
            &l,
        );
        assert_eq!(viewer_changes(&closed), []);
        // the last tab: nothing until the grace period is over, then ana is gone
        let last = leave(&[], &mut departures, &ana, 0, &l);
        assert_eq!(viewer_changes(&last), []);
        let gone = alarm_over(&mut [], &mut departures, l.grace_ms);
        assert_eq!(viewer_changes(&gone), [ViewerChange::Went("ana".into())]);
        // typing, editing and the presence list itself are not news for the board
        let typing = vec![Outbound::All(ServerMessage::Typing {
            user_id: "ana".into(),
            field: "title".into(),
            active: true,
        })];
        assert_eq!(viewer_changes(&typing), []);
    }

    #[test]
    fn closing_the_last_tab_starts_the_grace_period_and_empties_the_entry() {
        let l = limits();
        let mut a1 = conn("a1", "ana");
        a1.editing = Some("title".into());
        let last = on_close(CloseSnapshot {
            gone: &a1,
            same_user: &[],
            now_ms: 100,
            limits: &l,
            kind: RoomKind::Task,
        });
        let due = 100 + l.grace_ms;
        assert_eq!(
            last.storage,
            [
                StorageWrite::DepartureOf {
                    user_id: "ana".into(),
                    departure: Some(Departure {
                        user_id: "ana".into(),
                        due_ms: due
                    })
                },
                StorageWrite::Presence {
                    user_id: "ana".into(),
                    entry: None
                }
            ]
        );
        assert_eq!(last.alarm, Alarm::NoLaterThan(due));
        assert!(
            last.viewers.is_empty(),
            "the board hears only after the grace"
        );
        assert_eq!(
            last.frames,
            [Outbound::All(ServerMessage::Editing {
                user_id: "ana".into(),
                field: None
            })]
        );
        // One of two tabs: no departure, the entry counts one.
        let a2 = conn("a2", "ana");
        let one_of_two = on_close(CloseSnapshot {
            gone: &a2,
            same_user: std::slice::from_ref(&a1),
            now_ms: 100,
            limits: &l,
            kind: RoomKind::Task,
        });
        assert_eq!(one_of_two.alarm, Alarm::Keep);
        assert!(one_of_two.storage.contains(&StorageWrite::DepartureOf {
            user_id: "ana".into(),
            departure: None
        }));
    }

    #[test]
    fn reconnect_within_grace_does_not_flicker() {
        let l = limits();
        let mut departures = Vec::new();
        leave(&[], &mut departures, &conn("a1", "ana"), 0, &l);
        let out = join(&[], &mut departures, &conn("a2", "ana"));
        assert!(matches!(
            &out[..],
            [Outbound::Others(ServerMessage::PresenceDiff { .. })]
        ));
        assert!(departures.is_empty());
        let mut connections = [conn("a2", "ana")];
        assert!(alarm_over(&mut connections, &mut departures, l.grace_ms + 1).is_empty());
    }

    #[test]
    fn editing_is_field_presence() {
        let l = limits();
        let mut a = conn("a1", "ana");
        let out = handle(
            &mut a,
            Frame::Text(r#"{"type":"editing","field":"description"}"#),
            0,
            &l,
            RoomKind::Task,
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
    fn presence_changes_held_back_leave_as_one_diff() {
        let mut pending = PendingPresence::default();
        assert!(pending.is_empty());
        let (ana, bo, cy) = (conn("a1", "ana"), conn("b1", "bo"), conn("c1", "cy"));
        for message in [
            ServerMessage::UserJoined {
                user: ana.user.clone(),
                connections: 1,
            },
            ServerMessage::UserJoined {
                user: bo.user.clone(),
                connections: 1,
            },
            ServerMessage::PresenceDiff {
                joins: presence(&[bo.clone(), conn("b2", "bo")]),
                leaves: vec![],
            },
            ServerMessage::UserLeft {
                user_id: "cy".into(),
            },
            ServerMessage::UserLeft {
                user_id: "ana".into(),
            },
        ] {
            assert!(pending.add(&message));
        }
        assert!(
            !pending.add(&ServerMessage::Pong { id: None }),
            "not presence"
        );
        // cy comes back before it went out
        pending.add(&ServerMessage::UserJoined {
            user: cy.user.clone(),
            connections: 1,
        });
        match pending.into_message() {
            ServerMessage::PresenceDiff { joins, leaves } => {
                let joined: Vec<(&str, usize)> = joins
                    .iter()
                    .map(|e| (e.user.id.as_str(), e.connections))
                    .collect();
                assert_eq!(joined, [("bo", 2), ("cy", 1)]);
                assert_eq!(leaves, ["ana"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
