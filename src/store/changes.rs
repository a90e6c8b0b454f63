//! The change log (`task_changes`): one row per committed write, in commit order by `id`.
//! Rooms catch up from it; the activity history pages through it.

use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use super::rows::{change_columns, ChangeRow};
use super::{bind, number, text, StoreResult};
use hero_core::task::{Change, TaskId};

const CHANGES_OF_TASK_AFTER: &str = concat!(
    "SELECT ",
    change_columns!(),
    " FROM task_changes WHERE workspace_id = ?1 AND task_id = ?2 AND id > ?3 ORDER BY id LIMIT ?4"
);

const CHANGES_OF_WORKSPACE_AFTER: &str = concat!(
    "SELECT ",
    change_columns!(),
    " FROM task_changes WHERE workspace_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
);

const ACTIVITY_OF_TASK: &str = concat!(
    "SELECT ",
    change_columns!(),
    " FROM task_changes WHERE workspace_id = ?1 AND task_id = ?2 AND (?3 IS NULL OR id < ?3) \
     ORDER BY id DESC LIMIT ?4"
);

async fn change_rows(statement: D1PreparedStatement) -> StoreResult<Vec<(i64, Change)>> {
    let rows: Vec<ChangeRow> = statement.all().await?.results()?;
    rows.into_iter().map(ChangeRow::into_change).collect()
}

/// Committed changes after `after_id`, in commit order: what a room has not seen yet.
/// `task_id` narrows it to one task's room; without it, the whole workspace (the board).
pub async fn changes_after(
    db: &D1Database,
    workspace_id: &str,
    task_id: Option<&TaskId>,
    after_id: i64,
    limit: u32,
) -> StoreResult<Vec<(i64, Change)>> {
    let statement = match task_id {
        Some(task_id) => bind(
            db.prepare(CHANGES_OF_TASK_AFTER),
            &[
                text(workspace_id),
                text(task_id.as_str()),
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

/// Up to `limit + 1` changes of a task, newest first, older than `before_id` when given
/// ([`hero_core::activity::ActivityPage`] makes the page of them).
pub async fn activity(
    db: &D1Database,
    workspace_id: &str,
    task_id: &TaskId,
    before_id: Option<i64>,
    limit: u32,
) -> StoreResult<Vec<(i64, Change)>> {
    let statement = bind(
        db.prepare(ACTIVITY_OF_TASK),
        &[
            text(workspace_id),
            text(task_id.as_str()),
            before_id.map_or(JsValue::NULL, number),
            number(i64::from(limit) + 1),
        ],
    )?;
    change_rows(statement).await
}

#[cfg(test)]
pub(super) const STATEMENTS: &[&str] = &[
    CHANGES_OF_TASK_AFTER,
    CHANGES_OF_WORKSPACE_AFTER,
    ACTIVITY_OF_TASK,
];
