//! The workspace report's aggregates: three grouped counts in one D1 batch.

use serde::Deserialize;

use super::{text, Store, StoreError, StoreResult};
use hero_core::analytics::{week_start, Analytics};

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

impl Store {
    /// The report for `workspace_id` as of `today` (UTC), counted by D1.
    pub async fn analytics(
        &self,
        workspace_id: &str,
        today: chrono::NaiveDate,
    ) -> StoreResult<Analytics> {
        let week_start = week_start(today);
        let today_text = today.format("%Y-%m-%d").to_string();
        let week_start_text = format!("{}T00:00:00.000Z", week_start.format("%Y-%m-%d"));
        let results = self
            .batch(vec![
                self.prepare(COUNT_BY_STATUS, &[text(workspace_id)])?,
                self.prepare(COUNT_BY_PRIORITY, &[text(workspace_id)])?,
                self.prepare(
                    COUNT_OVERDUE_AND_DONE,
                    &[
                        text(workspace_id),
                        text(&today_text),
                        text(&week_start_text),
                    ],
                )?,
            ])
            .await?;
        let result = |index: usize| {
            results
                .get(index)
                .ok_or_else(|| StoreError::Failed("D1 batch returned too few results".into()))
        };
        let counts = |index: usize| -> StoreResult<Vec<(String, u64)>> {
            let rows: Vec<KeyCount> = result(index)?.results()?;
            Ok(rows
                .into_iter()
                .map(|row| (row.key, row.n as u64))
                .collect())
        };
        let by_status = counts(0)?;
        let by_priority = counts(1)?;
        let totals: Vec<OverdueAndDone> = result(2)?.results()?;
        let (overdue, done_this_week) = totals
            .first()
            .map_or((0, 0), |t| (t.overdue as u64, t.done_this_week as u64));
        Ok(Analytics::from_counts(
            &by_status,
            &by_priority,
            overdue,
            done_this_week,
            week_start,
        ))
    }
}

#[cfg(test)]
pub(super) const STATEMENTS: &[&str] =
    &[COUNT_BY_STATUS, COUNT_BY_PRIORITY, COUNT_OVERDUE_AND_DONE];
