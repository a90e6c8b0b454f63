//! Committed changes reach a room three ways: from its own commit (a task room), from a
//! notice (the board), and from D1's change log when it catches up. Each way ends in
//! [`Room::take_changes`]: load the log position (and a board's counts), decide
//! ([`room::on_committed`]), carry out.
//!
//! Catching up: the change log is the source of truth, so a room that was evicted, missed a
//! notice, or is new loses nothing: it reads what it has not seen, in commit order (on
//! connect, after a gap on a board, or when a task room finds its copy of the task stale).

use std::collections::BTreeMap;

use super::error::RoomResult;
use super::object::Room;
use crate::store::Store;
use hero_core::room::{
    self, ChangeId, CommittedSnapshot, LogCursor, LogIds, RoomKey, RoomKind, WsSeq,
};
use hero_core::task::Change;

/// How many D1 change rows a room reads per query while catching up.
const CATCH_UP_BATCH: u32 = 200;

impl Room {
    /// Takes committed changes, in commit order, into the log; those it has already are
    /// skipped. Nothing is awaited between reading the position and writing the log.
    pub(super) async fn take_changes(
        &self,
        key: &RoomKey,
        changes: &[(LogIds, Change)],
    ) -> RoomResult<()> {
        let effects = match key.kind() {
            RoomKind::Task => {
                room::on_committed(self.committed_snapshot::<ChangeId>(key, changes)?, changes)
            }
            RoomKind::Board => {
                room::on_committed(self.committed_snapshot::<WsSeq>(key, changes)?, changes)
            }
        };
        self.carry_out(effects, None).await
    }

    fn committed_snapshot<C: LogCursor>(
        &self,
        key: &RoomKey,
        changes: &[(LogIds, Change)],
    ) -> RoomResult<CommittedSnapshot<C>> {
        let mut counted = BTreeMap::new();
        if key.kind() == RoomKind::Board {
            for (_, change) in changes {
                let facts = self.storage.board_facts(&change.task.id)?;
                counted.insert(change.task.id.clone(), facts);
            }
        }
        Ok(CommittedSnapshot {
            kind: key.kind(),
            position: self.storage.position()?,
            log_size: self.limits().log_size,
            counted,
        })
    }

    /// Catches up, unless a catch-up is already running: then it is asked to go round once
    /// more instead, so two never apply the same changes in parallel.
    pub(super) async fn catch_up(&self, key: &RoomKey, store: &Store) -> RoomResult<()> {
        if !self.catching_up.start() {
            return Ok(());
        }
        let result = self.catch_up_until_current(key, store).await;
        self.catching_up.done();
        result
    }

    async fn catch_up_until_current(&self, key: &RoomKey, store: &Store) -> RoomResult<()> {
        let workspace = key.workspace_id();
        loop {
            self.catching_up.round();
            let rows = match key.task_id() {
                Some(task_id) => {
                    let cursor = self.storage.position::<ChangeId>()?.cursor;
                    store
                        .changes_of_task_after(workspace, task_id, cursor, CATCH_UP_BATCH)
                        .await?
                }
                None => {
                    let cursor = self.storage.position::<WsSeq>()?.cursor;
                    store
                        .changes_of_workspace_after(workspace, cursor, CATCH_UP_BATCH)
                        .await?
                }
            };
            let fetched = rows.len();
            if fetched > 0 {
                tracing::info!(
                    event = "applied",
                    changes = fetched,
                    source = "d1",
                    "room event"
                );
                self.take_changes(key, &rows).await?;
            }
            if fetched < CATCH_UP_BATCH as usize && !self.catching_up.asked_again() {
                return Ok(());
            }
        }
    }
}
