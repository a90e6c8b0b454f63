//! The room's durable event log: which committed changes become which events, how they are
//! numbered, and what the log keeps.
//!
//! A room applies the D1 change log in commit order from its cursor (a [`LogCursor`]: the
//! last [`ChangeId`] a task room applied, the last [`WsSeq`] of a board). Each change
//! becomes one or two events numbered from the room's own `seq`, so a client resumes with
//! `?since=<seq>` whatever else the database holds. [`on_committed`] decides it all; the
//! Durable Object stores and sends what it says.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::effects::{Effects, StorageWrite, StoredAppend};
use super::RoomKind;
use crate::analytics::{bucket_deltas, TaskFacts};
use crate::protocol::{Actor, ServerMessage};
use crate::task::{Change, ChangeKind, TaskId};

/// The durable events one committed change produces, numbered from `next_seq`. An update
/// that moved the status is `task_updated` followed by `task_status_changed`.
pub fn events_for_change(change: &Change, next_seq: u64) -> Vec<ServerMessage> {
    let actor = Actor {
        id: change.actor_id.clone(),
        name: change.actor_name.clone(),
    };
    let at = change.at.clone();
    let task_id = change.task.id.to_string();
    match change.kind {
        ChangeKind::Created => vec![ServerMessage::TaskCreated {
            seq: next_seq,
            at,
            actor,
            task: change.task.clone(),
        }],
        ChangeKind::Deleted => vec![ServerMessage::TaskDeleted {
            seq: next_seq,
            at,
            actor,
            task_id,
        }],
        ChangeKind::Updated => {
            let mut events = vec![ServerMessage::TaskUpdated {
                seq: next_seq,
                at: at.clone(),
                actor: actor.clone(),
                task: change.task.clone(),
                changed: change.changed.clone(),
            }];
            if let Some(from) = change
                .previous_status
                .filter(|from| *from != change.task.status)
            {
                events.push(ServerMessage::TaskStatusChanged {
                    seq: next_seq + 1,
                    at,
                    actor,
                    task_id,
                    from,
                    to: change.task.status,
                });
            }
            events
        }
    }
}

/// `task_changes.id`: the global commit order, a task room's place in the change log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChangeId(pub i64);

/// `task_changes.ws_seq`: the commit order within one workspace, without gaps, a board's
/// place in the change log (so it knows whether a change it is told of is the next one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WsSeq(pub i64);

/// Where a committed change sits in the change log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogIds {
    pub change_id: ChangeId,
    pub ws_seq: WsSeq,
}

/// The unit a room counts its place in the change log in: a task room reads its task's
/// changes by [`ChangeId`], a board its workspace's by [`WsSeq`].
pub trait LogCursor: Copy + Ord + Default + std::fmt::Debug {
    /// This room's cursor value of a change.
    fn of(ids: &LogIds) -> Self;
    /// As the room's SQLite stores it.
    fn raw(self) -> i64;
    fn from_raw(raw: i64) -> Self;
}

impl LogCursor for ChangeId {
    fn of(ids: &LogIds) -> Self {
        ids.change_id
    }
    fn raw(self) -> i64 {
        self.0
    }
    fn from_raw(raw: i64) -> Self {
        ChangeId(raw)
    }
}

impl LogCursor for WsSeq {
    fn of(ids: &LogIds) -> Self {
        ids.ws_seq
    }
    fn raw(self) -> i64 {
        self.0
    }
    fn from_raw(raw: i64) -> Self {
        WsSeq(raw)
    }
}

/// Where a room's log stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogPosition<C> {
    /// The `seq` of the last durable event.
    pub seq: u64,
    /// The last change applied.
    pub cursor: C,
}

/// What appending a run of committed changes does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendPlan<C> {
    /// The new events, numbered and serialized, in `seq` order: stored in the log as they
    /// are, so a replay sends exactly what the live sockets got. (They go out in `batch`
    /// frames when several are waiting: see [`crate::protocol::batch_frames`].)
    pub events: Vec<(u64, String)>,
    pub position: LogPosition<C>,
    /// The task's version after the last change applied (`None` when nothing was): a task
    /// room knows from it whether the next change it commits follows on directly.
    pub last_version: Option<i64>,
    /// Events at or below this `seq` leave the log: it keeps the last `log_size`.
    pub trim_through: u64,
    /// A task room whose task was deleted closes every socket (4004) once the event is out.
    pub close_everyone: bool,
}

