//! Getting frames out at the room's pace: the outbox and its pacer, in memory.
//!
//! - Durable events are stored in the log first, then wait here for the next flush, which
//!   sends them in as few frames as the caps allow. A quiet room flushes at once. A busy one
//!   keeps to its frame budget ([`hero_core::room::broadcast_delay_ms`]): the flush waits for
//!   the rest of the gap (at most 100 ms, once, never a repeating timer, so it cannot keep an
//!   idle room awake), and everything published meanwhile leaves with it as one `batch`.
//!   Events wait only while such a flush is pending, so nothing is left unsent when a room
//!   hibernates.
//! - Presence changes go out at once in a quiet room, or are held back and merged into one
//!   `presence_diff` in a busy one ([`hero_core::room::presence_delay_ms`]). A held-back
//!   diff is stored with its due time and the storage alarm sends it, so nothing is lost if
//!   the room hibernates meanwhile.
//! - A board's figures follow its events out.
//!
//! Losing this state (eviction) loses no event: it only means one unpaced broadcast.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use worker::WebSocket;

use super::error::RoomResult;
use super::sockets::Sockets;
use super::storage::RoomStorage;
use crate::runtime::now_ms;
use hero_core::analytics::Analytics;
use hero_core::protocol::{batch_frames, close, ServerMessage, BATCH_MAX_BYTES, BATCH_MAX_EVENTS};
use hero_core::room::{
    broadcast_delay_ms, day_number, presence_delay_ms, Limits, PendingPresence, RoomKind,
};

/// What getting frames out needs from the room, owned, so a flush that waits can keep it.
#[derive(Clone)]
pub struct Delivery {
    pub sockets: Sockets,
    pub storage: RoomStorage,
    pub limits: Limits,
    pub kind: RoomKind,
}

#[derive(Default)]
pub struct Outbox {
    /// Events in the log that the next flush sends.
    unsent: RefCell<Vec<String>>,
    /// A flush is waiting out the frame budget; what is published meanwhile goes with it.
    waiting: Cell<bool>,
    /// The task was deleted: every socket closes once the last events are out.
    close_after_flush: Cell<bool>,
    /// When the last durable events went out, and to how many sockets.
    last_broadcast: Cell<Option<(i64, usize)>>,
    /// When presence last went out.
    last_presence: Cell<Option<i64>>,
}

impl Outbox {
    /// Queues events (already in the log) and flushes now, or once the budget allows.
    pub fn publish(self: &Rc<Self>, events: Vec<String>, close_everyone: bool, to: &Delivery) {
        self.unsent.borrow_mut().extend(events);
        if close_everyone {
            self.close_after_flush.set(true);
        }
        if self.waiting.get() {
            return; // the flush that is waiting takes these along
        }
        let wait = self.last_broadcast.get().map_or(0, |(at_ms, sockets)| {
            broadcast_delay_ms(now_ms(), Some(at_ms), sockets, to.limits.frames_per_sec)
        });
        if wait == 0 {
            self.flush(to);
            return;
        }
        self.waiting.set(true);
        let (outbox, to) = (Rc::clone(self), to.clone());
        to.sockets.clone().later(async move {
            worker::Delay::from(std::time::Duration::from_millis(wait as u64)).await;
            outbox.waiting.set(false);
            outbox.flush(&to);
        });
    }

    /// Sends what is queued, whatever the budget says.
    fn flush(&self, to: &Delivery) {
        let events = std::mem::take(&mut *self.unsent.borrow_mut());
        if !events.is_empty() {
            let mut count = 0;
            for frame in batch_frames(&events, BATCH_MAX_EVENTS, BATCH_MAX_BYTES) {
                count = to.sockets.broadcast(&frame, None);
            }
            self.last_broadcast.set(Some((now_ms(), count)));
            if to.kind == RoomKind::Board && count > 0 {
                send_figures(to, None);
            }
        }
        if self.close_after_flush.take() {
            to.sockets.close_all(close::TASK_DELETED, "task deleted");
            if let Err(error) = to
                .storage
                .save_departures(&[])
                .and_then(|_| to.storage.clear_presence())
            {
                tracing::error!(cause = %error, "room departures after delete");
            }
        }
    }

    /// Sends a presence change now, or holds it back for the next diff (see the module
    /// doc). `skip` is the connection it need not reach. Returns when a held diff is due.
    pub fn presence(
        &self,
        message: ServerMessage,
        skip: Option<&str>,
        to: &Delivery,
    ) -> RoomResult<Option<i64>> {
        let now = now_ms();
        let limits = &to.limits;
        let delay = presence_delay_ms(
            now,
            self.last_presence.get(),
            to.sockets.count_room(),
            limits.frames_per_sec,
            (limits.presence_batch_above, limits.presence_gap_ms),
        );
        let pending = to.storage.pending_presence()?;
        if delay == 0 && pending.is_none() {
            to.sockets.broadcast(&message.to_json(), skip);
            self.last_presence.set(Some(now));
            return Ok(None);
        }
        let (mut held, due) =
            pending.unwrap_or_else(|| (PendingPresence::default(), now + delay.max(1)));
        held.add(&message);
        to.storage.save_pending_presence(Some((&held, due)))?;
        Ok(Some(due))
    }

    /// Sends the held-back presence diff (it is due).
    pub fn flush_held_presence(&self, to: &Delivery) -> RoomResult<()> {
        let Some((held, _)) = to.storage.pending_presence()? else {
            return Ok(());
        };
        to.storage.save_pending_presence(None)?;
        if !held.is_empty() {
            to.sockets.broadcast(&held.into_message().to_json(), None);
            self.last_presence.set(Some(now_ms()));
        }
        Ok(())
    }
}

/// A board's figures from its own counts, to one new connection or to everyone. No D1
/// query. Sent to everyone, it records the day they were made for, so the alarm knows when
/// the calendar alone has changed them.
pub fn send_figures(to: &Delivery, one: Option<&WebSocket>) {
    let now = now_ms();
    let today = chrono::DateTime::from_timestamp_millis(now)
        .unwrap_or_default()
        .date_naive();
    let counts = match to.storage.board_counts() {
        Ok(counts) => counts,
        Err(error) => {
            tracing::error!(cause = %error, "board analytics");
            return;
        }
    };
    let analytics = Analytics::from_buckets(&counts, today);
    let frame = ServerMessage::Analytics { analytics }.to_json();
    match one {
        Some(ws) => {
            let _ = ws.send_with_str(frame);
        }
        None => {
            to.sockets.broadcast(&frame, None);
            if let Err(error) = to.storage.set_analytics_day(day_number(now)) {
                tracing::error!(cause = %error, "board analytics day");
            }
        }
    }
}
