//! A new connection: whether the room takes it, how its `since` is honoured, and the order
//! of its first frames.
//!
//! The order is fixed: `welcome` (with the room's `seq` and the full presence list), then the
//! replayed events, then `resync` when `since` could not be honoured; only then do the
//! others hear of the join. A client therefore always knows where it stands before the
//! first live event reaches it.

use serde::{Deserialize, Serialize};

use super::presence::{join, presence};
use super::{Connection, Departure, Limits, Outbound};
use crate::protocol::{close, PresenceEntry, ServerMessage, PROTOCOL_VERSION};

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

/// Everything a new connection causes, in the order it must happen: see the module doc.
/// `same_user` is the user's other connections (not `new`); `room_presence` is the room's
/// list as it stood (the user's entry in it is replaced); `replay` holds the stored frames
/// after `since` when `resume` is a replay. Updates `departures` (a returning user's
/// pending `user_left` is cancelled). Reads nobody else's connection.
pub fn greeting(
    new: &Connection,
    same_user: &[Connection],
    room_presence: Vec<PresenceEntry>,
    departures: &mut Vec<Departure>,
    seq: u64,
    resume: &Resume,
    replay: Vec<String>,
) -> Vec<Outbound> {
    let joined = join(same_user, departures, new);
    let mut theirs = same_user.to_vec();
    theirs.push(new.clone());
    let mut list: Vec<PresenceEntry> = room_presence
        .into_iter()
        .filter(|entry| entry.user.id != new.user.id)
        .chain(presence(&theirs))
        .collect();
    list.sort_by(|a, b| a.user.id.cmp(&b.user.id));
    let mut out = vec![Outbound::Reply(ServerMessage::Welcome {
        protocol: PROTOCOL_VERSION,
        connection_id: new.id.clone(),
        user: new.user.clone(),
        presence: list,
        seq,
        resumed: matches!(resume, Resume::Replay { .. }),
        replayed: replay.len() as u64,
        task_presence: None,
    })];
    out.extend(
        crate::protocol::batch_frames(
            &replay,
            crate::protocol::BATCH_MAX_EVENTS,
            crate::protocol::BATCH_MAX_BYTES,
        )
        .into_iter()
        .map(Outbound::ReplyFrame),
    );
    if let Resume::Resync { reason } = resume {
        out.push(Outbound::Reply(ServerMessage::Resync {
            reason: reason.clone(),
            seq,
        }));
    }
    out.extend(joined);
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::conn;
    use super::*;

    #[test]
    fn a_second_tab_replaces_its_users_entry_in_the_welcome_list() {
        let a1 = conn("a1", "ana");
        let room = presence(&[conn("b1", "bo"), a1.clone()]);
        let out = greeting(
            &conn("a2", "ana"),
            std::slice::from_ref(&a1),
            room,
            &mut Vec::new(),
            0,
            &Resume::Fresh,
            Vec::new(),
        );
        match &out[0] {
            Outbound::Reply(ServerMessage::Welcome { presence, .. }) => {
                let counts: Vec<(&str, usize)> = presence
                    .iter()
                    .map(|e| (e.user.id.as_str(), e.connections))
                    .collect();
                assert_eq!(counts, [("ana", 2), ("bo", 1)]);
            }
            other => panic!("{other:?}"),
        }
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
    fn the_cap_refuses_with_1013_and_one_user_is_held_to_their_share() {
        let limits = Limits {
            max_connections: 5,
            max_connections_per_user: 2,
            connects_per_minute: 3,
            ..Limits::default()
        };
        let once = count_connect(None, 0);
        assert!(admission(1, 1, once, &limits).is_ok());
        assert_eq!(
            admission(5, 0, once, &limits),
            Err((close::TRY_AGAIN_LATER, "room is full"))
        );
        assert_eq!(
            admission(2, 2, once, &limits).unwrap_err().0,
            close::TOO_MANY_FOR_USER
        );
        // the fourth connect within a minute is refused; a minute later counting restarts
        let mut window = once;
        for at in [10, 20, 30] {
            window = count_connect(Some(window), at);
        }
        assert_eq!(window.count, 4);
        assert_eq!(
            admission(1, 0, window, &limits),
            Err((close::TOO_MANY_FOR_USER, "too many connects this minute"))
        );
        assert_eq!(count_connect(Some(window), 60_001).count, 1);
    }

    #[test]
    fn a_resumed_connection_gets_welcome_then_replay_then_the_others_hear() {
        let room = presence(&[conn("b1", "bo")]);
        let new = conn("a1", "ana");
        let mut departures = Vec::new();
        let replay = vec![r#"{"seq":4}"#.to_owned(), r#"{"seq":5}"#.to_owned()];
        let out = greeting(
            &new,
            &[],
            room,
            &mut departures,
            5,
            &Resume::Replay { since: 3 },
            replay,
        );
        match &out[..] {
            [Outbound::Reply(ServerMessage::Welcome {
                seq: 5,
                resumed: true,
                replayed: 2,
                presence,
                ..
            }), Outbound::ReplyFrame(batch), Outbound::Others(ServerMessage::UserJoined { .. })] => {
                assert_eq!(presence.len(), 2);
                assert!(batch.contains(r#"{"seq":4},{"seq":5}"#), "{batch}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn resync_comes_after_the_welcome_and_before_the_join() {
        let resume = Resume::Resync {
            reason: "too old".into(),
        };
        let out = greeting(
            &conn("a1", "ana"),
            &[],
            Vec::new(),
            &mut Vec::new(),
            9,
            &resume,
            Vec::new(),
        );
        let kinds: Vec<&str> = out
            .iter()
            .map(|o| match o {
                Outbound::Reply(ServerMessage::Welcome { resumed: false, .. }) => "welcome",
                Outbound::Reply(ServerMessage::Resync { seq: 9, .. }) => "resync",
                Outbound::Others(ServerMessage::UserJoined { .. }) => "joined",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["welcome", "resync", "joined"]);
    }
}
