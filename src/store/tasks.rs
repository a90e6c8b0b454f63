//! Task rows: read, insert, conditional update and delete, and the list query.
//!
//! Every write goes in one batch with its change record. Updates and deletes are conditional
//! on the version the writer decided on (`AND version = ?`): if the row moved, the write
//! changes nothing and the record's `WHERE changes() = 1` keeps it out too, and the caller
//! learns it from the `None` it gets back.

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

use super::rows::{task_columns, TaskRow};
use super::{json, number, optional, text, Store, StoreError, StoreResult};
use hero_core::listing::ListQuery;
use hero_core::room::LogIds;
use hero_core::task::{Change, ChangeKind, Status, Task, TaskId};

const SELECT_TASK: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks WHERE workspace_id = ?1 AND id = ?2"
);

const INSERT_TASK: &str = concat!(
    "INSERT INTO tasks (",
    task_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
);

const UPDATE_TASK: &str = "UPDATE tasks SET title = ?3, description = ?4, status = ?5, \
     priority = ?6, assignee_id = ?7, due_date = ?8, tags = ?9, updated_at = ?10, \
     completed_at = ?11, version = ?12 \
     WHERE workspace_id = ?1 AND id = ?2 AND version = ?13";

const DELETE_TASK: &str = "DELETE FROM tasks WHERE workspace_id = ?1 AND id = ?2 AND version = ?3";

/// The change record of the write just before it in the batch: `changes() = 1` makes it
/// conditional on that write having touched its row, and it takes the workspace's next
/// `ws_seq` inside the same transaction.
const INSERT_CHANGE_IF_WRITTEN: &str = "INSERT INTO task_changes (workspace_id, task_id, \
     version, kind, changed, actor_id, actor_name, at, task, previous_status, ws_seq) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
        COALESCE((SELECT MAX(ws_seq) FROM task_changes WHERE workspace_id = ?1), 0) + 1 \
     WHERE changes() = 1 \
     RETURNING id, ws_seq";

const LIST_TASKS: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks \
     WHERE workspace_id = ?1 \
       AND (?2 IS NULL OR status = ?2) \
       AND (?3 IS NULL OR assignee_id = ?3) \
       AND (?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(tasks.tags) WHERE json_each.value = ?4)) \
       AND (?5 IS NULL OR instr(lower(title), ?5) > 0 OR instr(lower(description), ?5) > 0) \
       AND (?6 IS NULL OR created_at < ?6 OR (created_at = ?6 AND id < ?7)) \
     ORDER BY created_at DESC, id DESC \
     LIMIT ?8"
);

#[derive(Deserialize)]
struct IdsRow {
    id: f64,
    ws_seq: f64,
}

/// A task's columns in [`task_columns!`] order, for insert and update alike.
fn columns(task: &Task) -> StoreResult<[JsValue; 14]> {
    let due = task.due_date.map(|d| d.format("%Y-%m-%d").to_string());
    Ok([
        text(task.id.as_str()),
        text(&task.workspace_id),
        text(task.title.as_str()),
        text(&task.description),
        text(task.status.as_str()),
        text(task.priority.as_str()),
        optional(task.assignee_id.as_deref()),
        optional(due.as_deref()),
        text(&json(task.tags.as_slice())?),
        text(&task.created_by),
        text(&task.created_at),
        text(&task.updated_at),
        optional(task.completed_at.as_deref()),
        number(task.version),
    ])
}

impl Store {
    fn change_statement(&self, change: &Change) -> StoreResult<D1PreparedStatement> {
        self.prepare(
            INSERT_CHANGE_IF_WRITTEN,
            &[
                text(&change.task.workspace_id),
                text(change.task.id.as_str()),
                number(change.task.version),
                text(change.kind.as_str()),
                text(&json(&change.changed)?),
                text(&change.actor_id),
                text(&change.actor_name),
                text(&change.at),
                text(&json(&change.task)?),
                optional(change.previous_status.map(Status::as_str)),
            ],
        )
    }

