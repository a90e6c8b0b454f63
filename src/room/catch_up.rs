//! Catching up with D1: a room applies every committed change after its cursor, in commit
//! order. The change log is the source of truth, so a room that was evicted, missed a
//! notice, or is new loses nothing: it reads what it has not seen (on connect, after a gap
//! on a board, or when a task room finds its copy of the task stale).

use super::object::Room;
use crate::store::Store;
use hero_core::room::RoomKey;
use worker::Result;

/// How many D1 change rows a room reads per query while catching up.
const CATCH_UP_BATCH: u32 = 200;

impl Room {
    /// Catches up, unless a catch-up is already running: then it is asked to go round once
    /// more instead, so two never apply the same changes in parallel.
    pub(super) async fn catch_up(&self, key: &RoomKey, store: &Store) -> Result<()> {
        if self.catching_up.get() {
            self.catch_up_again.set(true);
            return Ok(());
        }
        self.catching_up.set(true);
        let result = self.catch_up_until_current(key, store).await;
        self.catching_up.set(false);
        result?;
        self.flush_paced(key).await;
        Ok(())
    }

    async fn catch_up_until_current(&self, key: &RoomKey, store: &Store) -> Result<()> {
        let failed = |e: crate::store::StoreError| worker::Error::RustError(e.to_string());
        loop {
            self.catch_up_again.set(false);
            let cursor = self.storage.position()?.change_cursor;
            let workspace = key.workspace_id();
            let rows: Vec<(i64, hero_core::task::Change)> = match key.task_id() {
                Some(task_id) => store
                    .changes_of_task_after(workspace, task_id, cursor, CATCH_UP_BATCH)
                    .await
                    .map_err(failed)?
                    .into_iter()
                    .map(|(ids, change)| (ids.change_id, change))
                    .collect(),
                None => store
                    .changes_of_workspace_after(workspace, cursor, CATCH_UP_BATCH)
                    .await
                    .map_err(failed)?
                    .into_iter()
                    .map(|(ids, change)| (ids.ws_seq, change))
                    .collect(),
            };
            let fetched = rows.len();
            if fetched > 0 {
                tracing::info!(
                    event = "applied",
                    changes = fetched,
                    source = "d1",
                    "room event"
                );
                self.apply(key, rows)?;
            }
            if fetched < CATCH_UP_BATCH as usize && !self.catch_up_again.get() {
                return Ok(());
            }
        }
    }
}
