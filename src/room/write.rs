//! A task room is its task's one writer: PATCH and DELETE come here from the Worker, take
//! their turn, are decided against the room's copy of the task, committed to D1 with their
//! change records, taken into the log and published, with no notification round trip and
//! no read-back. The board is told afterwards, off the critical path.
//!
//! Writes queue up while a commit is in flight ([`super::queue`]), and the next commit takes
//! all of them (group commit): each is still decided one at a time, against the version the
//! one before it left, but they travel to D1 in one batch, each write conditional on its
//! predecessor's version. So a hot task costs one D1 round trip per group, not per write.
//!
//! A keyed write (`Idempotency-Key`) arrives with its key already claimed in D1 by the
//! Worker (`http::idempotency`), which also answers its retries; the room only completes
//! the claim, in the write's own batch, with the response the write gives.
//!
//! If D1 says the row moved (someone wrote D1 without going through this room), the room
//! reads the log and the row again and decides once more: events are never lost or doubled,
//! because the log only ever takes a change from D1's change log or from its own commit.

use futures::channel::oneshot;
use futures::lock::MutexGuard;

use super::error::{RoomError, RoomResult};
use super::object::Room;
use super::queue::QueuedWrite;
use super::storage::KnownTask;
use super::stub;
use crate::runtime::{now, now_ms, Stages};
use crate::store::{KeyRecord, Store};
use hero_core::conditional::relaxed_for_document;
use hero_core::error::ApiError;
use hero_core::idempotency::StoredResponse;
use hero_core::room::{
    after_commit, AfterCommit, ChangeNotice, LogIds, RoomKey, WriteOp, WriteReply, WriteRequest,
};
use hero_core::task::{
    decide_delete, decide_update, format_timestamp, Change, ChangeKind, Task, TaskChanges,
    UpdateOutcome,
};

/// How often a write is decided again after the room found its copy of the task stale.
const ATTEMPTS: u8 = 2;

/// A write's verdict, before it ever reaches the queue.
fn refused(error: ApiError) -> RoomResult<(WriteReply, Stages)> {
    Ok((WriteReply::Refused { error }, Stages::default()))
}

impl Room {
    pub(super) async fn write(
        &self,
        key: &RoomKey,
        store: &Store,
        request: WriteRequest,
        request_id: &str,
    ) -> RoomResult<(WriteReply, Stages)> {
        let changes = match &request.op {
            WriteOp::Update { patch } => match TaskChanges::for_patch(patch) {
                Ok(changes) => Some(changes),
                Err(errors) => return refused(ApiError::Validation(errors)),
            },
            WriteOp::Delete => None,
        };
        let (answer, answered) = oneshot::channel();
        self.writes.push(QueuedWrite {
            changes,
            request,
            request_id: request_id.to_owned(),
            attempts: 0,
            enqueued_ms: now_ms(),
            answer,
        });
        // The first writer in commits for everyone queued behind it until the queue is empty.
        if self.writes.start_committing() {
            let result = self.commit_queued(key, store).await;
            self.writes.done_committing();
            result?;
        }
        answered
            .await
            .map_err(|_| RoomError::Refused(ApiError::internal("a queued write was dropped")))
    }

    async fn commit_queued(&self, key: &RoomKey, store: &Store) -> RoomResult<()> {
        loop {
            let group = self.writes.next_group();
            if group.is_empty() {
                return Ok(());
            }
            let mut stages = Stages::starting(now_ms());
            let turn = stages.time("turn", self.turn.lock()).await;
            let outcome = self
                .commit_group(key, store, group, &turn, &mut stages)
                .await;
            drop(turn);
            if let Err(error) = outcome {
                // Whatever is still queued learns of it too, rather than waiting forever.
                for queued in self.writes.drain() {
                    let error = ApiError::internal(&error);
                    queued.answer(WriteReply::Refused { error }, &stages);
                }
                return Err(error);
            }
        }
    }

