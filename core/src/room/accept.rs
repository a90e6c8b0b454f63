//! A new connection: whether the room takes it, how its `since` is honoured, and the order
//! of its first frames.
//!
//! The order is fixed: `welcome` (with the room's `seq` and the full presence list), then the
//! replayed events, then `resync` when `since` could not be honoured; only then do the
//! others hear of the join. A client therefore always knows where it stands before the
//! first live event reaches it.

use super::presence::{join, presence};
use super::{Connection, Departure, Limits, Outbound};
use crate::protocol::{close, ServerMessage};

/// Whether a room with `open_connections` sockets takes one more; if not, the close code and
/// reason the new socket gets right after its upgrade.
pub fn admission(open_connections: usize, limits: &Limits) -> Result<(), (u16, &'static str)> {
    if open_connections >= limits.max_connections {
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
/// `existing` does not include `new`; `replay` holds the stored frames after `since` when
/// `resume` is a replay. Updates `departures` (a returning user's pending `user_left` is
/// cancelled).
pub fn greeting(
    new: &Connection,
    existing: &[Connection],
    departures: &mut Vec<Departure>,
    seq: u64,
    resume: &Resume,
    replay: Vec<String>,
) -> Vec<Outbound> {
    let joined = join(existing, departures, new);
    let mut everyone = existing.to_vec();
    everyone.push(new.clone());
    let mut out = vec![Outbound::Reply(ServerMessage::Welcome {
        connection_id: new.id.clone(),
        user: new.user.clone(),
        presence: presence(&everyone),
        seq,
        resumed: matches!(resume, Resume::Replay { .. }),
        replayed: replay.len() as u64,
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
    fn the_cap_refuses_with_1013() {
        let limits = Limits {
            max_connections: 2,
            ..Limits::default()
        };
        assert!(admission(1, &limits).is_ok());
        assert_eq!(
            admission(2, &limits),
            Err((close::TRY_AGAIN_LATER, "room is full"))
        );
    }

    #[test]
    fn a_resumed_connection_gets_welcome_then_replay_then_the_others_hear() {
        let existing = [conn("b1", "bo")];
        let new = conn("a1", "ana");
        let mut departures = Vec::new();
        let replay = vec![r#"{"seq":4}"#.to_owned(), r#"{"seq":5}"#.to_owned()];
        let out = greeting(
            &new,
            &existing,
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
