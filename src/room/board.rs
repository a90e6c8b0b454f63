//! The workspace board: it counts its workspace once, then keeps its counts and its log
//! from the changes it is told about, so an in-order change costs it no D1 query.

use super::error::RoomResult;
use super::object::Room;
use crate::runtime::now_ms;
use crate::store::Store;
use hero_core::analytics::{bucket_deltas, Analytics};
use hero_core::room::{notice_action, ChangeNotice, NoticeAction, RoomKey, WsSeq};
use hero_core::task::TaskId;

/// Tasks read per D1 query while a board counts its workspace.
const COUNT_PAGE: u32 = 1000;

impl Room {
    /// Counts the workspace the first time the board needs its counts.
    ///
    /// The facts are read as they are now, and the log starts a little earlier (the last
    /// `ROOM_LOG_SIZE` changes, so a client can still resume a short gap; or, for a board
    /// that counted by change id before, exactly where it was). Replaying those changes
    /// over the fresher facts converges on the same counts: each change sets a task's facts
    /// as of that change, and the last one of each task is the one that stays.
    pub(super) async fn ensure_board_counted(
        &self,
        key: &RoomKey,
        store: &Store,
    ) -> RoomResult<()> {
        if self.storage.board_counted()? {
            return Ok(());
        }
        let _turn = self.turn.lock().await;
        if self.storage.board_counted()? {
            return Ok(());
        }
        let start = self.count_from(key, store).await?;
        let counted = self.count_workspace(key, store).await?;
        self.storage.set_cursor(start)?;
        self.storage.mark_board_counted()?;
        tracing::info!(
            event = "counted",
            tasks = counted,
            from_seq = start.0,
            "room event"
        );
        Ok(())
    }

    /// Where a board that is counting starts its log: the last `log_size` changes, which it
    /// reads again from D1 (a board from before ws_seq, which kept a change id, starts
    /// there too: its sockets resume with a `resync`, and the count is made afresh).
    async fn count_from(&self, key: &RoomKey, store: &Store) -> RoomResult<WsSeq> {
        let head = store.workspace_seq(key.workspace_id()).await?;
        Ok(WsSeq((head.0 - self.limits().log_size as i64).max(0)))
    }

    /// Reads every task's facts, a page at a time, into the board's counts.
    async fn count_workspace(&self, key: &RoomKey, store: &Store) -> RoomResult<usize> {
        let mut after: Option<TaskId> = None;
        let mut counted = 0;
        loop {
            let page = store
                .task_facts_page(key.workspace_id(), after.as_ref(), COUNT_PAGE)
                .await?;
            for (task_id, facts) in &page {
                let before = self.storage.board_facts(task_id)?;
                let deltas = bucket_deltas(before.as_ref(), Some(facts));
                self.storage
                    .count_board_task(task_id, Some(facts), &deltas)?;
            }
            counted += page.len();
            if page.len() < COUNT_PAGE as usize {
                return Ok(counted);
            }
            after = page.last().map(|(id, _)| id.clone());
        }
    }

    /// The workspace report from the board's counters, after reading any change the board
    /// has not been told of yet (one indexed D1 read of the change log past its cursor, which
    /// is usually empty): a client that just wrote sees its write counted.
    pub(super) async fn board_report(&self, key: &RoomKey, store: &Store) -> RoomResult<Analytics> {
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
    /// in commit order. Each that is the next one is taken as it is; any that is not (one
    /// went missing or is still on its way) makes the board read the gap from D1.
    pub(super) async fn take_notice(
        &self,
        key: &RoomKey,
        store: &Store,
        notice: ChangeNotice,
    ) -> RoomResult<()> {
        self.ensure_board_counted(key, store).await?;
        let cursor = self.storage.position::<WsSeq>()?.cursor;
        let mut next = Vec::new();
        let mut expected = cursor;
        let mut gap = false;
        for (ids, change) in notice.changes {
            match notice_action(expected, ids.ws_seq) {
                NoticeAction::Stale => {}
                NoticeAction::Next => {
                    expected = ids.ws_seq;
                    next.push((ids, change));
                }
                NoticeAction::Gap => {
                    gap = true;
                    break;
                }
            }
        }
        if !next.is_empty() {
            tracing::info!(
                event = "applied",
                changes = next.len(),
                source = "notice",
                "room event"
            );
            self.take_changes(key, &next).await?;
        }
        if gap {
            self.catch_up(key, store).await?;
        }
        let cost = store.cost();
        tracing::info!(
            event = "notice",
            d1_calls = cost.d1_calls,
            d1_queries = cost.d1_queries,
            rows_read = cost.rows_read,
            "room event"
        );
        Ok(())
    }
}
