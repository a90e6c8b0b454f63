//! Task rows: read, insert, conditional update and delete, and the list query.
//!
//! Every write goes in one batch with its change record. Updates and deletes are conditional
//! on the version the writer decided on (`AND version = ?`): if the row moved, the write
//! changes nothing and the record's `WHERE changes() = 1` keeps it out too, and the caller
//! learns it from the `None` it gets back.

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

use super::keys::KeyRecord;
use super::rows::{task_columns, TaskRow};
use super::{json, number, optional, text, Store, StoreError, StoreResult};
use hero_core::list_plan::{self, SqlValue};
use hero_core::listing::ListQuery;
use hero_core::room::{ChangeId, LogIds, WsSeq};
use hero_core::task::{
    changed_columns, update_sql, Change, ChangeKind, Status, Task, TaskColumn, TaskId,
};

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

const DELETE_TASK: &str = "DELETE FROM tasks WHERE workspace_id = ?1 AND id = ?2 AND version = ?3";

/// The change record of the write just before it in the batch: `changes() = 1` makes it
/// conditional on that write having touched its row, and it takes the workspace's next
/// `ws_seq` inside the same transaction.
const INSERT_CHANGE_IF_WRITTEN: &str = "INSERT INTO task_changes (workspace_id, task_id, \
     version, kind, changed, actor_id, actor_name, at, task, previous_status, editors, ws_seq) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, \
        COALESCE((SELECT MAX(ws_seq) FROM task_changes WHERE workspace_id = ?1), 0) + 1 \
     WHERE changes() = 1 \
     RETURNING id, ws_seq";

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

