//! A task room is its task's one writer: PATCH and DELETE come here from the Worker, take
//! their turn, are decided against the room's copy of the task, committed to D1 with their
//! change records, appended to the log and broadcast, with no notification round trip and
//! no read-back. The board is told afterwards, off the critical path.
//!
//! Writes queue up while a commit is in flight, and the next commit takes all of them
//! (group commit): each is still decided one at a time, against the version the one before
//! it left, but they travel to D1 in one batch, each write conditional on its predecessor's
//! version. So a hot task costs one D1 round trip per group, not per write.
//!
//! A keyed write (`Idempotency-Key`) is checked here first: the room is the one place both
//! tries of the same write arrive, so it can say "in use" (409) while the first is being
//! made; after that, the key is in D1, committed in the write's own batch, and its retry
//! gets the first response back.
//!
//! If D1 says the row moved (someone wrote D1 without going through this room), the room
//! reads the log and the row again and decides once more: events are never lost or doubled,
//! because the log only ever takes a change from D1's change log or from its own commit.

use std::cell::RefCell;
use std::collections::HashSet;

use futures::channel::oneshot;
use futures::lock::MutexGuard;
use worker::Result;

use super::object::Room;
use super::storage::KnownTask;
use super::stub;
use crate::runtime::{now, now_ms, Stages};
use crate::store::{KeyRecord, Store};
use hero_core::error::ApiError;
use hero_core::idempotency::{recall, Claim, Recall, StoredResponse};
use hero_core::room::{
    broadcast_delay_ms, ChangeNotice, LogIds, RoomKey, WriteOp, WriteReply, WriteRequest,
};
use hero_core::task::{
    decide_delete, decide_update, format_timestamp, Change, ChangeKind, Task, TaskChanges,
    UpdateOutcome,
};

/// How often a write is decided again after the room found its copy of the task stale.
const ATTEMPTS: u8 = 2;
/// The most writes one commit carries (two statements each in a D1 batch).
const GROUP_MAX: usize = 32;

/// A write waiting for its turn, and where its answer goes.
pub(super) struct QueuedWrite {
    changes: Option<TaskChanges>,
    request: WriteRequest,
    request_id: String,
    attempts: u8,
    enqueued_ms: i64,
    answer: oneshot::Sender<(WriteReply, Stages)>,
}

impl QueuedWrite {
    /// Answers the writer, with where its time went.
    fn answer(self, reply: WriteReply, stages: &Stages) {
        let mut mine = Stages::default();
        mine.record("queue", stages_start(stages) - self.enqueued_ms);
        let mut all = mine;
        for (name, ms) in stages.marks() {
            all.record(name, ms);
        }
        let _ = self.answer.send((reply, all));
    }
}

/// When the group's work began (its first stage), for the time a write waited before it.
fn stages_start(stages: &Stages) -> i64 {
    stages.started_at().unwrap_or_else(crate::runtime::now_ms)
}

