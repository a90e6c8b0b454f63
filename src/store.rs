//! D1 access for tasks. Every query is a constant with bound parameters (`?1`…), and every
//! query filters on the caller's workspace: no path in here can reach another tenant's rows.
//!
//! Writes go in a D1 batch (one transaction) together with their `task_changes` record, so
//! a write and its record are both committed or neither is. Updates and deletes are
//! conditional on the version the caller read (`AND version = ?`), which makes the
//! read–modify–write atomic against concurrent writers: a lost race changes zero rows and the
//! change record's `WHERE changes() = 1` keeps it from being written either.

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use crate::analytics::Analytics;
use crate::domain::{Change, ChangeKind, Priority, Status, Tags, Task, TaskId, Title};
use crate::error::ApiError;
use crate::listing::{Cursor, ListQuery};

const SELECT_TASK: &str = "SELECT id, workspace_id, title, description, status, priority, \
     assignee_id, due_date, tags, created_by, created_at, updated_at, completed_at, version \
     FROM tasks WHERE workspace_id = ?1 AND id = ?2";

const INSERT_TASK: &str = "INSERT INTO tasks (id, workspace_id, title, description, status, \
     priority, assignee_id, due_date, tags, created_by, created_at, updated_at, completed_at, \
     version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";

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

const LIST_TASKS: &str = "SELECT id, workspace_id, title, description, status, priority, \
     assignee_id, due_date, tags, created_by, created_at, updated_at, completed_at, version \
     FROM tasks \
     WHERE workspace_id = ?1 \
       AND (?2 IS NULL OR status = ?2) \
       AND (?3 IS NULL OR assignee_id = ?3) \
       AND (?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(tasks.tags) WHERE json_each.value = ?4)) \
       AND (?5 IS NULL OR instr(lower(title), ?5) > 0 OR instr(lower(description), ?5) > 0) \
       AND (?6 IS NULL OR created_at < ?6 OR (created_at = ?6 AND id < ?7)) \
     ORDER BY created_at DESC, id DESC \
     LIMIT ?8";

const COUNT_BY_STATUS: &str =
    "SELECT status AS key, COUNT(*) AS n FROM tasks WHERE workspace_id = ?1 GROUP BY status";
const COUNT_BY_PRIORITY: &str =
    "SELECT priority AS key, COUNT(*) AS n FROM tasks WHERE workspace_id = ?1 GROUP BY priority";
const COUNT_OVERDUE_AND_DONE: &str = "SELECT \
     COALESCE(SUM(CASE WHEN due_date IS NOT NULL AND due_date < ?2 AND status <> 'done' \
         THEN 1 ELSE 0 END), 0) AS overdue, \
     COALESCE(SUM(CASE WHEN status = 'done' AND completed_at >= ?3 THEN 1 ELSE 0 END), 0) \
         AS done_this_week \
     FROM tasks WHERE workspace_id = ?1";

/// A `tasks` row as D1 returns it.
#[derive(Debug, Deserialize)]
struct TaskRow {
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
}

