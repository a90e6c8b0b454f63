//! A task room is its task's one writer: PATCH and DELETE come here from the Worker, take
//! their turn, are decided against the room's copy of the task, committed to D1 in one
//! batch with their change record, appended to the log and broadcast, with no notification
//! round trip and no read-back. The board is told afterwards, off the critical path.
//!
//! If D1 says the row moved (someone wrote D1 without going through this room), the room
//! reads the log and the row again and decides once more: events are never lost or doubled,
//! because the log only ever takes a change from D1's change log or from its own commit.

use futures::lock::MutexGuard;
use worker::Result;

use super::object::Room;
use super::stub;
use crate::runtime::now;
use crate::store::Store;
use hero_core::error::ApiError;
use hero_core::room::{ChangeNotice, LogIds, RoomKey, WriteOp, WriteReply, WriteRequest};
use hero_core::task::{
    decide_delete, decide_update, format_timestamp, Change, ChangeKind, Task, TaskChanges,
    UpdateOutcome,
};

use super::storage::KnownTask;

/// How often a write decides again after finding its copy of the task stale.
const ATTEMPTS: usize = 2;

impl Room {
    pub(super) async fn write(
        &self,
        key: &RoomKey,
        store: &Store,
        request: WriteRequest,
        request_id: &str,
    ) -> Result<WriteReply> {
        let refused = |error: ApiError| Ok(WriteReply::Refused { error });
        let changes = match &request.op {
            WriteOp::Update { patch } => match TaskChanges::for_patch(patch) {
                Ok(changes) => Some(changes),
                Err(errors) => return refused(ApiError::Validation(errors)),
            },
            WriteOp::Delete => None,
        };
        let turn = self.turn.lock().await;
        for _ in 0..ATTEMPTS {
            let Some(current) = self.current_task(key, store, &turn).await? else {
                return refused(ApiError::task_not_found());
            };
            let at = format_timestamp(now());
            let precondition = request.precondition.as_ref();
            let decided = match &changes {
                Some(changes) => {
                    decide_update(&current, changes, precondition, &request.caller, &at).map(
                        |outcome| match outcome {
                            UpdateOutcome::Unchanged => None,
                            UpdateOutcome::Write(change) => Some(*change),
                        },
                    )
                }
                None => decide_delete(&current, precondition, &request.caller, &at).map(Some),
            };
            let change = match decided {
                Err(error) => return refused(error),
                Ok(None) => {
                    return Ok(WriteReply::Unchanged {
                        task: Box::new(current),
                    })
                }
                Ok(Some(change)) => change,
            };
            match store.commit(&change, current.version).await {
                Ok(Some(ids)) => {
                    self.committed(key, store, &change, ids, request_id).await?;
                    drop(turn);
                    self.flush_paced(key).await;
                    return Ok(WriteReply::Committed {
                        change: Box::new(change),
                        ids,
                    });
                }
                Ok(None) => {
                    tracing::warn!(
                        event = "stale_task",
                        version = current.version,
                        "room event"
                    );
                    self.storage.forget_task()?;
                }
                Err(error) => {
                    // Whether it committed is unknown: read the row and the log again next time.
                    self.storage.forget_task()?;
                    return refused(ApiError::internal(error));
                }
            }
        }
        refused(ApiError::Conflict(
            "the task was changed outside Hero twice while this write was made; retry".into(),
        ))
    }

    /// The task as the room knows it, loading it (and catching the log up) when the room
    /// does not know it yet. `_turn` is the proof that the caller holds the room's turn, so
    /// no write can commit between the load and its use.
    pub(super) async fn current_task(
        &self,
        key: &RoomKey,
        store: &Store,
        _turn: &MutexGuard<'_, ()>,
    ) -> Result<Option<Task>> {
        let (known, _) = self.storage.task()?;
        match known {
            KnownTask::Current(task) => Ok(Some(*task)),
            KnownTask::Gone => Ok(None),
            KnownTask::Unknown => {
                let Some(task_id) = key.task_id() else {
                    return Ok(None);
                };
                let loaded = store
                    .get_task(key.workspace_id(), task_id)
                    .await
                    .map_err(|e| worker::Error::RustError(e.to_string()))?;
                // A task that never existed here leaves nothing behind in this room.
                if let Some(task) = &loaded {
                    self.storage.remember(key)?;
                    self.catch_up(key, store).await?;
                    self.storage.save_task(Some(task))?;
                }
                Ok(loaded)
            }
        }
    }

    /// After a commit: remember the task, put the change in the log (directly when it is
    /// the next one, else from D1), and tell the board.
    async fn committed(
        &self,
        key: &RoomKey,
        store: &Store,
        change: &Change,
        ids: LogIds,
        request_id: &str,
    ) -> Result<()> {
        let deleted = change.kind == ChangeKind::Deleted;
        self.storage.save_task((!deleted).then_some(&change.task))?;
        let (_, log_version) = self.storage.task()?;
        let cursor = self.storage.position()?.change_cursor;
        if ids.change_id > cursor {
            if change.task.version == log_version + 1 {
                self.apply(key, vec![(ids.change_id, change.clone())])?;
            } else {
                self.catch_up(key, store).await?;
            }
        }
        let env = self.env.clone();
        let request_id = request_id.to_owned();
        let notice = ChangeNotice {
            ids,
            change: change.clone(),
        };
        self.state
            .wait_until(async move { stub::tell_board(&env, notice, &request_id).await });
        Ok(())
    }
}
