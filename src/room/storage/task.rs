//! A task room's copy of its task: the row its writes are decided against.

use serde::Deserialize;
use worker::{Result, SqlStorageValue};

use super::{storage_error, RoomStorage};
use hero_core::task::Task;

/// What a task room knows of its task.
#[derive(Debug, Clone, PartialEq)]
pub enum KnownTask {
    /// Not loaded from D1 yet (a new room, or one that found its copy stale).
    Unknown,
    /// Deleted: the room answers 404 without asking D1 again.
    Gone,
    Current(Box<Task>),
}

impl RoomStorage {
    /// What this task room knows of its task, and the version of the last change in its log.
    pub fn task(&self) -> Result<(KnownTask, i64)> {
        let row: Option<TaskStateRow> = self.first_row(
            "SELECT state, task, log_version FROM room_task WHERE id = 1",
            None,
        )?;
        let Some(row) = row else {
            return Ok((KnownTask::Unknown, 0));
        };
        let known = match (row.state.as_str(), row.task.as_deref()) {
            ("current", Some(json)) => {
                KnownTask::Current(Box::new(serde_json::from_str(json).map_err(storage_error)?))
            }
            ("gone", _) => KnownTask::Gone,
            _ => KnownTask::Unknown,
        };
        Ok((known, row.log_version as i64))
    }

    /// Remembers the task as it is now (`None`: deleted).
    pub fn save_task(&self, task: Option<&Task>) -> Result<()> {
        let (state, json) = match task {
            Some(task) => (
                "current",
                serde_json::to_string(task).map_err(storage_error)?.into(),
            ),
            None => ("gone", SqlStorageValue::Null),
        };
        self.sql.exec(
            "INSERT INTO room_task (id, state, task) VALUES (1, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, task = excluded.task",
            vec![state.into(), json],
        )?;
        Ok(())
    }

    /// Forgets the task, so the next write loads it from D1 again.
    pub fn forget_task(&self) -> Result<()> {
        self.sql.exec(
            "UPDATE room_task SET state = 'unknown', task = NULL WHERE id = 1",
            None,
        )?;
        Ok(())
    }
}

#[derive(Deserialize)]
struct TaskStateRow {
    state: String,
    task: Option<String>,
    log_version: f64,
}
