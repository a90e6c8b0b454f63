//! Property tests of a room: random histories of joins, frames, closes and alarms, driven
//! through the core's entry points as the Durable Object would, keep presence, event
//! order and batching right.

use proptest::prelude::*;
use serde_json::json;

use super::base_task;
use crate::auth::Role;
use crate::protocol::{batch_frames, ServerMessage};
use crate::room::{self, Connection, Departure, Frame, Limits, Outbound, RoomKind};
use crate::task::TaskChanges;

/// A room as the Durable Object keeps it, driven through the core's entry points: the
/// sockets' attachments, the stored presence list and departures, and the time.
#[derive(Default)]
struct SimRoom {
    now: i64,
    connections: Vec<Connection>,
    departures: Vec<Departure>,
    listed: std::collections::BTreeMap<String, crate::protocol::PresenceEntry>,
    next_id: usize,
    /// Users whose last connection closed during the last step.
    gone_users: Vec<String>,
}

impl SimRoom {
    fn count_of(&self, user_id: &str) -> usize {
        self.connections
            .iter()
            .filter(|c| c.user.id == user_id)
            .count()
    }

    fn same_user(&self, user_id: &str, except: &str) -> Vec<Connection> {
        self.connections
            .iter()
            .filter(|c| c.user.id == user_id && c.id != except)
            .cloned()
            .collect()
    }

    fn join(&mut self, user: usize, limits: &Limits) -> Vec<Outbound> {
        self.next_id += 1;
        let joining = room::Joining {
            principal: crate::auth::Principal {
                user_id: format!("u{user}"),
                name: format!("U{user}"),
                avatar_url: None,
                workspace_id: "ws".into(),
                role: Role::Member,
                expires_at: i64::MAX / 1000,
            },
            since: None,
            dev_tokens: false,
        };
        let live = self.connections.clone();
        let live = move || live.clone();
        let snapshot = room::ConnectSnapshot {
            now_ms: self.now,
            limits,
            kind: RoomKind::Task,
            connection_id: format!("c{}", self.next_id),
            joining: &joining,
            task_gone: false,
            open_sockets: self.connections.len(),
            room_sockets: self.connections.len(),
            listed: self.listed.values().cloned().collect(),
            live: &live,
            same_user: self.same_user(&joining.principal.user_id, ""),
            connect_window: None,
            cooling_ms: None,
            returning: self
                .departures
                .iter()
                .find(|d| d.user_id == joining.principal.user_id)
                .cloned(),
            log: room::LogView::default(),
            task_presence: Default::default(),
        };
        match room::on_connect(snapshot) {
            room::Connected::Accepted { effects, .. } => self.carry_out(effects, limits),
            _ => Vec::new(),
        }
    }

    fn close(&mut self, connection_id: &str, limits: &Limits) -> Vec<Outbound> {
        let Some(index) = self.connections.iter().position(|c| c.id == connection_id) else {
            return Vec::new();
        };
        let gone = self.connections.remove(index);
        let same_user = self.same_user(&gone.user.id, &gone.id);
        if same_user.is_empty() {
            self.gone_users.push(gone.user.id.clone());
        }
        let effects = room::on_close(room::CloseSnapshot {
            gone: &gone,
            same_user: &same_user,
            now_ms: self.now,
            limits,
            kind: RoomKind::Task,
        });
        self.carry_out(effects, limits)
    }

    fn frame(&mut self, index: usize, text: &str, limits: &Limits) -> Vec<Outbound> {
        let snapshot = room::FrameSnapshot {
            connection: &self.connections[index].clone(),
            now_ms: self.now,
            limits,
            kind: RoomKind::Task,
        };
        let effects = room::on_frame(snapshot, Frame::Text(text));
        self.carry_out(effects, limits)
    }

    fn alarm(&mut self, limits: &Limits) -> Vec<Outbound> {
        let effects = room::on_alarm(room::AlarmSnapshot {
            now_ms: self.now,
            kind: RoomKind::Task,
            connections: self.connections.clone(),
            departures: self.departures.clone(),
            held_presence_due: None,
            analytics_day: None,
            doc_connections: Vec::new(),
            unsaved: None,
        });
        self.carry_out(effects, limits)
    }

