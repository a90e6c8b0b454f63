//! A task room's copy of its task: the row its writes are decided against.

use crate::room::error::RoomResult;
use serde::Deserialize;
use worker::SqlStorageValue;

use super::RoomStorage;
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
    pub fn task(&self) -> RoomResult<(KnownTask, i64)> {
        let row: Option<TaskStateRow> = self.first_row(
            "SELECT state, task, log_version FROM room_task WHERE id = 1",
            None,
        )?;
        let Some(row) = row else {
            return Ok((KnownTask::Unknown, 0));
        };
        let known = match (row.state.as_str(), row.task.as_deref()) {
            ("current", Some(json)) => KnownTask::Current(Box::new(serde_json::from_str(json)?)),
            ("gone", _) => KnownTask::Gone,
            _ => KnownTask::Unknown,
        };
        Ok((known, row.log_version as i64))
    }

    /// Whether the room holds its task as it is now (not deleted, not unknown).
    pub fn task_is_current(&self) -> RoomResult<bool> {
        Ok(matches!(self.task()?.0, KnownTask::Current(_)))
    }

    /// Remembers the task as it is now (`None`: deleted).
    pub fn save_task(&self, task: Option<&Task>) -> RoomResult<()> {
        let (state, json) = match task {
            Some(task) => ("current", serde_json::to_string(task)?.into()),
            None => ("gone", SqlStorageValue::Null),
        };
        self.sql.exec(
            "INSERT INTO room_task (id, state, task) VALUES (1, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, task = excluded.task",
            vec![state.into(), json],
        )?;
        Ok(())
    }

    /// The version of the task's last change that was not the room's own write of the shared
    /// description (an `If-Match` naming it or later still holds for other fields; see
    /// `hero_core::conditional::relaxed_for_document`). `None`: not known.
    pub fn field_version(&self) -> RoomResult<Option<i64>> {
        let row: Option<FieldVersionRow> =
            self.first_row("SELECT field_version FROM room_task WHERE id = 1", None)?;
        Ok(row.and_then(|row| row.field_version).map(|v| v as i64))
    }

    pub fn set_field_version(&self, version: i64) -> RoomResult<()> {
        self.sql.exec(
            "UPDATE room_task SET field_version = ? WHERE id = 1",
            vec![SqlStorageValue::from(version)],
        )?;
        Ok(())
    }

    /// Forgets the task, so the next write loads it from D1 again.
    pub fn forget_task(&self) -> RoomResult<()> {
        self.sql.exec(
            "UPDATE room_task SET state = 'unknown', task = NULL WHERE id = 1",
            None,
        )?;
        Ok(())
    }
}

#[derive(Deserialize)]
struct FieldVersionRow {
    field_version: Option<f64>,
}

#[derive(Deserialize)]
struct TaskStateRow {
    state: String,
    task: Option<String>,
    log_version: f64,
}
