//! Task rows: read, insert, conditional update and delete, and the list query.
//!
//! Updates and deletes are conditional on the version the caller decided on
//! (`AND version = ?`), which makes a read–decide–write atomic against concurrent writers: a
//! lost race changes zero rows, and the change record's `WHERE changes() = 1` keeps it from
//! being written either.

use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use super::rows::{task_columns, TaskRow};
use super::{bind, json, number, optional, text, StoreError, StoreResult};
use hero_core::listing::ListQuery;
use hero_core::task::{Change, Status, Task, TaskId};

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

/// The change record of the write just before it in the batch; `changes() = 1` makes it
/// conditional on that write having touched its row.
const INSERT_CHANGE_IF_WRITTEN: &str = "INSERT INTO task_changes (workspace_id, task_id, \
     version, kind, changed, actor_id, actor_name, at, task, previous_status) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 WHERE changes() = 1";

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

/// The bound values of a task's mutable columns, shared by insert and update.
struct MutableColumns {
    tags: JsValue,
    due_date: JsValue,
    assignee_id: JsValue,
    completed_at: JsValue,
    version: JsValue,
}

impl MutableColumns {
    fn of(task: &Task) -> StoreResult<Self> {
        let due = task.due_date.map(|d| d.format("%Y-%m-%d").to_string());
        Ok(MutableColumns {
            tags: text(&json(task.tags.as_slice())?),
            due_date: optional(due.as_deref()),
            assignee_id: optional(task.assignee_id.as_deref()),
            completed_at: optional(task.completed_at.as_deref()),
            version: number(task.version),
        })
    }
}

fn change_statement(db: &D1Database, change: &Change) -> StoreResult<D1PreparedStatement> {
    bind(
        db.prepare(INSERT_CHANGE_IF_WRITTEN),
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

fn rows_changed(result: &worker::D1Result) -> StoreResult<usize> {
    if let Some(error) = result.error() {
        return Err(StoreError::Failed(error));
    }
    Ok(result.meta()?.and_then(|m| m.changes).unwrap_or(0))
}

/// Runs a write and its change record as one D1 batch (one transaction) and returns how
/// many rows the write changed (the record is written only when that is one).
async fn write_with_record(
    db: &D1Database,
    write: D1PreparedStatement,
    change: &Change,
) -> StoreResult<usize> {
    let results = db.batch(vec![write, change_statement(db, change)?]).await?;
    Ok(results.first().map(rows_changed).transpose()?.unwrap_or(0))
}

pub async fn get_task(
    db: &D1Database,
    workspace_id: &str,
    id: &TaskId,
) -> StoreResult<Option<Task>> {
    let row: Option<TaskRow> = bind(
        db.prepare(SELECT_TASK),
        &[text(workspace_id), text(id.as_str())],
    )?
    .first(None)
    .await?;
    row.map(TaskRow::into_task).transpose()
}

/// Inserts a new task and its `created` record in one transaction.
pub async fn insert_task(db: &D1Database, change: &Change) -> StoreResult<()> {
    let task = &change.task;
    let columns = MutableColumns::of(task)?;
    let insert = bind(
        db.prepare(INSERT_TASK),
        &[
            text(task.id.as_str()),
            text(&task.workspace_id),
            text(task.title.as_str()),
            text(&task.description),
            text(task.status.as_str()),
            text(task.priority.as_str()),
            columns.assignee_id,
            columns.due_date,
            columns.tags,
            text(&task.created_by),
            text(&task.created_at),
            text(&task.updated_at),
            columns.completed_at,
            columns.version,
        ],
    )?;
    match write_with_record(db, insert, change).await? {
        1 => Ok(()),
        other => Err(StoreError::Failed(format!("insert changed {other} rows"))),
    }
}

/// Writes `change.task` if the stored version is still `expected_version`.
/// Returns false, having written nothing, when another write got there first.
pub async fn update_task(
    db: &D1Database,
    change: &Change,
    expected_version: i64,
) -> StoreResult<bool> {
    let task = &change.task;
    let columns = MutableColumns::of(task)?;
    let update = bind(
        db.prepare(UPDATE_TASK),
        &[
            text(&task.workspace_id),
            text(task.id.as_str()),
            text(task.title.as_str()),
            text(&task.description),
            text(task.status.as_str()),
            text(task.priority.as_str()),
            columns.assignee_id,
            columns.due_date,
            columns.tags,
            text(&task.updated_at),
            columns.completed_at,
            columns.version,
            number(expected_version),
        ],
    )?;
    Ok(write_with_record(db, update, change).await? == 1)
}

/// Deletes the task if its stored version is still `expected_version`.
pub async fn delete_task(
    db: &D1Database,
    change: &Change,
    expected_version: i64,
) -> StoreResult<bool> {
    let task = &change.task;
    let delete = bind(
        db.prepare(DELETE_TASK),
        &[
            text(&task.workspace_id),
            text(task.id.as_str()),
            number(expected_version),
        ],
    )?;
    Ok(write_with_record(db, delete, change).await? == 1)
}

/// Up to `query.limit + 1` tasks in list order (one extra row tells whether another page
/// follows; [`hero_core::listing::TaskPage`] decides).
pub async fn list_tasks(
    db: &D1Database,
    workspace_id: &str,
    query: &ListQuery,
) -> StoreResult<Vec<Task>> {
    let needle = query.search_needle();
    let statement = bind(
        db.prepare(LIST_TASKS),
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
    let rows: Vec<TaskRow> = statement.all().await?.results()?;
    rows.into_iter().map(TaskRow::into_task).collect()
}

#[cfg(test)]
pub(super) const STATEMENTS: &[&str] = &[SELECT_TASK, UPDATE_TASK, DELETE_TASK, LIST_TASKS];
