//! What one user may cost a room: frames per second counted per user (all their sockets
//! together), and a cool-down after they go over.
//!
//! The room keeps these in memory, and checks them before it reads anything else about a
//! frame, so a frame it drops costs it next to nothing. A user over the limit is closed at
//! once (1008, all their sockets of that kind), and their connects are refused (4029) until
//! the cool-down ends: 10 s the first time, doubling each time they do it again, at most
//! 5 minutes; an hour of good behaviour forgets it. (An evicted room forgets too, which only
//! an idle room can be.)

use super::effects::Effects;
use super::Outbound;
use crate::protocol::{close, codes, ServerMessage};

/// The first cool-down, and the longest.
pub const FIRST_COOLDOWN_MS: i64 = 10_000;
pub const LONGEST_COOLDOWN_MS: i64 = 300_000;
/// Offences older than this are forgotten.
const FORGET_AFTER_MS: i64 = 3_600_000;

/// One user's frames in the current second, and their standing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserBudget {
    pub window_start_ms: i64,
    pub frames: u32,
    /// Until when their frames are dropped and their connects refused.
    pub cooldown_until_ms: i64,
    /// How many times they went over (for the next cool-down's length).
    pub offences: u32,
    pub last_offence_ms: i64,
}

/// What to do with one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// Within the budget: handle it.
    Take,
    /// The user is cooling down (their sockets are closing): drop it unread.
    Drop,
    /// This frame went over: close the user's sockets, refuse connects for `cooldown_ms`.
    Over { cooldown_ms: i64 },
}

impl UserBudget {
    /// Counts one frame at `now_ms` against `per_sec`.
    pub fn spend(&mut self, now_ms: i64, per_sec: u32) -> Spend {
        if now_ms < self.cooldown_until_ms {
            return Spend::Drop;
        }
        if now_ms - self.window_start_ms >= 1000 {
            self.window_start_ms = now_ms;
            self.frames = 0;
        }
        self.frames += 1;
        if self.frames <= per_sec {
            return Spend::Take;
        }
        if now_ms - self.last_offence_ms > FORGET_AFTER_MS {
            self.offences = 0;
        }
        self.offences += 1;
        self.last_offence_ms = now_ms;
        let cooldown_ms = cooldown_ms(self.offences);
        self.cooldown_until_ms = now_ms + cooldown_ms;
        self.frames = 0;
        Spend::Over { cooldown_ms }
    }

    /// How long connects are still refused, if they are.
    pub fn cooling(&self, now_ms: i64) -> Option<i64> {
        (now_ms < self.cooldown_until_ms).then(|| self.cooldown_until_ms - now_ms)
    }

    /// Whether forgetting this user changes nothing (a quiet window, no cool-down, no
    /// offence worth remembering).
    pub fn is_idle(&self, now_ms: i64) -> bool {
        now_ms - self.window_start_ms >= 1000
            && self.cooling(now_ms).is_none()
            && (self.offences == 0 || now_ms - self.last_offence_ms > FORGET_AFTER_MS)
    }
}

/// The `n`-th cool-down: 10 s, doubling, at most 5 minutes.
pub fn cooldown_ms(offences: u32) -> i64 {
    let doublings = offences.saturating_sub(1).min(10);
    (FIRST_COOLDOWN_MS << doublings).min(LONGEST_COOLDOWN_MS)
}

/// A user went over: the socket that did it hears why, and every socket of theirs (of this
/// kind) closes with 1008.
pub fn over_budget(connection_ids: &[String], per_sec: u32, cooldown_ms: i64) -> Effects {
    let seconds = cooldown_ms / 1000;
    let mut frames = vec![Outbound::Reply(ServerMessage::error(
        codes::RATE_LIMITED,
        format!(
            "more than {per_sec} messages in a second from one user; your connections close, \
             and reconnecting is refused for {seconds} s"
        ),
        None,
    ))];
    frames.extend(connection_ids.iter().map(|id| Outbound::Close {
        connection_id: id.clone(),
        code: close::POLICY,
        reason: format!("rate limit exceeded; retry after {seconds} s"),
    }));
    Effects::frames(frames)
}

/// The reason a connect during a cool-down is refused with (4029).
pub fn cooling_reason(retry_after_ms: i64) -> String {
    format!(
        "cooling down after a flood; retry after {} s",
        (retry_after_ms + 999) / 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_window_over_closes_and_cools_down() {
        let mut budget = UserBudget::default();
        for _ in 0..20 {
            assert_eq!(budget.spend(5_000, 20), Spend::Take);
        }
        assert_eq!(
            budget.spend(5_100, 20),
            Spend::Over {
                cooldown_ms: FIRST_COOLDOWN_MS
            }
        );
        assert_eq!(
            budget.spend(5_200, 20),
            Spend::Drop,
            "its sockets are closing"
        );
        assert_eq!(budget.cooling(6_000), Some(9_100));
        assert_eq!(budget.cooling(15_100), None);
        assert_eq!(
            budget.spend(15_100, 20),
            Spend::Take,
            "back after the cool-down"
        );
    }

    #[test]
    fn repeat_offences_cool_down_longer_and_are_forgotten_in_an_hour() {
        let mut budget = UserBudget::default();
        let mut now = 0;
        let mut cooldowns = Vec::new();
        for _ in 0..7 {
            let mut spent = Spend::Take;
            while spent == Spend::Take {
                spent = budget.spend(now, 5);
            }
            let Spend::Over { cooldown_ms } = spent else {
                panic!("{spent:?}");
            };
            cooldowns.push(cooldown_ms);
            now += cooldown_ms;
        }
        assert_eq!(
            cooldowns,
            [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]
        );
        now += 3_600_001;
        assert!(budget.is_idle(now));
        let mut spent = Spend::Take;
        while spent == Spend::Take {
            spent = budget.spend(now, 5);
        }
        assert_eq!(
            spent,
            Spend::Over {
                cooldown_ms: 10_000
            },
            "forgiven"
        );
    }

    #[test]
    fn going_over_tells_the_sender_and_closes_every_socket() {
        let ids = ["a1".to_owned(), "a2".to_owned()];
        let effects = over_budget(&ids, 20, 10_000);
        assert!(matches!(
            &effects.frames[0],
            Outbound::Reply(ServerMessage::Error { code, .. }) if code == codes::RATE_LIMITED
        ));
        let closed: Vec<(&str, u16)> = effects.frames[1..]
            .iter()
            .map(|frame| match frame {
                Outbound::Close {
                    connection_id,
                    code,
                    ..
                } => (connection_id.as_str(), *code),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(closed, [("a1", close::POLICY), ("a2", close::POLICY)]);
        assert_eq!(
            cooling_reason(9_001),
            "cooling down after a flood; retry after 10 s"
        );
    }
}
