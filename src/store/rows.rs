//! The columns Hero reads, written once, and how a row becomes a core type.
//!
//! Rows were validated on the way in; a row that fails here means the table was edited by
//! hand, which is reported as [`StoreError::Corrupt`] rather than served half-parsed.

use serde::Deserialize;

use super::StoreError;
use hero_core::room::{ChangeId, LogIds, WsSeq};
use hero_core::task::{Change, ChangeKind, Priority, Status, Tags, Task, TaskId, Title};

/// The `tasks` columns every task query selects, in [`TaskRow`] order.
macro_rules! task_columns {
    () => {
        "id, workspace_id, title, description, status, priority, assignee_id, due_date, tags, \
         created_by, created_at, updated_at, completed_at, version"
    };
}
pub(super) use task_columns;

/// The same list, for code outside the store (the list query and its plan test).
pub const TASK_COLUMNS: &str = task_columns!();

/// The `task_changes` columns every change query selects, in [`ChangeRow`] order.
macro_rules! change_columns {
    () => {
        "id, ws_seq, kind, changed, previous_status, actor_id, actor_name, at, task, editors"
    };
}
pub(super) use change_columns;

/// A `tasks` row as D1 returns it.
#[derive(Debug, Deserialize)]
pub(super) struct TaskRow {
    id: String,
    workspace_id: String,
    title: String,
    description: String,
    status: String,
    priority: String,
    assignee_id: Option<String>,
    due_date: Option<String>,
    tags: String,
    created_by: String,
    created_at: String,
    updated_at: String,
    completed_at: Option<String>,
    version: f64,
    /// The rowid, which only a list selects (`list_plan::SEQ_COLUMN`): a search's order
    /// and cursor.
    #[serde(default)]
    seq: Option<f64>,
}

impl TaskRow {
    /// A listed row: the task and its `seq`.
    pub(super) fn into_listed(self) -> Result<(i64, Task), StoreError> {
        let seq = self
            .seq
            .ok_or_else(|| StoreError::Corrupt(format!("listed task {} has no seq", self.id)))?;
        Ok((seq as i64, self.into_task()?))
    }

    pub(super) fn into_task(self) -> Result<Task, StoreError> {
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("task {} has a bad {what}", self.id));
        let tags: Vec<serde_json::Value> =
            serde_json::from_str(&self.tags).map_err(|_| corrupt("tags"))?;
        Ok(Task {
            id: TaskId::parse(&self.id).ok_or_else(|| corrupt("id"))?,
            title: Title::parse(&self.title).map_err(|_| corrupt("title"))?,
            status: Status::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            priority: Priority::parse(&self.priority).ok_or_else(|| corrupt("priority"))?,
            tags: Tags::parse(&tags).map_err(|_| corrupt("tags"))?,
            due_date: match self.due_date.as_deref() {
                None => None,
                Some(text) => Some(
                    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                        .map_err(|_| corrupt("due_date"))?,
                ),
            },
            workspace_id: self.workspace_id,
            description: self.description,
            assignee_id: self.assignee_id,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
            completed_at: self.completed_at,
            version: self.version as i64,
        })
    }
}

/// A `task_changes` row as D1 returns it.
#[derive(Debug, Deserialize)]
pub(super) struct ChangeRow {
    id: f64,
    /// NULL only in rows written before migration 0003 and not renumbered by it (none).
    ws_seq: Option<f64>,
    kind: String,
    changed: String,
    previous_status: Option<String>,
    actor_id: String,
    actor_name: String,
    at: String,
    task: String,
    /// Migration 0006: who typed a document flush (NULL otherwise).
    editors: Option<String>,
}

impl ChangeRow {
    pub(super) fn into_change(self) -> Result<(LogIds, Change), StoreError> {
        let id = self.id as i64;
        let ids = LogIds {
            change_id: ChangeId(id),
            ws_seq: WsSeq(self.ws_seq.map_or(0, |seq| seq as i64)),
        };
        let corrupt = |what: &str| StoreError::Corrupt(format!("change {id} has a bad {what}"));
        let change = Change {
            kind: ChangeKind::parse(&self.kind).ok_or_else(|| corrupt("kind"))?,
            task: serde_json::from_str(&self.task).map_err(|_| corrupt("task"))?,
            changed: serde_json::from_str(&self.changed).map_err(|_| corrupt("changed"))?,
            previous_status: match self.previous_status.as_deref() {
                None => None,
                Some(raw) => Some(Status::parse(raw).ok_or_else(|| corrupt("previous_status"))?),
            },
            actor_id: self.actor_id,
            actor_name: self.actor_name,
            at: self.at,
            editors: match self.editors.as_deref() {
                None => Vec::new(),
                Some(json) => serde_json::from_str(json).map_err(|_| corrupt("editors"))?,
            },
        };
        Ok((ids, change))
    }
}