/// The value `column` takes in `task`, for an UPDATE that sets it.
fn column_value(task: &Task, column: TaskColumn) -> StoreResult<JsValue> {
    Ok(match column {
        TaskColumn::Title => text(task.title.as_str()),
        TaskColumn::Description => text(&task.description),
        TaskColumn::Status => text(task.status.as_str()),
        TaskColumn::Priority => text(task.priority.as_str()),
        TaskColumn::AssigneeId => optional(task.assignee_id.as_deref()),
        TaskColumn::DueDate => {
            let due = task.due_date.map(|d| d.format("%Y-%m-%d").to_string());
            optional(due.as_deref())
        }
        TaskColumn::Tags => text(&json(task.tags.as_slice())?),
        TaskColumn::UpdatedAt => text(&task.updated_at),
        TaskColumn::CompletedAt => optional(task.completed_at.as_deref()),
        TaskColumn::Version => number(task.version),
    })
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
                match change.editors.as_slice() {
                    [] => JsValue::NULL,
                    editors => text(&json(editors)?),
                },
            ],
        )
    }

    /// Runs a write, its change record and (for a keyed write) its idempotency key as one
    /// batch. Returns where the record landed in the change log, or `None` when the write
    /// changed no row (so there is no record, and no key).
    async fn write_with_record(
        &self,
        write: D1PreparedStatement,
        change: &Change,
        key: Option<&KeyRecord>,
    ) -> StoreResult<Option<LogIds>> {
        let mut statements = vec![write, self.change_statement(change)?];
        if let Some(key) = key {
            statements.extend(self.key_statements(key)?);
        }
        let results = self.batch(statements).await?;
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
            change_id: ChangeId(row.id as i64),
            ws_seq: WsSeq(row.ws_seq as i64),
        }))
    }

    pub async fn get_task(&self, workspace_id: &str, id: &TaskId) -> StoreResult<Option<Task>> {
        let statement = self.prepare(SELECT_TASK, &[text(workspace_id), text(id.as_str())])?;
        let rows: Vec<TaskRow> = self.rows(statement).await?;
        rows.into_iter().next().map(TaskRow::into_task).transpose()
    }

    /// Inserts a new task and its `created` record (and its idempotency key, if it has one)
    /// in one transaction. A task id that exists already is [`StoreError::Duplicate`].
    pub async fn insert_task(
        &self,
        change: &Change,
        key: Option<&KeyRecord>,
    ) -> StoreResult<LogIds> {
        let insert = self.prepare(INSERT_TASK, &columns(&change.task)?)?;
        self.write_with_record(insert, change, key)
            .await?
            .ok_or_else(|| StoreError::Failed("the insert wrote no row".into()))
    }

    /// The statement that writes `change` over `before`, if the stored version is still
    /// `before`'s: a delete, or an update of only the columns that changed.
    fn write_statement(&self, before: &Task, change: &Change) -> StoreResult<D1PreparedStatement> {
        let task = &change.task;
        let mut values = vec![
            text(&task.workspace_id),
            text(task.id.as_str()),
            number(before.version),
        ];
        match change.kind {
            ChangeKind::Deleted => self.prepare(DELETE_TASK, &values),
            ChangeKind::Updated => {
                let columns = changed_columns(before, task);
                for column in &columns {
                    values.push(column_value(task, *column)?);
                }
                self.prepare(&update_sql(&columns), &values)
            }
            ChangeKind::Created => Err(StoreError::Failed(
                "a create is not a commit against a version".into(),
            )),
        }
    }

    /// Commits a run of updates (and at most a final delete) of one task, decided one after
    /// another from `base`, in one batch: each write is conditional on the version the one
    /// before it left, with its change record after it (and its idempotency key, for a
    /// keyed write: `keys` runs alongside `changes`). All of them commit, or, when the
    /// stored row was not at `base`'s version, none: `None`.
    pub async fn commit(
        &self,
        base: &Task,
        changes: &[Change],
        keys: &[Option<KeyRecord>],
    ) -> StoreResult<Option<Vec<LogIds>>> {
        let mut statements = Vec::with_capacity(changes.len() * 2);
        // Where each change record sits in the batch, to read its ids back.
        let mut records = Vec::with_capacity(changes.len());
        let mut before = base;
        for (index, change) in changes.iter().enumerate() {
            statements.push(self.write_statement(before, change)?);
            records.push(statements.len());
            statements.push(self.change_statement(change)?);
            if let Some(Some(key)) = keys.get(index) {
                statements.extend(self.key_statements(key)?);
            }
            before = &change.task;
        }
        let results = self.batch(statements).await?;
        if let Some(error) = results.iter().find_map(|result| result.error()) {
            return Err(StoreError::Failed(error));
        }
        let mut ids = Vec::with_capacity(changes.len());
        for index in records {
            let result = results
                .get(index)
                .ok_or_else(|| StoreError::Failed("D1 batch returned too few results".into()))?;
            let rows: Vec<IdsRow> = result.results()?;
            match rows.first() {
                Some(row) => ids.push(LogIds {
                    change_id: ChangeId(row.id as i64),
                    ws_seq: WsSeq(row.ws_seq as i64),
                }),
                // the first write changed no row: the chain wrote nothing
                None if ids.is_empty() => return Ok(None),
                None => {
                    return Err(StoreError::Failed(
                        "a batch of writes committed in part".into(),
                    ))
                }
            }
        }
        Ok(Some(ids))
    }

    /// Up to `query.limit + 1` tasks in list order, each with its `seq` (one extra row
    /// tells whether another page follows; [`hero_core::listing::TaskPage`] decides), read
    /// by the one statement [`list_plan`] builds.
    pub async fn list_tasks(
        &self,
        workspace_id: &str,
        query: &ListQuery,
    ) -> StoreResult<Vec<(i64, Task)>> {
        let Some(statement) = list_plan::list_statement(task_columns!(), workspace_id, query)
        else {
            return Ok(Vec::new());
        };
        let values: Vec<JsValue> = statement
            .params
            .iter()
            .map(|value| match value {
                SqlValue::Text(value) => text(value),
                SqlValue::Integer(value) => number(*value),
            })
            .collect();
        let rows: Vec<TaskRow> = self.rows(self.prepare(&statement.sql, &values)?).await?;
        rows.into_iter().map(TaskRow::into_listed).collect()
    }
}

pub(super) const STATEMENTS: &[&str] = &[SELECT_TASK, DELETE_TASK, INSERT_CHANGE_IF_WRITTEN];
