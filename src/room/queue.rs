//! A task room's write queue, in memory: writes wait here while a commit is in flight, and
//! the next commit takes them together (see `super::write`). In memory on purpose: a write
//! in progress keeps the room awake, and an evicted room has none. (Idempotency keys are
//! claimed in D1 by the Worker before a write comes here, across every task.)

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use futures::channel::oneshot;

use crate::runtime::Stages;
use hero_core::room::{WriteReply, WriteRequest};
use hero_core::task::TaskChanges;

/// The most writes one commit carries (two statements each in a D1 batch).
pub const GROUP_MAX: usize = 32;

/// A write waiting for its turn, and where its answer goes.
pub struct QueuedWrite {
    /// The parsed patch (`None`: a delete).
    pub changes: Option<TaskChanges>,
    pub request: WriteRequest,
    pub request_id: String,
    /// How many times it was decided against a copy of the task that turned out stale.
    pub attempts: u8,
    pub enqueued_ms: i64,
    pub answer: oneshot::Sender<(WriteReply, Stages)>,
}

impl QueuedWrite {
    /// Answers the writer, with where its time went (its wait in the queue first).
    pub fn answer(self, reply: WriteReply, stages: &Stages) {
        let started = stages.started_at().unwrap_or_else(crate::runtime::now_ms);
        let mut all = Stages::default();
        all.record("queue", started - self.enqueued_ms);
        for (name, ms) in stages.marks() {
            all.record(name, ms);
        }
        let _ = self.answer.send((reply, all));
    }
}

#[derive(Default)]
pub struct WriteQueue {
    waiting: RefCell<VecDeque<QueuedWrite>>,
    /// Whether a writer is committing for everyone queued.
    committing: Cell<bool>,
}

impl WriteQueue {
    pub fn push(&self, write: QueuedWrite) {
        self.waiting.borrow_mut().push_back(write);
    }

    /// Writes to decide again before anything else, in their order.
    pub fn push_front(&self, writes: Vec<QueuedWrite>) {
        let mut waiting = self.waiting.borrow_mut();
        for write in writes.into_iter().rev() {
            waiting.push_front(write);
        }
    }

    /// The next group to commit (empty: the queue is drained).
    pub fn next_group(&self) -> Vec<QueuedWrite> {
        let mut waiting = self.waiting.borrow_mut();
        let take = waiting.len().min(GROUP_MAX);
        waiting.drain(..take).collect()
    }

    /// Everything still queued, when the commit under way failed.
    pub fn drain(&self) -> Vec<QueuedWrite> {
        self.waiting.borrow_mut().drain(..).collect()
    }

    /// `true`: the caller commits for everyone queued until the queue is empty, then calls
    /// [`Self::done_committing`]. `false`: someone already is.
    pub fn start_committing(&self) -> bool {
        !self.committing.replace(true)
    }

    pub fn done_committing(&self) {
        self.committing.set(false);
    }
}
