//! Which room: one per task, and one board per workspace.

use serde::{Deserialize, Serialize};

use super::RoomKind;
use crate::task::TaskId;

/// A room's identity. The Worker names the Durable Object after it and hands it to the room
/// with every call, so a room always knows which task and workspace it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoomKey {
    Task {
        workspace_id: String,
        task_id: TaskId,
    },
    Board {
        workspace_id: String,
    },
}

impl RoomKey {
    /// The Durable Object name. A task room is named after its workspace and its task, so
    /// a task id from another workspace names a different, empty room: the room finds no
    /// such task in its workspace and answers 404, without the Worker reading D1 first.
    /// (The task id, a UUID, ends the name, so the name splits back one way only.)
    pub fn object_name(&self) -> String {
        match self {
            RoomKey::Task {
                workspace_id,
                task_id,
            } => format!("task:{workspace_id}:{task_id}"),
            RoomKey::Board { workspace_id } => format!("board:{workspace_id}"),
        }
    }

    pub fn workspace_id(&self) -> &str {
        match self {
            RoomKey::Task { workspace_id, .. } | RoomKey::Board { workspace_id } => workspace_id,
        }
    }

    pub fn task_id(&self) -> Option<&TaskId> {
        match self {
            RoomKey::Task { task_id, .. } => Some(task_id),
            RoomKey::Board { .. } => None,
        }
    }

    pub fn is_board(&self) -> bool {
        matches!(self, RoomKey::Board { .. })
    }

    pub fn kind(&self) -> RoomKind {
        match self {
            RoomKey::Task { .. } => RoomKind::Task,
            RoomKey::Board { .. } => RoomKind::Board,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_objects() {
        let id = TaskId::generate();
        let task = RoomKey::Task {
            workspace_id: "ws".into(),
            task_id: id.clone(),
        };
        assert_eq!(task.object_name(), format!("task:ws:{id}"));
        let elsewhere = RoomKey::Task {
            workspace_id: "other".into(),
            task_id: id.clone(),
        };
        assert_ne!(elsewhere.object_name(), task.object_name());
        assert_eq!(task.task_id(), Some(&id));
        let board = RoomKey::Board {
            workspace_id: "ws".into(),
        };
        assert_eq!(board.object_name(), "board:ws");
        assert!(board.is_board());
        let json = serde_json::to_string(&task).unwrap();
        assert_eq!(serde_json::from_str::<RoomKey>(&json).unwrap(), task);
    }
}
