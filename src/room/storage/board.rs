//! A board's own state: its per-task facts and counts (analytics without D1), the day
//! its figures were last made for, and who is in each task's room.

use std::collections::BTreeMap;

use crate::room::error::{RoomError, RoomResult};
use serde::Deserialize;

use super::{int, RoomStorage};
use hero_core::analytics::{Bucket, TaskFacts};
use hero_core::protocol::UserInfo;
use hero_core::room::TaskViewers;
use hero_core::task::TaskId;

impl RoomStorage {
    /// Whether this board has counted its workspace.
    pub fn board_counted(&self) -> RoomResult<bool> {
        let rows: Vec<DayRow> = self
            .sql
            .exec("SELECT analytics_day FROM board_state WHERE id = 1", None)?
            .to_array()?;
        Ok(!rows.is_empty())
    }

    pub fn mark_board_counted(&self) -> RoomResult<()> {
        self.sql.exec(
            "INSERT OR IGNORE INTO board_state (id, analytics_day) VALUES (1, 0)",
            None,
        )?;
        Ok(())
    }

    /// The UTC day (days since the epoch) of the analytics the board last sent.
    pub fn analytics_day(&self) -> RoomResult<i64> {
        let row: Option<DayRow> =
            self.first_row("SELECT analytics_day FROM board_state WHERE id = 1", None)?;
        Ok(row.as_ref().map_or(0, |row| row.analytics_day as i64))
    }

    pub fn set_analytics_day(&self, day: i64) -> RoomResult<()> {
        self.sql.exec(
            "UPDATE board_state SET analytics_day = ? WHERE id = 1",
            vec![int(day)],
        )?;
        Ok(())
    }

    /// The facts the board holds for one task, if it holds the task.
    pub fn board_facts(&self, task_id: &TaskId) -> RoomResult<Option<TaskFacts>> {
        let row: Option<FactsRow> = self.first_row(
            "SELECT facts FROM board_tasks WHERE task_id = ?",
            vec![task_id.as_str().into()],
        )?;
        row.as_ref()
            .map(|row| serde_json::from_str(&row.facts).map_err(RoomError::from))
            .transpose()
    }

    /// Records a task's facts (`None`: gone) and moves the counters by `deltas`.
    pub fn count_board_task(
        &self,
        task_id: &TaskId,
        facts: Option<&TaskFacts>,
        deltas: &[(Bucket, i64)],
    ) -> RoomResult<()> {
        match facts {
            Some(facts) => {
                let json = serde_json::to_string(facts)?;
                self.sql.exec(
                    "INSERT INTO board_tasks (task_id, facts) VALUES (?, ?) \
                     ON CONFLICT (task_id) DO UPDATE SET facts = excluded.facts",
                    vec![task_id.as_str().into(), json.into()],
                )?;
            }
            None => {
                self.sql.exec(
                    "DELETE FROM board_tasks WHERE task_id = ?",
                    vec![task_id.as_str().into()],
                )?;
            }
        }
        for (bucket, delta) in deltas {
            self.sql.exec(
                "INSERT INTO board_counts (bucket, n) VALUES (?, ?) \
                 ON CONFLICT (bucket) DO UPDATE SET n = n + excluded.n",
                vec![bucket.key().into(), int(*delta)],
            )?;
        }
        self.sql
            .exec("DELETE FROM board_counts WHERE n = 0", None)?;
        Ok(())
    }

    /// Every counter the board keeps.
    pub fn board_counts(&self) -> RoomResult<Vec<(Bucket, u64)>> {
        let rows: Vec<CountRow> = self
            .sql
            .exec("SELECT bucket, n FROM board_counts", None)?
            .to_array()?;
        Ok(rows
            .into_iter()
            .filter_map(|row| Some((Bucket::parse(&row.bucket)?, row.n.max(0.0) as u64)))
            .collect())
    }

    /// A board: takes a task room's report unless a newer one is already in. `false` when
    /// it was older (and changed nothing).
    pub fn take_task_viewers(&self, report: &TaskViewers) -> RoomResult<bool> {
        let task_id = report.task_id.as_str();
        let deleted: Option<TaskIdRow> = self.first_row(
            "SELECT task_id FROM board_deleted_tasks WHERE task_id = ?",
            vec![task_id.into()],
        )?;
        if deleted.is_some() {
            return Ok(false); // nobody is in a deleted task's room
        }
        let row: Option<AtRow> = self.first_row(
            "SELECT at_ms FROM board_task_presence WHERE task_id = ?",
            vec![task_id.into()],
        )?;
        if row
            .as_ref()
            .is_some_and(|row| row.at_ms as i64 > report.at_ms)
        {
            return Ok(false);
        }
        if report.users.is_empty() {
            self.sql.exec(
                "DELETE FROM board_task_presence WHERE task_id = ?",
                vec![task_id.into()],
            )?;
        } else {
            let json = serde_json::to_string(&report.users)?;
            self.sql.exec(
                "INSERT INTO board_task_presence (task_id, users, at_ms) VALUES (?, ?, ?) \
                 ON CONFLICT (task_id) DO UPDATE SET users = excluded.users, \
                 at_ms = excluded.at_ms",
                vec![task_id.into(), json.into(), int(report.at_ms)],
            )?;
        }
        Ok(true)
    }

    /// A board: a deleted task has nobody in its room, now or later.
    pub fn forget_deleted_task(&self, task_id: &TaskId) -> RoomResult<()> {
        self.sql.exec(
            "DELETE FROM board_task_presence WHERE task_id = ?",
            vec![task_id.as_str().into()],
        )?;
        self.sql.exec(
            "INSERT OR IGNORE INTO board_deleted_tasks (task_id) VALUES (?)",
            vec![task_id.as_str().into()],
        )?;
        Ok(())
    }

    /// A board: who is in each task's room, for a welcome.
    pub fn task_viewers(&self) -> RoomResult<BTreeMap<String, Vec<UserInfo>>> {
        let rows: Vec<TaskUsersRow> = self
            .sql
            .exec("SELECT task_id, users FROM board_task_presence", None)?
            .to_array()?;
        rows.into_iter()
            .map(|row| {
                let users = serde_json::from_str(&row.users)?;
                Ok((row.task_id, users))
            })
            .collect()
    }
}

#[derive(Deserialize)]
struct FactsRow {
    facts: String,
}

#[derive(Deserialize)]
struct CountRow {
    bucket: String,
    n: f64,
}

#[derive(Deserialize)]
struct AtRow {
    at_ms: f64,
}

#[derive(Deserialize)]
struct TaskUsersRow {
    task_id: String,
    users: String,
}

#[derive(Deserialize)]
struct DayRow {
    analytics_day: f64,
}

#[derive(Deserialize)]
struct TaskIdRow {
    #[allow(dead_code)] // only its presence counts
    task_id: String,
}