/// Plans the append of `changes` to a log at `position`, in commit order. Changes at or
/// below the cursor were applied already and are skipped, so reading an overlapping range
/// twice never sends an event twice.
pub fn plan_append<C: LogCursor>(
    position: LogPosition<C>,
    changes: &[(LogIds, Change)],
    kind: RoomKind,
    log_size: u64,
) -> AppendPlan<C> {
    let LogPosition {
        mut seq,
        mut cursor,
    } = position;
    let mut events = Vec::new();
    let mut close_everyone = false;
    let mut last_version = None;
    for (ids, change) in changes {
        if C::of(ids) <= cursor {
            continue;
        }
        for event in events_for_change(change, seq + 1) {
            seq = event.seq().unwrap_or(seq + 1);
            events.push((seq, event.to_json()));
        }
        cursor = C::of(ids);
        last_version = Some(change.task.version);
        close_everyone |= kind == RoomKind::Task && change.kind == ChangeKind::Deleted;
    }
    AppendPlan {
        events,
        last_version,
        position: LogPosition { seq, cursor },
        trim_through: seq.saturating_sub(log_size),
        close_everyone,
    }
}

impl<C: LogCursor> From<&AppendPlan<C>> for StoredAppend {
    fn from(plan: &AppendPlan<C>) -> Self {
        StoredAppend {
            events: plan.events.clone(),
            seq: plan.position.seq,
            cursor: plan.position.cursor.raw(),
            last_version: plan.last_version,
            trim_through: plan.trim_through,
        }
    }
}

/// What a room needs to take in committed changes.
#[derive(Debug, Clone)]
pub struct CommittedSnapshot<C> {
    pub kind: RoomKind,
    pub position: LogPosition<C>,
    pub log_size: u64,
    /// Board: each changed task's facts as the board last counted them (`None`: not
    /// counted, or deleted). Empty in a task room.
    pub counted: BTreeMap<TaskId, Option<TaskFacts>>,
}

/// Committed changes, in commit order, reach the room (from its own commit, a notice, or
/// D1's change log): the log takes the new ones and publishes their events; a board moves
/// its counts and forgets deleted tasks; a task room whose task was deleted closes.
pub fn on_committed<C: LogCursor>(
    snapshot: CommittedSnapshot<C>,
    changes: &[(LogIds, Change)],
) -> Effects {
    let plan = plan_append(snapshot.position, changes, snapshot.kind, snapshot.log_size);
    let mut storage = Vec::new();
    if snapshot.kind == RoomKind::Board {
        let mut counted = snapshot.counted;
        for (ids, change) in changes {
            if C::of(ids) > snapshot.position.cursor {
                storage.push(count(&mut counted, change));
            }
        }
    }
    storage.push(StorageWrite::Append(StoredAppend::from(&plan)));
    if plan.close_everyone {
        // A deleted task's document goes with it.
        storage.push(StorageWrite::ForgetDoc);
    }
    if snapshot.kind == RoomKind::Board {
        storage.extend(
            changes
                .iter()
                .filter(|(ids, c)| {
                    C::of(ids) > snapshot.position.cursor && c.kind == ChangeKind::Deleted
                })
                .map(|(_, c)| StorageWrite::ForgetTask(c.task.id.clone())),
        );
    }
    Effects {
        storage,
        publish: plan.events.into_iter().map(|(_, frame)| frame).collect(),
        close_everyone: plan.close_everyone,
        ..Effects::default()
    }
}

/// Moves a board's counts for one change: the task's facts before (as counted so far) and
/// after (from the change).
fn count(counted: &mut BTreeMap<TaskId, Option<TaskFacts>>, change: &Change) -> StorageWrite {
    let after = (change.kind != ChangeKind::Deleted).then(|| TaskFacts::of(&change.task));
    let before = counted.get(&change.task.id).cloned().flatten();
    let deltas = bucket_deltas(before.as_ref(), after.as_ref());
    counted.insert(change.task.id.clone(), after.clone());
    StorageWrite::CountTask {
        task_id: change.task.id.clone(),
        facts: after,
        deltas,
    }
}

