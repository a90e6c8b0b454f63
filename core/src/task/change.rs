//! The change record: one per committed write, stored in the same transaction as the write.
//! It is the task's history and the outbox the live rooms read from.

use serde::{Deserialize, Serialize};

use super::fields::{string_enum, Status};
use super::model::Task;
use crate::protocol::Actor;

string_enum!(
    /// What kind of write a change record describes.
    ChangeKind {
        Created => "created",
        Updated => "updated",
        Deleted => "deleted",
    }
);

/// One committed write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// The task after the write (for a delete: as it was when deleted).
    pub task: Task,
    /// Names of the fields the write changed (empty for create and delete).
    pub changed: Vec<String>,
    /// The status before an update (None for create and delete).
    pub previous_status: Option<Status>,
    pub actor_id: String,
    pub actor_name: String,
    pub at: String,
    /// A write of the shared description made by the task's room: everyone whose typing it
    /// carries (empty for every other write).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub editors: Vec<Actor>,
}

/// Formats a UTC instant the way every timestamp in the API looks:
/// `2026-01-02T03:04:05.678Z` (fixed width, so text order is time order in SQL).
pub fn format_timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}
