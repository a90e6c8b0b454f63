//! The workspace board: it counts its workspace once, then keeps its counts and its log
//! from the changes it is told about, so an in-order change costs it no D1 query.

use super::object::Room;
use crate::runtime::now_ms;
use crate::store::{Store, StoreError};
use hero_core::analytics::{bucket_deltas, Analytics};
use hero_core::room::{notice_action, ChangeNotice, NoticeAction, RoomKey};
use hero_core::task::TaskId;
use worker::Result;

/// Tasks read per D1 query while a board counts its workspace.
const COUNT_PAGE: u32 = 1000;

fn failed(error: StoreError) -> worker::Error {
    worker::Error::RustError(error.to_string())
}

impl Room {
    /// Counts the workspace the first time the board needs its counts.
    ///
    /// The facts are read as they are now, and the log starts a little earlier (the last
    /// `ROOM_LOG_SIZE` changes, so a client can still resume a short gap; or, for a board
    /// that counted by change id before, exactly where it was). Replaying those changes
    /// over the fresher facts converges on the same counts: each change sets a task's facts
    /// as of that change, and the last one of each task is the one that stays.
    pub(super) async fn ensure_board_counted(&self, key: &RoomKey, store: &Store) -> Result<()> {
        if self.storage.board_counted()? {
            return Ok(());
        }
        let _turn = self.turn.lock().await;
        if self.storage.board_counted()? {
            return Ok(());
        }
        let workspace = key.workspace_id();
        let old_cursor = self.storage.position()?.change_cursor;
        let start = if old_cursor > 0 {
            store
                .workspace_seq_at(workspace, old_cursor)
                .await
                .map_err(failed)?
        } else {
            let head = store.workspace_seq(workspace).await.map_err(failed)?;
            (head - self.limits().log_size as i64).max(0)
        };
        let mut after: Option<TaskId> = None;
        let mut counted = 0;
        loop {
            let page = store
                .task_facts_page(workspace, after.as_ref(), COUNT_PAGE)
                .await
                .map_err(failed)?;
            for (task_id, facts) in &page {
                let before = self.storage.board_facts(task_id)?;
                let deltas = bucket_deltas(before.as_ref(), Some(facts));
                self.storage
                    .count_board_task(task_id, Some(facts), &deltas)?;
            }
            counted += page.len();
            if page.len() < COUNT_PAGE as usize {
                break;
            }
            after = page.last().map(|(id, _)| id.clone());
        }
        self.storage.set_change_cursor(start)?;
        self.storage.mark_board_counted()?;
        tracing::info!(
            event = "counted",
            tasks = counted,
            from_seq = start,
            "room event"
        );
        Ok(())
    }

    /// The workspace report from the board's counters, after reading any change the board
    /// has not been told of yet (one indexed D1 read of the change log past its cursor, which
    /// is usually empty): a client that just wrote sees its write counted.
    pub(super) async fn board_report(&self, key: &RoomKey, store: &Store) -> Result<Analytics> {
        self.ensure_board_counted(key, store).await?;
        self.catch_up(key, store).await?;
        let today = chrono::DateTime::from_timestamp_millis(now_ms())
            .unwrap_or_default()
            .date_naive();
        Ok(Analytics::from_buckets(
            &self.storage.board_counts()?,
            today,
        ))
    }

    /// Changes a task room (or the Worker, for a create) committed and tells the board of,
    /// in commit order. Each that is the next one is applied as it is; any that is not
    /// (one went missing or is still on its way) makes the board read the gap from D1.
    pub(super) async fn take_notice(
        &self,
        key: &RoomKey,
        store: &Store,
        notice: ChangeNotice,
    ) -> Result<()> {
        self.ensure_board_counted(key, store).await?;
        let mut applied = 0;
        for (ids, change) in notice.changes {
            let cursor = self.storage.position()?.change_cursor;
            match notice_action(cursor, ids.ws_seq) {
                NoticeAction::Stale => {}
                NoticeAction::Next => {
                    self.apply(key, vec![(ids.ws_seq, change)])?;
                    applied += 1;
                }
                NoticeAction::Gap => {
                    if applied > 0 {
                        tracing::info!(
                            event = "applied",
                            changes = applied,
                            source = "notice",
                            "room event"
                        );
                    }
                    return self.catch_up(key, store).await;
                }
            }
        }
        if applied > 0 {
            tracing::info!(
                event = "applied",
                changes = applied,
                source = "notice",
                "room event"
            );
            self.flush_paced(key).await;
        }
        Ok(())
    }
}