    /// What the glue does with effects: attachments, storage, then frames, where a close
    /// makes the connection leave.
    fn carry_out(&mut self, effects: room::Effects, limits: &Limits) -> Vec<Outbound> {
        for connection in effects.attachments {
            match self.connections.iter_mut().find(|c| c.id == connection.id) {
                Some(slot) => *slot = connection,
                None => self.connections.push(connection),
            }
        }
        for write in effects.storage {
            self.store(write);
        }
        let mut sent = Vec::new();
        for frame in effects.frames {
            if let Outbound::Close { connection_id, .. } = &frame {
                let connection_id = connection_id.clone();
                sent.push(frame);
                sent.extend(self.close(&connection_id, limits));
            } else {
                sent.push(frame);
            }
        }
        sent
    }

    fn store(&mut self, write: room::StorageWrite) {
        use room::StorageWrite::*;
        match write {
            Presence { user_id, entry } => {
                match entry {
                    Some(entry) => self.listed.insert(user_id, entry),
                    None => self.listed.remove(&user_id),
                };
            }
            PresenceFromSockets { user_id } => {
                let theirs = self.same_user(&user_id, "");
                self.store(Presence {
                    entry: room::entry_of(&theirs),
                    user_id,
                });
            }
            DepartureOf { user_id, departure } => {
                self.departures.retain(|d| d.user_id != user_id);
                self.departures.extend(departure);
            }
            Departures(all) => self.departures = all,
            _ => {}
        }
    }
}

/// One step of a random room history.
#[derive(Debug, Clone)]
enum Step {
    Join { user: usize },
    Leave { pick: usize },
    Frame { pick: usize, text: String },
    Wait { ms: i64 },
}