    /// Decides each write of `group` in turn and commits those that change something in
    /// one D1 batch.
    async fn commit_group(
        &self,
        key: &RoomKey,
        store: &Store,
        group: Vec<QueuedWrite>,
        turn: &MutexGuard<'_, ()>,
        stages: &mut Stages,
    ) -> RoomResult<()> {
        let base = stages
            .time("load", self.current_task(key, store, turn))
            .await?;
        let Some(base) = base else {
            for queued in group {
                let error = ApiError::task_not_found();
                queued.answer(WriteReply::Refused { error }, stages);
            }
            return Ok(());
        };
        let at = format_timestamp(now());
        let field_version = self.storage.field_version()?.unwrap_or(base.version);
        let decided = decide_group(&base, field_version, group, &at, stages);
        if decided.is_empty() {
            return Ok(());
        }
        let changes: Vec<Change> = decided.iter().map(|(_, change)| change.clone()).collect();
        let keys: Vec<Option<KeyRecord>> = decided
            .iter()
            .map(|(queued, change)| key_record(queued, change, &at))
            .collect();
        let committed = stages
            .time("d1", store.commit(&base, &changes, &keys))
            .await;
        match committed {
            Ok(Some(ids)) => {
                self.answer_committed(key, store, decided, ids, stages)
                    .await
            }
            Ok(None) => self.decide_again(base.version, decided, stages),
            Err(error) => {
                // Whether it committed is unknown: read the row and the log again next time.
                self.storage.forget_task()?;
                for (queued, _) in decided {
                    let error = ApiError::internal(&error);
                    queued.answer(WriteReply::Refused { error }, stages);
                }
                Ok(())
            }
        }
    }

    /// A committed group: the room takes it into its log, the board hears of it, and every
    /// writer gets its answer.
    async fn answer_committed(
        &self,
        key: &RoomKey,
        store: &Store,
        decided: Vec<(QueuedWrite, Change)>,
        ids: Vec<LogIds>,
        stages: &mut Stages,
    ) -> RoomResult<()> {
        let committed: Vec<(LogIds, Change)> = ids
            .iter()
            .copied()
            .zip(decided.iter().map(|(_, change)| change.clone()))
            .collect();
        stages
            .time("log", self.committed(key, store, &committed))
            .await?;
        stages.record("group", decided.len() as i64);
        self.tell_board(committed, &decided[0].0.request_id);
        for ((queued, change), ids) in decided.into_iter().zip(ids) {
            let change = Box::new(change);
            queued.answer(WriteReply::Committed { change, ids }, stages);
        }
        Ok(())
    }

    /// D1 says the row moved under the room: its copy is stale. The writes go back to the
    /// front of the queue, to be decided again against the row as D1 has it.
    fn decide_again(
        &self,
        version: i64,
        decided: Vec<(QueuedWrite, Change)>,
        stages: &Stages,
    ) -> RoomResult<()> {
        tracing::warn!(event = "stale_task", version, "room event");
        self.storage.forget_task()?;
        let mut again = Vec::new();
        for (mut queued, _) in decided {
            queued.attempts += 1;
            if queued.attempts >= ATTEMPTS {
                let error = ApiError::Conflict(
                    "the task was changed outside Hero twice while this write was made; retry"
                        .into(),
                );
                queued.answer(WriteReply::Refused { error }, stages);
            } else {
                again.push(queued);
            }
        }
        self.writes.push_front(again);
        Ok(())
    }

    /// The task as the room knows it, loading it (and catching the log up) when the room
    /// does not know it yet. `_turn` is the proof that the caller holds the room's turn, so
    /// no write can commit between the load and its use.
    pub(super) async fn current_task(
        &self,
        key: &RoomKey,
        store: &Store,
        _turn: &MutexGuard<'_, ()>,
    ) -> RoomResult<Option<Task>> {
        let (known, _) = self.storage.task()?;
        match known {
            KnownTask::Current(task) => Ok(Some(*task)),
            KnownTask::Gone => Ok(None),
            KnownTask::Unknown => {
                let Some(task_id) = key.task_id() else {
                    return Ok(None);
                };
                let loaded = store.get_task(key.workspace_id(), task_id).await?;
                // A task that never existed here leaves nothing behind in this room.
                if let Some(task) = &loaded {
                    self.storage.remember(key)?;
                    self.catch_up(key, store).await?;
                    self.storage.save_task(Some(task))?;
                    self.storage.set_field_version(task.version)?;
                }
                Ok(loaded)
            }
        }
    }

