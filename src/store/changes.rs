//! The change log (`task_changes`): one row per committed write, in commit order. A task
//! room catches up by `id`, the board by `ws_seq`; the activity history is numbered and
//! paged by `ws_seq`, which counts one workspace's changes only (the global `id` would let
//! anyone measure every other workspace's write rate from the gaps in their own).

use wasm_bindgen::JsValue;

use super::rows::{change_columns, ChangeRow};
use super::{number, text, Store, StoreResult};
use hero_core::room::{ChangeId, LogIds, WsSeq};
use hero_core::task::{Change, TaskId};

const CHANGES_OF_TASK_AFTER: &str = concat!(
    "SELECT ",
    change_columns!(),
    " FROM task_changes WHERE workspace_id = ?1 AND task_id = ?2 AND id > ?3 ORDER BY id LIMIT ?4"
);

const CHANGES_OF_WORKSPACE_AFTER: &str = concat!(
    "SELECT ",
    change_columns!(),
    " FROM task_changes WHERE workspace_id = ?1 AND ws_seq > ?2 ORDER BY ws_seq LIMIT ?3"
);

/// A page of a task's history, newest first, before the workspace's change number `?3`
/// (`ws_seq`; NULL: the first page). Within one workspace `id` and `ws_seq` grow together
/// (each record takes both in its own transaction), so "before `ws_seq` ?3" is "before the
/// `id` of the first record at or past it", found on the workspace's unique `ws_seq` index:
/// the page is read from the task's `(task_id, id)` index as it always was, and a cursor
/// that names no record (every record is before it) bounds nothing.
const ACTIVITY_OF_TASK: &str = concat!(
    "SELECT ",
    change_columns!(),
    " FROM task_changes WHERE workspace_id = ?1 AND task_id = ?2 \
     AND (?3 IS NULL OR id < COALESCE((SELECT bound.id FROM task_changes AS bound \
        WHERE bound.workspace_id = ?1 AND bound.ws_seq >= ?3 ORDER BY bound.ws_seq LIMIT 1), \
        9007199254740991)) \
     ORDER BY id DESC LIMIT ?4"
);

impl Store {
    async fn change_rows(
        &self,
        sql: &str,
        values: &[JsValue],
    ) -> StoreResult<Vec<(LogIds, Change)>> {
        let rows: Vec<ChangeRow> = self.rows(self.prepare(sql, values)?).await?;
        rows.into_iter().map(ChangeRow::into_change).collect()
    }

    /// A task's committed changes after change `after`, in commit order: what its room
    /// has not seen yet.
    pub async fn changes_of_task_after(
        &self,
        workspace_id: &str,
        task_id: &TaskId,
        after: ChangeId,
        limit: u32,
    ) -> StoreResult<Vec<(LogIds, Change)>> {
        self.change_rows(
            CHANGES_OF_TASK_AFTER,
            &[
                text(workspace_id),
                text(task_id.as_str()),
                number(after.0),
                number(i64::from(limit)),
            ],
        )
        .await
    }

    /// A workspace's committed changes after `after`, in commit order: what its
    /// board has not seen yet.
    pub async fn changes_of_workspace_after(
        &self,
        workspace_id: &str,
        after: WsSeq,
        limit: u32,
    ) -> StoreResult<Vec<(LogIds, Change)>> {
        self.change_rows(
            CHANGES_OF_WORKSPACE_AFTER,
            &[
                text(workspace_id),
                number(after.0),
                number(i64::from(limit)),
            ],
        )
        .await
    }

    /// Up to `limit + 1` changes of a task, newest first, each with its number in the
    /// workspace (`ws_seq`), older than `before` (such a number) when given
    /// ([`hero_core::activity::ActivityPage`] makes the page of them).
    pub async fn activity(
        &self,
        workspace_id: &str,
        task_id: &TaskId,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<(i64, Change)>> {
        let rows = self
            .change_rows(
                ACTIVITY_OF_TASK,
                &[
                    text(workspace_id),
                    text(task_id.as_str()),
                    before.map_or(JsValue::NULL, number),
                    number(i64::from(limit) + 1),
                ],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(ids, change)| (ids.ws_seq.0, change))
            .collect())
    }
}

pub(super) const STATEMENTS: &[&str] = &[
    CHANGES_OF_TASK_AFTER,
    CHANGES_OF_WORKSPACE_AFTER,
    ACTIVITY_OF_TASK,
];
