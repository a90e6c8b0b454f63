//! What a board reads from D1 to count a workspace it has never counted: where the change
//! log stands, and every task's facts, a page at a time.

use serde::Deserialize;

use super::{number, text, Store, StoreError, StoreResult};
use hero_core::analytics::{completed_day, TaskFacts};
use hero_core::room::WsSeq;
use hero_core::task::{Priority, Status, TaskId};

const WORKSPACE_SEQ: &str =
    "SELECT COALESCE(MAX(ws_seq), 0) AS seq FROM task_changes WHERE workspace_id = ?1";

/// Tasks in id order after `?2` (`''` for the first page): a board counting a workspace
/// pages through it with this, each page a seek on `tasks_by_workspace_id` (migration 0004).
const TASK_FACTS_PAGE: &str = "SELECT id, status, priority, due_date, completed_at FROM tasks \
     WHERE workspace_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3";

#[derive(Deserialize)]
struct SeqRow {
    seq: f64,
}

#[derive(Deserialize)]
struct FactsRow {
    id: String,
    status: String,
    priority: String,
    due_date: Option<String>,
    completed_at: Option<String>,
}

impl FactsRow {
    fn into_facts(self) -> StoreResult<(TaskId, TaskFacts)> {
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("task {} has a bad {what}", self.id));
        let facts = TaskFacts {
            status: Status::parse(&self.status).ok_or_else(|| corrupt("status"))?,
            priority: Priority::parse(&self.priority).ok_or_else(|| corrupt("priority"))?,
            due_date: match self.due_date.as_deref() {
                None => None,
                Some(day) => Some(
                    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                        .map_err(|_| corrupt("due_date"))?,
                ),
            },
            completed_on: completed_day(self.completed_at.as_deref()),
        };
        Ok((TaskId::parse(&self.id).ok_or_else(|| corrupt("id"))?, facts))
    }
}

impl Store {
    async fn seq(&self, sql: &str, values: &[wasm_bindgen::JsValue]) -> StoreResult<i64> {
        let rows: Vec<SeqRow> = self.rows(self.prepare(sql, values)?).await?;
        Ok(rows.first().map_or(0, |row| row.seq as i64))
    }

    /// The `ws_seq` of the workspace's last committed change (0 when it has none).
    pub async fn workspace_seq(&self, workspace_id: &str) -> StoreResult<WsSeq> {
        Ok(WsSeq(self.seq(WORKSPACE_SEQ, &[text(workspace_id)]).await?))
    }

    /// Up to `limit` tasks after `after` in id order, with the facts the board counts.
    pub async fn task_facts_page(
        &self,
        workspace_id: &str,
        after: Option<&TaskId>,
        limit: u32,
    ) -> StoreResult<Vec<(TaskId, TaskFacts)>> {
        let statement = self.prepare(
            TASK_FACTS_PAGE,
            &[
                text(workspace_id),
                text(after.map_or("", TaskId::as_str)),
                number(i64::from(limit)),
            ],
        )?;
        let rows: Vec<FactsRow> = self.rows(statement).await?;
        rows.into_iter().map(FactsRow::into_facts).collect()
    }
}

pub(super) const STATEMENTS: &[&str] = &[WORKSPACE_SEQ, TASK_FACTS_PAGE];
