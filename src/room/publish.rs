//! Getting events out: the log is written first, then the events wait in a queue for the
//! next flush, which sends them in as few frames as the caps allow.
//!
//! A quiet room flushes at once. A busy one keeps to its frame budget
//! ([`hero_core::room::broadcast_delay_ms`]): the flush waits for the rest of the gap,
//! inside the request that is already running (never on a timer, so it cannot keep an idle
//! room awake), and everything appended meanwhile leaves with it as one `batch` frame.
//! Events can only be waiting while such a request runs, so nothing is left unsent when a
//! room hibernates.

use worker::Result;

use super::object::Room;
use super::sockets::Sockets;
use crate::runtime::now_ms;
use hero_core::analytics::Analytics;
use hero_core::protocol::{batch_frames, close, ServerMessage, BATCH_MAX_BYTES, BATCH_MAX_EVENTS};
use hero_core::room::{broadcast_delay_ms, day_number, plan_append, AppendPlan, RoomKey};
use hero_core::task::{Change, ChangeKind};
use worker::WebSocket;

impl Room {
    /// Applies committed changes (each with its cursor value: a change id in a task room, a
    /// `ws_seq` on a board) to the log and, on a board, to its counts; queues their events.
    /// Synchronous, so nothing else runs between reading the position and writing the log.
    pub(super) fn apply(&self, key: &RoomKey, changes: Vec<(i64, Change)>) -> Result<()> {
        let position = self.storage.position()?;
        let fresh: Vec<(i64, Change)> = changes
            .into_iter()
            .filter(|(cursor, _)| *cursor > position.change_cursor)
            .collect();
        if key.is_board() {
            for (_, change) in &fresh {
                self.count(change)?;
            }
        }
        let deleted: Vec<_> = fresh
            .iter()
            .filter(|(_, change)| key.is_board() && change.kind == ChangeKind::Deleted)
            .map(|(_, change)| change.task.id.clone())
            .collect();
        let plan = plan_append(position, fresh, key.is_board(), self.limits().log_size);
        self.record(&plan)?;
        // A deleted task's contents leave the board's log with it (the seqs stay), and
        // nobody is in its room any more.
        for task_id in deleted {
            self.storage.redact_task(&task_id)?;
            self.storage.forget_task_viewers(&task_id)?;
        }
        Ok(())
    }

    /// Stores what the plan says and queues its events for the next flush.
    fn record(&self, plan: &AppendPlan) -> Result<()> {
        self.storage.append(plan)?;
        self.unsent
            .borrow_mut()
            .extend(plan.events.iter().map(|(_, frame)| frame.clone()));
        if plan.close_everyone {
            self.close_after_flush.set(true);
        }
        Ok(())
    }

    /// Sends what is queued, when the room's frame budget allows (see the module doc).
    pub(super) async fn flush_paced(&self, key: &RoomKey) {
        if self.flush_waiting.get() {
            return; // the flush that is waiting takes these events along
        }
        if let Some((at_ms, sockets)) = self.last_broadcast.get() {
            let wait =
                broadcast_delay_ms(now_ms(), Some(at_ms), sockets, self.limits().frames_per_sec);
            if wait > 0 {
                self.flush_waiting.set(true);
                worker::Delay::from(std::time::Duration::from_millis(wait as u64)).await;
                self.flush_waiting.set(false);
            }
        }
        self.flush_now(key);
    }

    /// Sends what is queued now, whatever the budget says.
    pub(super) fn flush_now(&self, key: &RoomKey) {
        let events = std::mem::take(&mut *self.unsent.borrow_mut());
        let sockets = Sockets::of(&self.state);
        if !events.is_empty() {
            let mut count = 0;
            for frame in batch_frames(&events, BATCH_MAX_EVENTS, BATCH_MAX_BYTES) {
                count = sockets.broadcast(&frame, None);
            }
            self.last_broadcast.set(Some((now_ms(), count)));
            if key.is_board() && count > 0 {
                self.send_analytics(None);
            }
        }
        if self.close_after_flush.take() {
            sockets.close_all(close::TASK_DELETED, "task deleted");
            if let Err(error) = self
                .storage
                .save_departures(&[])
                .and_then(|_| self.storage.clear_presence())
            {
                tracing::error!(cause = %error, "room departures after delete");
            }
        }
    }

    /// Board only: the workspace report from the board's own counts, to everyone or to one
    /// new connection. No D1 query.
    pub(super) fn send_analytics(&self, to: Option<&WebSocket>) {
        let now = now_ms();
        let today = chrono::DateTime::from_timestamp_millis(now)
            .unwrap_or_default()
            .date_naive();
        let counts = match self.storage.board_counts() {
            Ok(counts) => counts,
            Err(error) => {
                tracing::error!(cause = %error, "board analytics");
                return;
            }
        };
        let analytics = Analytics::from_buckets(&counts, today);
        let frame = ServerMessage::Analytics { analytics }.to_json();
        match to {
            Some(ws) => {
                let _ = ws.send_with_str(frame);
            }
            None => {
                Sockets::of(&self.state).broadcast(&frame, None);
                if let Err(error) = self.storage.set_analytics_day(day_number(now)) {
                    tracing::error!(cause = %error, "board analytics day");
                }
            }
        }
    }

    /// Board only: moves the counts for one change (the task's facts before, from the
    /// board's copy, and after, from the change).
    fn count(&self, change: &Change) -> Result<()> {
        let before = self.storage.board_facts(&change.task.id)?;
        let after = (change.kind != ChangeKind::Deleted)
            .then(|| hero_core::analytics::TaskFacts::of(&change.task));
        let deltas = hero_core::analytics::bucket_deltas(before.as_ref(), after.as_ref());
        self.storage
            .count_board_task(&change.task.id, after.as_ref(), &deltas)
    }
}
