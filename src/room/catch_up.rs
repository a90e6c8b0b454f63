//! Catching up with D1: a room applies every committed change after its cursor, in commit
//! order, appends the events to its log and broadcasts them. The change log is the source of
//! truth; a call to `/catch-up` only says "look".

use super::object::Room;
use super::sockets::Sockets;
use crate::runtime::now_ms;
use crate::store;
use hero_core::protocol::ServerMessage;
use hero_core::room::{broadcast_delay_ms, plan_append, RoomKey};
use worker::{Result, WebSocket};

/// How many D1 change rows a room reads per query while catching up.
const CATCH_UP_BATCH: u32 = 200;

impl Room {
    /// Catches up, unless a catch-up is already running: then it is asked to go round once
    /// more instead, so two never apply the same changes in parallel.
    pub(super) async fn catch_up(&self, key: &RoomKey) -> Result<()> {
        if self.catching_up.get() {
            self.catch_up_again.set(true);
            return Ok(());
        }
        self.catching_up.set(true);
        let result = self.catch_up_until_current(key).await;
        self.catching_up.set(false);
        result
    }

    async fn catch_up_until_current(&self, key: &RoomKey) -> Result<()> {
        let db = self.env.d1("DB")?;
        loop {
            // A busy room waits for its frame budget (inside this request, not on a timer);
            // what commits meanwhile is read below and leaves with this broadcast, as one
            // `batch` frame.
            if let Some((at_ms, sockets)) = self.last_broadcast.get() {
                let wait = broadcast_delay_ms(
                    now_ms(),
                    Some(at_ms),
                    sockets,
                    self.limits().frames_per_sec,
                );
                if wait > 0 {
                    worker::Delay::from(std::time::Duration::from_millis(wait as u64)).await;
                }
            }
            self.catch_up_again.set(false);
            let position = self.storage.position()?;
            let rows = store::changes_after(
                &db,
                key.workspace_id(),
                key.task_id(),
                position.change_cursor,
                CATCH_UP_BATCH,
            )
            .await
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
            let fetched = rows.len();
            if fetched > 0 {
                tracing::info!(event = "applied", changes = fetched, "room event");
                self.append(key, rows)?;
                // The workspace report is a D1 aggregate: only worth it with someone watching.
                if key.is_board() && Sockets::of(&self.state).count() > 0 {
                    self.send_analytics(&db, key, None).await;
                }
            }
            if fetched < CATCH_UP_BATCH as usize && !self.catch_up_again.get() {
                return Ok(());
            }
        }
    }

    /// Stores and broadcasts what the log plan says. Synchronous: no other event can run
    /// between the log write and the sends, and the runtime holds the sends until the write
    /// is durable.
    fn append(&self, key: &RoomKey, rows: Vec<(i64, hero_core::task::Change)>) -> Result<()> {
        let plan = plan_append(
            self.storage.position()?,
            rows,
            key.is_board(),
            self.limits().log_size,
        );
        self.storage.append(&plan)?;
        let sockets = Sockets::of(&self.state);
        for frame in &plan.frames {
            let count = sockets.broadcast(frame, None);
            self.last_broadcast.set(Some((now_ms(), count)));
        }
        if plan.close_everyone {
            sockets.close_all(hero_core::protocol::close::TASK_DELETED, "task deleted");
            self.storage.save_departures(&[])?;
        }
        Ok(())
    }

    /// Board only: the workspace report, to everyone or to one new connection.
    pub(super) async fn send_analytics(
        &self,
        db: &worker::D1Database,
        key: &RoomKey,
        to: Option<&WebSocket>,
    ) {
        let today = chrono::DateTime::from_timestamp_millis(now_ms())
            .unwrap_or_default()
            .date_naive();
        match store::analytics(db, key.workspace_id(), today).await {
            Ok(analytics) => {
                let frame = ServerMessage::Analytics { analytics }.to_json();
                match to {
                    Some(ws) => {
                        let _ = ws.send_with_str(frame);
                    }
                    None => {
                        Sockets::of(&self.state).broadcast(&frame, None);
                    }
                }
            }
            Err(error) => tracing::error!(cause = %error, "board analytics"),
        }
    }
}