fn any_step() -> impl Strategy<Value = Step> {
    let frame = prop_oneof![
        Just(r#"{"type":"typing","field":"title","active":true}"#.to_owned()),
        Just(r#"{"type":"typing","field":"title","active":false}"#.to_owned()),
        Just(r#"{"type":"editing","field":"description"}"#.to_owned()),
        Just(r#"{"type":"editing","field":null}"#.to_owned()),
        Just(r#"{"type":"ping","id":1}"#.to_owned()),
        ".{0,30}",
    ];
    prop_oneof![
        (0usize..4).prop_map(|user| Step::Join { user }),
        any::<usize>().prop_map(|pick| Step::Leave { pick }),
        (any::<usize>(), frame).prop_map(|(pick, text)| Step::Frame { pick, text }),
        (0i64..4000).prop_map(|ms| Step::Wait { ms }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Presence counts always equal the real connections per user; `user_left` goes out only
    /// for a user with no connection left, only after their grace period, and at most once
    /// per departure; `user_joined` only for a user who was not present. Driven through the
    /// room's entry points, with a closed connection leaving as the glue makes it leave.
    #[test]
    fn presence_invariants_hold(steps in prop::collection::vec(any_step(), 1..60)) {
        let limits = Limits { grace_ms: 1000, typing_ttl_ms: 500, ..Limits::default() };
        let mut room = SimRoom::default();
        let mut last_gone: std::collections::HashMap<String, i64> = Default::default();
        let mut visible: std::collections::HashSet<String> = Default::default();
        for step in steps {
            let outbounds = match step {
                Step::Join { user } => room.join(user, &limits),
                Step::Leave { pick } if !room.connections.is_empty() => {
                    let gone = room.connections[pick % room.connections.len()].id.clone();
                    room.close(&gone, &limits)
                }
                Step::Frame { pick, text } if !room.connections.is_empty() => {
                    let index = pick % room.connections.len();
                    room.frame(index, &text, &limits)
                }
                Step::Wait { ms } => {
                    room.now += ms;
                    room.alarm(&limits)
                }
                _ => Vec::new(),
            };
            let now = room.now;
            for user in room.gone_users.drain(..) {
                last_gone.insert(user, now);
            }
            for outbound in &outbounds {
                match outbound {
                    Outbound::Others(ServerMessage::UserJoined { user, .. }) => {
                        prop_assert!(visible.insert(user.id.clone()), "{} joined twice", user.id);
                    }
                    Outbound::All(ServerMessage::PresenceDiff { joins, leaves })
                    | Outbound::Others(ServerMessage::PresenceDiff { joins, leaves }) => {
                        prop_assert!(leaves.is_empty());
                        for entry in joins {
                            let real = room.count_of(&entry.user.id);
                            prop_assert_eq!(entry.connections, real, "a diff carries the true count");
                        }
                    }
                    Outbound::All(ServerMessage::UserLeft { user_id }) => {
                        prop_assert!(room.count_of(user_id) == 0, "{} left while connected", user_id);
                        let gone_at = last_gone[user_id];
                        prop_assert!(now - gone_at >= limits.grace_ms, "{} left before the grace period", user_id);
                        prop_assert!(visible.remove(user_id), "{} left twice", user_id);
                    }
                    _ => {}
                }
            }
            for entry in room::presence(&room.connections) {
                prop_assert_eq!(entry.connections, room.count_of(&entry.user.id));
                prop_assert!(entry.connections > 0);
                prop_assert_eq!(room.listed.get(&entry.user.id), Some(&entry), "the stored list follows");
            }
            prop_assert_eq!(room.listed.len(), room::presence(&room.connections).len());
            if let Some(at) = room::next_alarm(&room.connections, &room.departures, None) {
                prop_assert!(at >= now - limits.typing_ttl_ms.max(limits.grace_ms));
            }
        }
    }

    /// Durable events numbered by `events_for_change` rise by exactly one, change after change.
    #[test]
    fn seqs_strictly_increase(statuses in prop::collection::vec(0usize..5, 1..30)) {
        let all = crate::task::Status::ALL;
        let mut task = base_task();
        let mut seq = 0u64;
        for index in statuses {
            let previous = task.status;
            let patch = TaskChanges::for_patch(&json!({"status": all[index].as_str()})).unwrap();
            let changed = task.apply(patch, "2026-01-02T00:00:00.000Z");
            let change = crate::task::Change {
                kind: crate::task::ChangeKind::Updated,
                task: task.clone(),
                changed: changed.iter().map(|s| (*s).to_owned()).collect(),
                previous_status: Some(previous),
                actor_id: "u".into(),
                actor_name: "U".into(),
                at: "2026-01-02T00:00:00.000Z".into(),
                editors: Vec::new(),
            };
            for event in room::events_for_change(&change, seq + 1) {
                let next = event.seq().unwrap();
                prop_assert_eq!(next, seq + 1);
                seq = next;
            }
        }
    }

    /// Batching loses, repeats and reorders nothing, and only a lone oversized event may
    /// exceed the byte cap.
    #[test]
    fn batching_is_lossless_and_capped(
        titles in prop::collection::vec("[a-z\\\\\"é ]{0,60}", 0..80),
        max_events in 1usize..20,
        max_bytes in 50usize..2_000,
    ) {
        let events: Vec<String> = titles
            .iter()
            .enumerate()
            .map(|(index, title)| {
                ServerMessage::Error { code: "x".into(), message: title.clone(), id: Some(json!(index)) }.to_json()
            })
            .collect();
        let frames = batch_frames(&events, max_events, max_bytes);
        let mut unpacked = Vec::new();
        for frame in &frames {
            match serde_json::from_str::<ServerMessage>(frame).unwrap() {
                ServerMessage::Batch { events: inner } => {
                    prop_assert!(inner.len() >= 2 && inner.len() <= max_events);
                    prop_assert!(frame.len() <= max_bytes);
                    unpacked.extend(inner.into_iter().map(|e| e.to_json()));
                }
                _ => unpacked.push(frame.clone()),
            }
        }
        prop_assert_eq!(unpacked, events);
    }
}