    /// Runs a write and its change record as one batch. Returns where the record landed in
    /// the change log, or `None` when the write changed no row (so there is no record).
    async fn write_with_record(
        &self,
        write: D1PreparedStatement,
        change: &Change,
    ) -> StoreResult<Option<LogIds>> {
        let results = self
            .batch(vec![write, self.change_statement(change)?])
            .await?;
        for result in &results {
            if let Some(error) = result.error() {
                return Err(StoreError::Failed(error));
            }
        }
        let Some(record) = results.get(1) else {
            return Err(StoreError::Failed(
                "D1 batch returned too few results".into(),
            ));
        };
        let ids: Vec<IdsRow> = record.results()?;
        Ok(ids.first().map(|row| LogIds {
            change_id: row.id as i64,
            ws_seq: row.ws_seq as i64,
        }))
    }

    pub async fn get_task(&self, workspace_id: &str, id: &TaskId) -> StoreResult<Option<Task>> {
        let statement = self.prepare(SELECT_TASK, &[text(workspace_id), text(id.as_str())])?;
        let rows: Vec<TaskRow> = self.rows(statement).await?;
        rows.into_iter().next().map(TaskRow::into_task).transpose()
    }

    /// Inserts a new task and its `created` record in one transaction.
    pub async fn insert_task(&self, change: &Change) -> StoreResult<LogIds> {
        let insert = self.prepare(INSERT_TASK, &columns(&change.task)?)?;
        self.write_with_record(insert, change)
            .await?
            .ok_or_else(|| StoreError::Failed("the insert wrote no row".into()))
    }

    /// Commits an update or a delete if the stored version is still `expected_version`.
    /// `None`, having written nothing, when the row moved (or is gone).
    pub async fn commit(
        &self,
        change: &Change,
        expected_version: i64,
    ) -> StoreResult<Option<LogIds>> {
        let task = &change.task;
        let write = match change.kind {
            ChangeKind::Deleted => self.prepare(
                DELETE_TASK,
                &[
                    text(&task.workspace_id),
                    text(task.id.as_str()),
                    number(expected_version),
                ],
            )?,
            ChangeKind::Updated => {
                let [_, _, title, description, status, priority, assignee, due, tags, _, _, updated, completed, version] =
                    columns(task)?;
                self.prepare(
                    UPDATE_TASK,
                    &[
                        text(&task.workspace_id),
                        text(task.id.as_str()),
                        title,
                        description,
                        status,
                        priority,
                        assignee,
                        due,
                        tags,
                        updated,
                        completed,
                        version,
                        number(expected_version),
                    ],
                )?
            }
            ChangeKind::Created => {
                return Err(StoreError::Failed(
                    "a create is not a commit against a version".into(),
                ))
            }
        };
        self.write_with_record(write, change).await
    }

    /// Up to `query.limit + 1` tasks in list order (one extra row tells whether another
    /// page follows; [`hero_core::listing::TaskPage`] decides).
    pub async fn list_tasks(
        &self,
        workspace_id: &str,
        query: &ListQuery,
    ) -> StoreResult<Vec<Task>> {
        let needle = query.search_needle();
        let statement = self.prepare(
            LIST_TASKS,
            &[
                text(workspace_id),
                optional(query.status.map(Status::as_str)),
                optional(query.assignee.as_deref()),
                optional(query.tag.as_deref()),
                optional(needle.as_deref()),
                optional(query.after.as_ref().map(|c| c.created_at.as_str())),
                optional(query.after.as_ref().map(|c| c.id.as_str())),
                number(i64::from(query.limit) + 1),
            ],
        )?;
        let rows: Vec<TaskRow> = self.rows(statement).await?;
        rows.into_iter().map(TaskRow::into_task).collect()
    }
}

#[cfg(test)]
pub(super) const STATEMENTS: &[&str] = &[SELECT_TASK, UPDATE_TASK, DELETE_TASK, LIST_TASKS];