/// What a task room does after its own commit: the changes it just committed follow on
/// from its log (append them as they are), or D1 holds changes it has not seen in between
/// (read them from there), or it has them all already.
#[derive(Debug, Clone, PartialEq)]
pub enum AfterCommit {
    Append,
    CatchUp,
    Nothing,
}

/// `log_version` is the task's version after the last change in the log.
pub fn after_commit(
    position: LogPosition<ChangeId>,
    log_version: i64,
    committed: &[(LogIds, Change)],
) -> AfterCommit {
    match committed
        .iter()
        .find(|(ids, _)| ids.change_id > position.cursor)
    {
        None => AfterCommit::Nothing,
        Some((_, first)) if first.task.version == log_version + 1 => AfterCommit::Append,
        Some(_) => AfterCommit::CatchUp,
    }
}

/// What a board does with a change it is told about, given the last `ws_seq` it applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeAction {
    /// Applied already (a repeat, or read from D1 meanwhile): nothing.
    Stale,
    /// The very next one: apply it as it is, without reading D1.
    Next,
    /// One or more before it are missing (lost, or still on their way): read them from D1.
    Gap,
}

pub fn notice_action(cursor: WsSeq, ws_seq: WsSeq) -> NoticeAction {
    match ws_seq.0 - cursor.0 {
        i64::MIN..=0 => NoticeAction::Stale,
        1 => NoticeAction::Next,
        _ => NoticeAction::Gap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::{new_task, Status};
    use serde_json::json;

    fn change(kind: ChangeKind, status: &str, previous_status: Option<Status>) -> Change {
        Change {
            kind,
            task: new_task(json!({"title": "t", "status": status})),
            changed: vec!["status".into()],
            previous_status,
            actor_id: "ana".into(),
            actor_name: "Ana".into(),
            at: "2026-01-01T00:00:00.000Z".into(),
            editors: Vec::new(),
        }
    }

    #[test]
    fn a_status_change_is_two_events_with_consecutive_seqs() {
        let events = events_for_change(&change(ChangeKind::Updated, "done", Some(Status::Todo)), 7);
        let seqs: Vec<_> = events.iter().filter_map(ServerMessage::seq).collect();
        assert_eq!(seqs, [7, 8]);
        assert!(matches!(
            events[1],
            ServerMessage::TaskStatusChanged {
                from: Status::Todo,
                to: Status::Done,
                ..
            }
        ));
        let events = events_for_change(&change(ChangeKind::Updated, "done", Some(Status::Done)), 7);
        assert_eq!(events.len(), 1);
        assert_eq!(
            events_for_change(&change(ChangeKind::Created, "todo", None), 1).len(),
            1
        );
        assert!(matches!(
            events_for_change(&change(ChangeKind::Deleted, "todo", None), 2)[0],
            ServerMessage::TaskDeleted { seq: 2, .. }
        ));
    }

    fn ids(n: i64) -> LogIds {
        LogIds {
            change_id: ChangeId(n * 10),
            ws_seq: WsSeq(n),
        }
    }

    #[test]
    fn appends_number_from_the_log_and_skip_what_was_applied() {
        let position = LogPosition {
            seq: 10,
            cursor: WsSeq(5),
        };
        let changes = vec![
            (
                ids(4),
                change(ChangeKind::Updated, "todo", Some(Status::Todo)),
            ),
            (
                ids(5),
                change(ChangeKind::Updated, "todo", Some(Status::Todo)),
            ),
            (
                ids(6),
                change(ChangeKind::Updated, "done", Some(Status::Todo)),
            ),
            (ids(9), change(ChangeKind::Created, "todo", None)),
        ];
        let plan = plan_append(position, &changes, RoomKind::Board, 1000);
        let seqs: Vec<u64> = plan.events.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(seqs, [11, 12, 13], "4 and 5 were applied already");
        assert_eq!(
            plan.position,
            LogPosition {
                seq: 13,
                cursor: WsSeq(9)
            }
        );
        assert_eq!(plan.last_version, Some(1));
        assert!(!plan.close_everyone);
        assert_eq!(plan.trim_through, 0);
        // A task room counts the same changes by their change ids.
        let by_change_id = plan_append(
            LogPosition {
                seq: 10,
                cursor: ChangeId(50),
            },
            &changes,
            RoomKind::Task,
            1000,
        );
        assert_eq!(by_change_id.position.cursor, ChangeId(90));
        assert_eq!(by_change_id.events.len(), 3);
    }

    #[test]
    fn the_log_keeps_its_size_and_a_deleted_task_closes_its_room_only() {
        let position = LogPosition {
            seq: 20,
            cursor: WsSeq(1),
        };
        let deleted = vec![(ids(2), change(ChangeKind::Deleted, "todo", None))];
        let task_room = plan_append(position, &deleted, RoomKind::Task, 5);
        assert_eq!(task_room.trim_through, 16, "keeps seqs 17..=21");
        assert!(task_room.close_everyone);
        let board = plan_append(position, &deleted, RoomKind::Board, 5);
        assert!(!board.close_everyone);
        let nothing_new = plan_append(position, &[], RoomKind::Task, 5);
        assert!(nothing_new.events.is_empty());
        assert_eq!(nothing_new.last_version, None);
        assert_eq!(nothing_new.position, position);
    }

    #[test]
    fn a_board_counts_each_new_change_against_the_one_before() {
        let created = change(ChangeKind::Created, "todo", None);
        let mut done = change(ChangeKind::Updated, "done", Some(Status::Todo));
        done.task.id = created.task.id.clone();
        let mut deleted = change(ChangeKind::Deleted, "done", None);
        deleted.task.id = created.task.id.clone();
        let snapshot = CommittedSnapshot {
            kind: RoomKind::Board,
            position: LogPosition {
                seq: 0,
                cursor: WsSeq(0),
            },
            log_size: 100,
            counted: BTreeMap::new(),
        };
        let changes = [(ids(1), created), (ids(2), done), (ids(3), deleted)];
        let effects = on_committed(snapshot, &changes);
        let counts: Vec<(Option<Status>, i64)> = effects
            .storage
            .iter()
            .filter_map(|write| match write {
                StorageWrite::CountTask { facts, deltas, .. } => Some((
                    facts.as_ref().map(|f| f.status),
                    deltas.iter().map(|(_, n)| n).sum(),
                )),
                _ => None,
            })
            .collect();
        // created: +buckets; done: moves them (net 0 on status, +1 completed day); deleted:
        // every bucket it was in goes down.
        assert_eq!(counts[0].0, Some(Status::Todo));
        assert_eq!(counts[1].0, Some(Status::Done));
        assert_eq!(counts[2].0, None);
        assert!(counts[2].1 < 0, "{counts:?}");
        assert!(matches!(
            effects.storage.last(),
            Some(StorageWrite::ForgetTask(_))
        ));
        assert_eq!(
            effects.publish.len(),
            4,
            "created, updated + status, deleted"
        );
        assert!(!effects.close_everyone, "a board stays open");
    }

    #[test]
    fn a_task_room_appends_its_own_commit_only_when_it_follows_on() {
        let position = LogPosition {
            seq: 3,
            cursor: ChangeId(30),
        };
        let mut next = change(ChangeKind::Updated, "todo", Some(Status::Todo));
        next.task.version = 5;
        let committed = [(ids(4), next)];
        assert_eq!(after_commit(position, 4, &committed), AfterCommit::Append);
        assert_eq!(after_commit(position, 3, &committed), AfterCommit::CatchUp);
        let seen = LogPosition {
            seq: 3,
            cursor: ChangeId(40),
        };
        assert_eq!(after_commit(seen, 4, &committed), AfterCommit::Nothing);
    }

    #[test]
    fn a_board_applies_only_the_next_change_as_told() {
        assert_eq!(notice_action(WsSeq(7), WsSeq(8)), NoticeAction::Next);
        assert_eq!(notice_action(WsSeq(7), WsSeq(7)), NoticeAction::Stale);
        assert_eq!(notice_action(WsSeq(7), WsSeq(3)), NoticeAction::Stale);
        assert_eq!(notice_action(WsSeq(7), WsSeq(9)), NoticeAction::Gap);
        assert_eq!(notice_action(WsSeq(0), WsSeq(1)), NoticeAction::Next);
    }
}