impl Room {
    pub(super) async fn write(
        &self,
        key: &RoomKey,
        store: &Store,
        request: WriteRequest,
        request_id: &str,
    ) -> Result<(WriteReply, Stages)> {
        let changes = match &request.op {
            WriteOp::Update { patch } => match TaskChanges::for_patch(patch) {
                Ok(changes) => Some(changes),
                Err(errors) => {
                    return Ok((
                        WriteReply::Refused {
                            error: ApiError::Validation(errors),
                        },
                        Stages::default(),
                    ))
                }
            },
            WriteOp::Delete => None,
        };
        // A keyed write: in use (409), its retry (the first answer), or reused (422)?
        let _in_flight = match &request.claim {
            Some(claim) => {
                let user = &request.caller.user_id;
                let Some(guard) = KeyInFlight::take(&self.keys_in_flight, user, claim) else {
                    let error = ApiError::IdempotencyKeyInUse;
                    return Ok((WriteReply::Refused { error }, Stages::default()));
                };
                let stored = store
                    .stored_response(key.workspace_id(), user, claim)
                    .await
                    .map_err(|e| worker::Error::RustError(e.to_string()))?;
                match recall(stored, &claim.fingerprint) {
                    Ok(Recall::Fresh) => Some(guard),
                    Ok(Recall::Replay(response)) => {
                        return Ok((WriteReply::Replayed { response }, Stages::default()))
                    }
                    Err(error) => return Ok((WriteReply::Refused { error }, Stages::default())),
                }
            }
            None => None,
        };
        let (answer, answered) = oneshot::channel();
        self.queue.borrow_mut().push_back(QueuedWrite {
            changes,
            request,
            request_id: request_id.to_owned(),
            attempts: 0,
            enqueued_ms: now_ms(),
            answer,
        });
        // The first writer in commits for everyone queued behind it until the queue is empty.
        if !self.committing.replace(true) {
            let result = self.commit_queued(key, store).await;
            self.committing.set(false);
            result?;
            self.flush_paced(key).await;
        }
        answered
            .await
            .map_err(|_| worker::Error::RustError("a queued write was dropped".into()))
    }

