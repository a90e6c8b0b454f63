//! The room's one timer, the storage alarm: set to the next time-driven job (typing expiry,
//! a grace period's end, a token's expiry, a held-back presence diff, a watched board's
//! midnight) and cleared when there is none, so an idle room hibernates.

use super::object::Room;
use super::sockets::Sockets;
use crate::runtime::now_ms;
use hero_core::room::{self, board_day_turn};
use worker::Result;

impl Room {
    /// Sets the one alarm to the next time-driven job, or clears it when there is none.
    pub(super) async fn schedule_alarm(&self) -> Result<()> {
        let connections = Sockets::of(&self.state).connections();
        let departures = self.storage.departures()?;
        let watched_board = self.storage.board_counted()? && !connections.is_empty();
        let day_turn = board_day_turn(now_ms(), watched_board);
        let presence_due = self.storage.pending_presence()?.map(|(_, due)| due);
        let next = room::next_alarm(&connections, &departures, day_turn)
            .into_iter()
            .chain(presence_due)
            .min();
        let storage = self.state.storage();
        match next {
            Some(at_ms) => storage.set_alarm(alarm_time(at_ms)).await,
            None => storage.delete_alarm().await,
        }
    }

    /// Moves the alarm earlier if `at_ms` comes first. A join or a keystroke only ever adds a
    /// deadline, so the hot path need not re-read every socket's attachment; an alarm that
    /// fires early finds nothing due and reschedules from the full state.
    pub(super) async fn alarm_no_later_than(&self, at_ms: i64) -> Result<()> {
        let storage = self.state.storage();
        if storage
            .get_alarm()
            .await?
            .is_some_and(|current| current <= at_ms)
        {
            return Ok(());
        }
        storage.set_alarm(alarm_time(at_ms)).await
    }
}

fn alarm_time(at_ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(at_ms.max(now_ms() + 1)).unwrap_or_default()
}
