//! Every user's frame budget in this room, in memory (see `hero_core::room::UserBudget`):
//! checked from a socket's tags alone, before its attachment is read, so a frame that is
//! dropped costs the room a map lookup. Room frames and document frames are budgeted apart.

use std::cell::RefCell;
use std::collections::HashMap;

use hero_core::room::{Spend, UserBudget};

/// More users than this remembered: the idle ones are forgotten.
const REMEMBER: usize = 2_000;

#[derive(Default)]
pub struct Budgets {
    users: RefCell<HashMap<String, UserBudget>>,
}

impl Budgets {
    /// One frame from the user behind `user_tag` (a socket's `user:` or `doc-user:` tag).
    pub fn spend(&self, user_tag: &str, now_ms: i64, per_sec: u32) -> Spend {
        let mut users = self.users.borrow_mut();
        if users.len() > REMEMBER {
            users.retain(|_, budget| !budget.is_idle(now_ms));
        }
        users
            .entry(user_tag.to_owned())
            .or_default()
            .spend(now_ms, per_sec)
    }

    /// How long this user's connects are still refused, if they are.
    pub fn cooling(&self, user_tag: &str, now_ms: i64) -> Option<i64> {
        self.users
            .borrow()
            .get(user_tag)
            .and_then(|budget| budget.cooling(now_ms))
    }
}