    /// After a commit: remember the task, and take the changes into the log (directly when
    /// they follow on from it, else from D1).
    async fn committed(
        &self,
        key: &RoomKey,
        store: &Store,
        committed: &[(LogIds, Change)],
    ) -> RoomResult<()> {
        let Some((_, last)) = committed.last() else {
            return Ok(());
        };
        let deleted = last.kind == ChangeKind::Deleted;
        self.storage.save_task((!deleted).then_some(&last.task))?;
        if let Some((_, other)) = committed.iter().rev().find(|(_, c)| c.editors.is_empty()) {
            self.storage.set_field_version(other.task.version)?;
        }
        self.description_to_document(key, committed).await?;
        let (_, log_version) = self.storage.task()?;
        match after_commit(self.storage.position()?, log_version, committed) {
            AfterCommit::Nothing => Ok(()),
            AfterCommit::Append => self.take_changes(key, committed).await,
            AfterCommit::CatchUp => self.catch_up(key, store).await,
        }
    }

    /// A committed write of the description that did not come from the document (REST)
    /// reaches the document, so its editors see it and D1 and the document agree.
    async fn description_to_document(
        &self,
        key: &RoomKey,
        committed: &[(LogIds, Change)],
    ) -> RoomResult<()> {
        let written = committed.iter().rev().find(|(_, c)| {
            c.editors.is_empty()
                && c.kind == ChangeKind::Updated
                && c.changed.iter().any(|field| field == "description")
        });
        if let Some((_, change)) = written {
            let effects = self.description_written(key, &change.task.description)?;
            self.carry_out(effects, None).await?;
        }
        Ok(())
    }

    /// Tells the workspace board of a committed group, after the responses.
    fn tell_board(&self, changes: Vec<(LogIds, Change)>, request_id: &str) {
        let env = self.env.clone();
        let request_id = request_id.to_owned();
        let notice = ChangeNotice { changes };
        self.state
            .wait_until(async move { stub::tell_board(&env, notice, &request_id).await });
    }
}

/// Decides each write of a group in turn, against the task as the one before it left it.
/// Those that change nothing, or are refused, are answered here; the rest are returned with
/// their change, to be committed together.
fn decide_group(
    base: &Task,
    mut field_version: i64,
    group: Vec<QueuedWrite>,
    at: &str,
    stages: &Stages,
) -> Vec<(QueuedWrite, Change)> {
    let mut current = Some(base.clone());
    let mut decided = Vec::new();
    for queued in group {
        let Some(task) = &current else {
            let error = ApiError::task_not_found();
            queued.answer(WriteReply::Refused { error }, stages);
            continue;
        };
        match decide(task, field_version, &queued, at) {
            Err(error) => queued.answer(WriteReply::Refused { error }, stages),
            Ok(None) => {
                let task = Box::new(task.clone());
                queued.answer(WriteReply::Unchanged { task }, stages);
            }
            Ok(Some(change)) => {
                current = (change.kind != ChangeKind::Deleted).then(|| change.task.clone());
                if change.editors.is_empty() {
                    field_version = change.task.version;
                }
                decided.push((queued, change));
            }
        }
    }
    decided
}

/// The key a keyed write stores with its commit, and the response it will replay.
fn key_record(queued: &QueuedWrite, change: &Change, at: &str) -> Option<KeyRecord> {
    let claim = queued.request.claim.clone()?;
    Some(KeyRecord {
        workspace_id: change.task.workspace_id.clone(),
        user_id: queued.request.caller.user_id.clone(),
        claim,
        response: StoredResponse::of(change),
        at: at.to_owned(),
    })
}

/// What one queued write does to `task`: the change to commit, `None` for nothing, or why
/// it is refused. A version the task reached only by the room's own writes of the shared
/// description does not make an `If-Match` stale for a write of other fields.
fn decide(
    task: &Task,
    field_version: i64,
    queued: &QueuedWrite,
    at: &str,
) -> Result<Option<Change>, ApiError> {
    let request = &queued.request;
    let caller = &request.caller;
    match &queued.changes {
        Some(changes) => {
            let touches_description = changes.description.is_some();
            let precondition = relaxed_for_document(
                request.precondition.as_ref(),
                task.version,
                field_version,
                touches_description,
            );
            let outcome = decide_update(task, changes, precondition.as_ref(), caller, at)?;
            Ok(match outcome {
                UpdateOutcome::Unchanged => None,
                UpdateOutcome::Write(mut change) => {
                    change.editors = request.editors.clone();
                    Some(*change)
                }
            })
        }
        None => decide_delete(task, request.precondition.as_ref(), caller, at).map(Some),
    }
}