    async fn commit_queued(&self, key: &RoomKey, store: &Store) -> Result<()> {
        loop {
            let group: Vec<QueuedWrite> = {
                let mut queue = self.queue.borrow_mut();
                let take = queue.len().min(GROUP_MAX);
                queue.drain(..take).collect()
            };
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
                let queued: Vec<QueuedWrite> = self.queue.borrow_mut().drain(..).collect();
                for queued in queued {
                    let error = ApiError::internal(&error);
                    queued.answer(WriteReply::Refused { error }, &stages);
                }
                return Err(error);
            }
            // A quiet room sends at once; a busy one leaves the rest to the paced flush.
            if let Some((at_ms, sockets)) = self.last_broadcast.get() {
                let wait = broadcast_delay_ms(
                    crate::runtime::now_ms(),
                    Some(at_ms),
                    sockets,
                    self.limits().frames_per_sec,
                );
                if wait == 0 {
                    self.flush_now(key);
                }
            } else {
                self.flush_now(key);
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
    ) -> Result<()> {
        let base = stages
            .time("load", self.current_task(key, store, turn))
            .await?;
        let Some(base) = base else {
            for queued in group {
                queued.answer(
                    WriteReply::Refused {
                        error: ApiError::task_not_found(),
                    },
                    stages,
                );
            }
            return Ok(());
        };
        let at = format_timestamp(now());
        let mut current = Some(base.clone());
        let mut decided: Vec<(QueuedWrite, Change)> = Vec::new();
        for queued in group {
            let Some(task) = &current else {
                let error = ApiError::task_not_found();
                queued.answer(WriteReply::Refused { error }, stages);
                continue;
            };
            match decide(task, &queued, &at) {
                Err(error) => queued.answer(WriteReply::Refused { error }, stages),
                Ok(None) => {
                    let task = Box::new(task.clone());
                    queued.answer(WriteReply::Unchanged { task }, stages);
                }
                Ok(Some(change)) => {
                    current = (change.kind != ChangeKind::Deleted).then(|| change.task.clone());
                    decided.push((queued, change));
                }
            }
        }
        if decided.is_empty() {
            return Ok(());
        }
        let changes: Vec<Change> = decided.iter().map(|(_, change)| change.clone()).collect();
        let keys: Vec<Option<KeyRecord>> = decided
            .iter()
            .map(|(queued, change)| key_record(queued, change, &at))
            .collect();
        let committed = stages
            .time("d1", store.commit(&changes, &keys, base.version))
            .await;
        match committed {
            Ok(Some(ids)) => {
                stages
                    .time("log", self.committed(key, store, &changes, &ids))
                    .await?;
                stages.record("group", decided.len() as i64);
                let noticed: Vec<(LogIds, Change)> =
                    ids.iter().copied().zip(changes.iter().cloned()).collect();
                self.tell_board(noticed, &decided[0].0.request_id);
                for ((queued, change), ids) in decided.into_iter().zip(ids) {
                    let change = Box::new(change);
                    queued.answer(WriteReply::Committed { change, ids }, stages);
                }
            }
            Ok(None) => {
                tracing::warn!(event = "stale_task", version = base.version, "room event");
                self.storage.forget_task()?;
                // Decide them again, first in line, against the row as D1 has it.
                let mut queue = self.queue.borrow_mut();
                for (mut queued, _) in decided.into_iter().rev() {
                    queued.attempts += 1;
                    if queued.attempts >= ATTEMPTS {
                        let error = ApiError::Conflict(
                            "the task was changed outside Hero twice while this write was made; retry"
                                .into(),
                        );
                        queued.answer(WriteReply::Refused { error }, stages);
                    } else {
                        queue.push_front(queued);
                    }
                }
            }
            Err(error) => {
                // Whether it committed is unknown: read the row and the log again next time.
                self.storage.forget_task()?;
                for (queued, _) in decided {
                    let error = ApiError::internal(&error);
                    queued.answer(WriteReply::Refused { error }, stages);
                }
            }
        }
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

    /// After a commit: remember the task, and put the changes in the log (directly when
    /// they follow on from it, else from D1).
    async fn committed(
        &self,
        key: &RoomKey,
        store: &Store,
        changes: &[Change],
        ids: &[LogIds],
    ) -> Result<()> {
        let Some(last) = changes.last() else {
            return Ok(());
        };
        let deleted = last.kind == ChangeKind::Deleted;
        self.storage.save_task((!deleted).then_some(&last.task))?;
        let (_, log_version) = self.storage.task()?;
        let cursor = self.storage.position()?.change_cursor;
        let fresh: Vec<(i64, Change)> = ids
            .iter()
            .zip(changes)
            .filter(|(ids, _)| ids.change_id > cursor)
            .map(|(ids, change)| (ids.change_id, change.clone()))
            .collect();
        match fresh.first() {
            None => Ok(()),
            Some((_, first)) if first.task.version == log_version + 1 => self.apply(key, fresh),
            Some(_) => self.catch_up(key, store).await,
        }
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

/// A keyed write's hold on its key while it is being made; let go when dropped, however the
/// write ends.
struct KeyInFlight<'a> {
    set: &'a RefCell<HashSet<String>>,
    entry: String,
}

impl<'a> KeyInFlight<'a> {
    /// The hold, or `None` when the same user's key is already being used.
    fn take(set: &'a RefCell<HashSet<String>>, user_id: &str, claim: &Claim) -> Option<Self> {
        // A key holds no newline, so the last one parts user from key: no two pairs meet.
        let entry = format!("{user_id}\n{}", claim.key.as_str());
        // A hold is made only when the key was free: one made and dropped for a key in use
        // would let go of the first request's hold.
        let inserted = set.borrow_mut().insert(entry.clone());
        if inserted {
            Some(KeyInFlight { set, entry })
        } else {
            None
        }
    }
}

impl Drop for KeyInFlight<'_> {
    fn drop(&mut self) {
        self.set.borrow_mut().remove(&self.entry);
    }
}

/// What one queued write does to `task`: the change to commit, `None` for nothing, or why
/// it is refused.
fn decide(
    task: &Task,
    queued: &QueuedWrite,
    at: &str,
) -> std::result::Result<Option<Change>, ApiError> {
    let precondition = queued.request.precondition.as_ref();
    let caller = &queued.request.caller;
    match &queued.changes {
        Some(changes) => {
            decide_update(task, changes, precondition, caller, at).map(|outcome| match outcome {
                UpdateOutcome::Unchanged => None,
                UpdateOutcome::Write(change) => Some(*change),
            })
        }
        None => decide_delete(task, precondition, caller, at).map(Some),
    }
}
