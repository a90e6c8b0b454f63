//! Typing and editing, coalesced per user: at most one change per user every
//! [`EPHEMERAL_GAP_MS`] goes out, the last one winning. A user flipping `typing` between
//! fields, or on and off, as fast as their budget allows costs the room one frame per
//! listener every quarter second, not two per frame they send; and a change undone before
//! it went out never goes out. The others hear only what differs from what they were last
//! told.
//!
//! In memory (the room's outbox holds it): after a wake the room may tell someone again
//! what they knew, which is harmless.

use std::collections::{BTreeMap, BTreeSet};

use crate::protocol::ServerMessage;

/// One user's typing and editing go out at most this often.
pub const EPHEMERAL_GAP_MS: i64 = 250;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ephemeral {
    users: BTreeMap<String, UserState>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct UserState {
    /// What the others were last told.
    told_typing: BTreeSet<String>,
    told_editing: Option<String>,
    /// What changed since, not told yet: per field, typing or not; the field edited.
    typing: BTreeMap<String, bool>,
    editing: Option<Option<String>>,
    last_sent_ms: Option<i64>,
    /// The connection the latest change came from: it need not hear it.
    skip: Option<String>,
}

impl UserState {
    fn pending(&self) -> bool {
        !self.typing.is_empty() || self.editing.is_some()
    }

    fn due_ms(&self, now_ms: i64) -> i64 {
        self.last_sent_ms
            .map_or(now_ms, |last| (last + EPHEMERAL_GAP_MS).max(now_ms))
    }

    /// The frames that tell the others what changed, and what they now know.
    fn take(&mut self, user_id: &str) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        for (field, active) in std::mem::take(&mut self.typing) {
            let told = self.told_typing.contains(&field);
            if active != told {
                if active {
                    self.told_typing.insert(field.clone());
                } else {
                    self.told_typing.remove(&field);
                }
                out.push(ServerMessage::Typing {
                    user_id: user_id.to_owned(),
                    field,
                    active,
                });
            }
        }
        if let Some(field) = self.editing.take().filter(|f| *f != self.told_editing) {
            self.told_editing = field.clone();
            out.push(ServerMessage::Editing {
                user_id: user_id.to_owned(),
                field,
            });
        }
        out
    }
}

impl Ephemeral {
    /// Takes a typing or editing message (from the connection `from`, or from the room
    /// itself); `None` when it is neither. Returns when its user's changes may go out.
    pub fn offer(
        &mut self,
        message: &ServerMessage,
        from: Option<&str>,
        now_ms: i64,
    ) -> Option<i64> {
        let (user_id, change): (&str, Change) = match message {
            ServerMessage::Typing {
                user_id,
                field,
                active,
            } => (user_id, Change::Typing(field.clone(), *active)),
            ServerMessage::Editing { user_id, field } => (user_id, Change::Editing(field.clone())),
            _ => return None,
        };
        let state = self.users.entry(user_id.to_owned()).or_default();
        match change {
            Change::Typing(field, active) => {
                state.typing.insert(field, active);
            }
            Change::Editing(field) => state.editing = Some(field),
        }
        state.skip = from.map(str::to_owned);
        Some(state.due_ms(now_ms))
    }

    /// The frames due at `now_ms`, each with the connection it need not reach; and when the
    /// next ones are due, if any wait.
    pub fn take_due(&mut self, now_ms: i64) -> (Vec<(ServerMessage, Option<String>)>, Option<i64>) {
        let mut out = Vec::new();
        let mut next: Option<i64> = None;
        for (user_id, state) in &mut self.users {
            if !state.pending() {
                continue;
            }
            let due = state.due_ms(now_ms);
            if due > now_ms {
                next = Some(next.map_or(due, |n| n.min(due)));
                continue;
            }
            let skip = state.skip.take();
            let frames = state.take(user_id);
            if !frames.is_empty() {
                state.last_sent_ms = Some(now_ms);
            }
            out.extend(frames.into_iter().map(|frame| (frame, skip.clone())));
        }
        // Nobody needs to remember a user the others know nothing about.
        self.users
            .retain(|_, s| s.pending() || !s.told_typing.is_empty() || s.told_editing.is_some());
        (out, next)
    }

    /// When the next changes are due, if any wait.
    pub fn next_due(&self, now_ms: i64) -> Option<i64> {
        self.users
            .values()
            .filter(|s| s.pending())
            .map(|s| s.due_ms(now_ms))
            .min()
    }
}

enum Change {
    Typing(String, bool),
    Editing(Option<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typing(field: &str, active: bool) -> ServerMessage {
        ServerMessage::Typing {
            user_id: "ana".into(),
            field: field.into(),
            active,
        }
    }

    #[test]
    fn the_first_change_goes_at_once_then_a_quarter_second_apart_last_wins() {
        let mut pacer = Ephemeral::default();
        assert_eq!(
            pacer.offer(&typing("title", true), Some("a1"), 1_000),
            Some(1_000)
        );
        let (sent, next) = pacer.take_due(1_000);
        assert_eq!(sent, [(typing("title", true), Some("a1".into()))]);
        assert_eq!(next, None);
        // A flurry: title off, description on, description off, tags on.
        for (field, active) in [
            ("title", false),
            ("description", true),
            ("description", false),
            ("tags", true),
        ] {
            assert_eq!(
                pacer.offer(&typing(field, active), Some("a2"), 1_050),
                Some(1_250)
            );
        }
        assert_eq!(pacer.take_due(1_100), (Vec::new(), Some(1_250)), "not yet");
        let (sent, _) = pacer.take_due(1_250);
        assert_eq!(
            sent,
            [
                (typing("tags", true), Some("a2".into())),
                (typing("title", false), Some("a2".into())),
            ],
            "the description came and went unseen"
        );
    }

    #[test]
    fn editing_and_a_room_made_change_reach_everyone() {
        let mut pacer = Ephemeral::default();
        let editing = |field: Option<&str>| ServerMessage::Editing {
            user_id: "ana".into(),
            field: field.map(str::to_owned),
        };
        pacer.offer(&editing(Some("title")), Some("a1"), 0);
        assert_eq!(
            pacer.take_due(0).0,
            [(editing(Some("title")), Some("a1".into()))]
        );
        // The room ends it (the socket closed): nobody is skipped.
        pacer.offer(&editing(None), None, 100);
        assert_eq!(pacer.take_due(250).0, [(editing(None), None)]);
        assert_eq!(
            pacer.offer(&ServerMessage::Pong { id: None }, None, 0),
            None,
            "not ephemeral"
        );
        // Told nothing, waiting for nothing: forgotten.
        assert_eq!(pacer.next_due(1_000), None);
        assert!(pacer.users.is_empty());
    }
}