impl TaskRow {
    /// Rows were validated on the way in; a row that fails here means the table was edited
    /// by hand, which is reported as an internal error rather than served half-parsed.
    fn into_task(self) -> Result<Task, ApiError> {
        let corrupt = |what: &str| ApiError::internal(format!("task {} has a bad {what}", self.id));
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

fn text(value: &str) -> JsValue {
    JsValue::from_str(value)
}

fn optional(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

fn number(value: i64) -> JsValue {
    JsValue::from_f64(value as f64)
}

fn d1_error(error: worker::Error) -> ApiError {
    let message = error.to_string();
    if message.contains("UNIQUE constraint failed") {
        ApiError::Conflict("a concurrent write got there first; retry".into())
    } else if message.contains("CHECK constraint failed") {
        // Validation should have caught it; the database is the last line, not a 500.
        tracing::warn!(cause = %message, "a write broke a table constraint");
        ApiError::Validation(vec![crate::domain::FieldError::new(
            "",
            "the task breaks a storage rule (a field is out of range)",
        )])
    } else {
        ApiError::internal(format!("D1: {message}"))
    }
}

fn bind(
    statement: D1PreparedStatement,
    values: &[JsValue],
) -> Result<D1PreparedStatement, ApiError> {
    statement.bind(values).map_err(d1_error)
}

fn task_values(task: &Task) -> Result<[JsValue; 5], ApiError> {
    let tags = serde_json::to_string(task.tags.as_slice()).map_err(ApiError::internal)?;
    let due = task.due_date.map(|d| d.format("%Y-%m-%d").to_string());
    Ok([
        text(&tags),
        optional(due.as_deref()),
        optional(task.assignee_id.as_deref()),
        optional(task.completed_at.as_deref()),
        number(task.version),
    ])
}

fn change_statement(db: &D1Database, change: &Change) -> Result<D1PreparedStatement, ApiError> {
    let changed = serde_json::to_string(&change.changed).map_err(ApiError::internal)?;
    let snapshot = serde_json::to_string(&change.task).map_err(ApiError::internal)?;
    bind(
        db.prepare(INSERT_CHANGE_IF_WRITTEN),
        &[
            text(&change.task.workspace_id),
            text(change.task.id.as_str()),
            number(change.task.version),
            text(change.kind.as_str()),
            text(&changed),
            text(&change.actor_id),
            text(&change.actor_name),
            text(&change.at),
            text(&snapshot),
            optional(change.previous_status.map(Status::as_str)),
        ],
    )
}

fn rows_changed(result: &worker::D1Result) -> Result<usize, ApiError> {
    if let Some(error) = result.error() {
        return Err(ApiError::internal(format!("D1: {error}")));
    }
    let meta = result.meta().map_err(d1_error)?;
    Ok(meta.and_then(|m| m.changes).unwrap_or(0))
}

/// Runs a write and its change record as one D1 batch (one transaction) and returns how
/// many rows the write changed (the record is written only when that is one).
async fn write_with_record(
    db: &D1Database,
    write: D1PreparedStatement,
    change: &Change,
) -> Result<usize, ApiError> {
    let results = db
        .batch(vec![write, change_statement(db, change)?])
        .await
        .map_err(d1_error)?;
    Ok(results.first().map(rows_changed).transpose()?.unwrap_or(0))
}

pub async fn get_task(
    db: &D1Database,
    workspace_id: &str,
    id: &TaskId,
) -> Result<Option<Task>, ApiError> {
    let row: Option<TaskRow> = bind(
        db.prepare(SELECT_TASK),
        &[text(workspace_id), text(id.as_str())],
    )?
    .first(None)
    .await
    .map_err(d1_error)?;
    row.map(TaskRow::into_task).transpose()
}

/// Inserts a new task and its `created` record in one transaction.
pub async fn insert_task(db: &D1Database, change: &Change) -> Result<(), ApiError> {
    let task = &change.task;
    let [tags, due, assignee, completed, version] = task_values(task)?;
    let insert = bind(
        db.prepare(INSERT_TASK),
        &[
            text(task.id.as_str()),
            text(&task.workspace_id),
            text(task.title.as_str()),
            text(&task.description),
            text(task.status.as_str()),
            text(task.priority.as_str()),
            assignee,
            due,
            tags,
            text(&task.created_by),
            text(&task.created_at),
            text(&task.updated_at),
            completed,
            version,
        ],
    )?;
    match write_with_record(db, insert, change).await? {
        1 => Ok(()),
        other => Err(ApiError::internal(format!("insert changed {other} rows"))),
    }
}

/// Writes `change.task` if the stored version is still `expected_version`.
/// Returns false, having written nothing, when another write got there first.
pub async fn update_task(
    db: &D1Database,
    change: &Change,
    expected_version: i64,
) -> Result<bool, ApiError> {
    let task = &change.task;
    let [tags, due, assignee, completed, version] = task_values(task)?;
    let update = bind(
        db.prepare(UPDATE_TASK),
        &[
            text(&task.workspace_id),
            text(task.id.as_str()),
            text(task.title.as_str()),
            text(&task.description),
            text(task.status.as_str()),
            text(task.priority.as_str()),
            assignee,
            due,
            tags,
            text(&task.updated_at),
            completed,
            version,
            number(expected_version),
        ],
    )?;
    Ok(write_with_record(db, update, change).await? == 1)
}

/// Deletes the task if its stored version is still `change.task.version - 1`.
pub async fn delete_task(
    db: &D1Database,
    change: &Change,
    expected_version: i64,
) -> Result<bool, ApiError> {
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

/// One page of tasks, and the cursor of the next page if there is one.
pub async fn list_tasks(
    db: &D1Database,
    workspace_id: &str,
    query: &ListQuery,
) -> Result<(Vec<Task>, Option<Cursor>), ApiError> {
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
            // one extra row tells whether another page follows
            number(i64::from(query.limit) + 1),
        ],
    )?;
    let rows: Vec<TaskRow> = statement
        .all()
        .await
        .map_err(d1_error)?
        .results()
        .map_err(d1_error)?;
    let mut tasks = rows
        .into_iter()
        .map(TaskRow::into_task)
        .collect::<Result<Vec<_>, _>>()?;
    let limit = query.limit as usize;
    let next = if tasks.len() > limit {
        tasks.truncate(limit);
        tasks.last().map(|last| Cursor {
            created_at: last.created_at.clone(),
            id: last.id.to_string(),
        })
    } else {
        None
    };
    Ok((tasks, next))
}

#[derive(Deserialize)]
struct KeyCount {
    key: String,
    n: f64,
}

#[derive(Deserialize)]
struct OverdueAndDone {
    overdue: f64,
    done_this_week: f64,
}

pub async fn analytics(
    db: &D1Database,
    workspace_id: &str,
    today: chrono::NaiveDate,
) -> Result<Analytics, ApiError> {
    let week_start = crate::analytics::week_start(today);
    let today_text = today.format("%Y-%m-%d").to_string();
    let week_start_text = format!("{}T00:00:00.000Z", week_start.format("%Y-%m-%d"));
    let results = db
        .batch(vec![
            bind(db.prepare(COUNT_BY_STATUS), &[text(workspace_id)])?,
            bind(db.prepare(COUNT_BY_PRIORITY), &[text(workspace_id)])?,
            bind(
                db.prepare(COUNT_OVERDUE_AND_DONE),
                &[
                    text(workspace_id),
                    text(&today_text),
                    text(&week_start_text),
                ],
            )?,
        ])
        .await
        .map_err(d1_error)?;
    let counts = |index: usize| -> Result<Vec<(String, u64)>, ApiError> {
        let rows: Vec<KeyCount> = results
            .get(index)
            .ok_or_else(|| ApiError::internal("D1 batch returned too few results"))?
            .results()
            .map_err(d1_error)?;
        Ok(rows
            .into_iter()
            .map(|row| (row.key, row.n as u64))
            .collect())
    };
    let by_status = counts(0)?;
    let by_priority = counts(1)?;
    let totals: Vec<OverdueAndDone> = results
        .get(2)
        .ok_or_else(|| ApiError::internal("D1 batch returned too few results"))?
        .results()
        .map_err(d1_error)?;
    let totals = totals
        .first()
        .map_or((0, 0), |t| (t.overdue as u64, t.done_this_week as u64));
    Ok(Analytics::from_counts(
        &by_status,
        &by_priority,
        totals.0,
        totals.1,
        week_start,
    ))
}

const CHANGES_OF_TASK_AFTER: &str = "SELECT id, kind, changed, previous_status, actor_id, \
     actor_name, at, task FROM task_changes \
     WHERE workspace_id = ?1 AND task_id = ?2 AND id > ?3 ORDER BY id LIMIT ?4";

const CHANGES_OF_WORKSPACE_AFTER: &str = "SELECT id, kind, changed, previous_status, actor_id, \
     actor_name, at, task FROM task_changes \
     WHERE workspace_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3";

const ACTIVITY_OF_TASK: &str = "SELECT id, kind, changed, previous_status, actor_id, \
     actor_name, at, task FROM task_changes \
     WHERE workspace_id = ?1 AND task_id = ?2 AND (?3 IS NULL OR id < ?3) \
     ORDER BY id DESC LIMIT ?4";

/// A `task_changes` row as D1 returns it.
#[derive(Debug, Deserialize)]
struct ChangeRow {
    id: f64,
    kind: String,
    changed: String,
    previous_status: Option<String>,
    actor_id: String,
    actor_name: String,
    at: String,
    task: String,
}

impl ChangeRow {
    fn into_change(self) -> Result<(i64, Change), ApiError> {
        let id = self.id as i64;
        let corrupt = |what: &str| ApiError::internal(format!("change {id} has a bad {what}"));
        let kind = match self.kind.as_str() {
            "created" => ChangeKind::Created,
            "updated" => ChangeKind::Updated,
            "deleted" => ChangeKind::Deleted,
            _ => return Err(corrupt("kind")),
        };
        let change = Change {
            kind,
            task: serde_json::from_str(&self.task).map_err(|_| corrupt("task"))?,
            changed: serde_json::from_str(&self.changed).map_err(|_| corrupt("changed"))?,
            previous_status: match self.previous_status.as_deref() {
                None => None,
                Some(raw) => Some(Status::parse(raw).ok_or_else(|| corrupt("previous_status"))?),
            },
            actor_id: self.actor_id,
            actor_name: self.actor_name,
            at: self.at,
        };
        Ok((id, change))
    }
}

async fn change_rows(statement: D1PreparedStatement) -> Result<Vec<(i64, Change)>, ApiError> {
    let rows: Vec<ChangeRow> = statement
        .all()
        .await
        .map_err(d1_error)?
        .results()
        .map_err(d1_error)?;
    rows.into_iter().map(ChangeRow::into_change).collect()
}

/// Committed changes after `after_id`, in commit order: what a room has not seen yet.
/// `task_id` narrows it to one task's room; without it, the whole workspace (the board).
pub async fn changes_after(
    db: &D1Database,
    workspace_id: &str,
    task_id: Option<&str>,
    after_id: i64,
    limit: u32,
) -> Result<Vec<(i64, Change)>, ApiError> {
    let statement = match task_id {
        Some(task_id) => bind(
            db.prepare(CHANGES_OF_TASK_AFTER),
            &[
                text(workspace_id),
                text(task_id),
                number(after_id),
                number(i64::from(limit)),
            ],
        )?,
        None => bind(
            db.prepare(CHANGES_OF_WORKSPACE_AFTER),
            &[
                text(workspace_id),
                number(after_id),
                number(i64::from(limit)),
            ],
        )?,
    };
    change_rows(statement).await
}

/// A page of a task's history, newest first, and the cursor of the next page.
pub async fn activity(
    db: &D1Database,
    workspace_id: &str,
    task_id: &TaskId,
    before_id: Option<i64>,
    limit: u32,
) -> Result<(Vec<(i64, Change)>, Option<i64>), ApiError> {
    let statement = bind(
        db.prepare(ACTIVITY_OF_TASK),
        &[
            text(workspace_id),
            text(task_id.as_str()),
            before_id.map_or(JsValue::NULL, number),
            number(i64::from(limit) + 1),
        ],
    )?;
    let mut rows = change_rows(statement).await?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|(id, _)| *id)
    } else {
        None
    };
    Ok((rows, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_statement_is_scoped_to_a_workspace_and_bound() {
        for sql in [
            SELECT_TASK,
            UPDATE_TASK,
            DELETE_TASK,
            LIST_TASKS,
            COUNT_BY_STATUS,
            COUNT_BY_PRIORITY,
            COUNT_OVERDUE_AND_DONE,
            CHANGES_OF_TASK_AFTER,
            CHANGES_OF_WORKSPACE_AFTER,
            ACTIVITY_OF_TASK,
        ] {
            assert!(sql.contains("workspace_id = ?1"), "{sql}");
        }
    }
}
