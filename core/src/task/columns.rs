//! Which columns of `tasks` an update writes: only those whose value changed.
//!
//! SQLite rewrites an index entry, and fires an `AFTER UPDATE OF` trigger, for every column
//! an UPDATE names, whether or not its value moved. D1 bills every row written, index
//! entries and trigger writes included, so an UPDATE that names every column makes a
//! status change pay for the tag rows, the search index and every index of `tasks`.
//! Naming only what changed lets a one-field PATCH pay for that field alone.

use super::model::Task;

/// A column of `tasks` an update may set. The task's identity (`id`, `workspace_id`) and
/// its creation (`created_by`, `created_at`) never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskColumn {
    Title,
    Description,
    Status,
    Priority,
    AssigneeId,
    DueDate,
    Tags,
    UpdatedAt,
    CompletedAt,
    Version,
}

impl TaskColumn {
    /// Every column, in the table's order.
    pub const ALL: [TaskColumn; 10] = [
        TaskColumn::Title,
        TaskColumn::Description,
        TaskColumn::Status,
        TaskColumn::Priority,
        TaskColumn::AssigneeId,
        TaskColumn::DueDate,
        TaskColumn::Tags,
        TaskColumn::UpdatedAt,
        TaskColumn::CompletedAt,
        TaskColumn::Version,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            TaskColumn::Title => "title",
            TaskColumn::Description => "description",
            TaskColumn::Status => "status",
            TaskColumn::Priority => "priority",
            TaskColumn::AssigneeId => "assignee_id",
            TaskColumn::DueDate => "due_date",
            TaskColumn::Tags => "tags",
            TaskColumn::UpdatedAt => "updated_at",
            TaskColumn::CompletedAt => "completed_at",
            TaskColumn::Version => "version",
        }
    }

    fn differs(self, before: &Task, after: &Task) -> bool {
        match self {
            TaskColumn::Title => before.title != after.title,
            TaskColumn::Description => before.description != after.description,
            TaskColumn::Status => before.status != after.status,
            TaskColumn::Priority => before.priority != after.priority,
            TaskColumn::AssigneeId => before.assignee_id != after.assignee_id,
            TaskColumn::DueDate => before.due_date != after.due_date,
            TaskColumn::Tags => before.tags != after.tags,
            TaskColumn::UpdatedAt => before.updated_at != after.updated_at,
            TaskColumn::CompletedAt => before.completed_at != after.completed_at,
            TaskColumn::Version => before.version != after.version,
        }
    }
}

/// The columns an update from `before` to `after` sets, in table order: those whose value
/// differs. `version` is always among them, since it is what makes the write conditional
/// and every write moves it.
pub fn changed_columns(before: &Task, after: &Task) -> Vec<TaskColumn> {
    TaskColumn::ALL
        .into_iter()
        .filter(|column| *column == TaskColumn::Version || column.differs(before, after))
        .collect()
}

/// The UPDATE that sets `columns`, conditional on the version the writer decided against:
/// `?1` is the workspace, `?2` the task id, `?3` the expected version, and the new values
/// follow from `?4` in the order of `columns`.
pub fn update_sql(columns: &[TaskColumn]) -> String {
    let assignments: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(index, column)| format!("{} = ?{}", column.name(), index + 4))
        .collect();
    format!(
        "UPDATE tasks SET {} WHERE workspace_id = ?1 AND id = ?2 AND version = ?3",
        assignments.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::{new_task, Status, Tags};

    fn next(task: &Task) -> Task {
        let mut after = task.clone();
        after.version += 1;
        after.updated_at = "2026-12-06T10:00:00.000Z".into();
        after
    }

    #[test]
    fn a_status_change_names_status_and_the_stamps_only() {
        let before = new_task(serde_json::json!({"title": "t", "tags": ["a", "b"]}));
        let mut after = next(&before);
        after.status = Status::InReview;
        assert_eq!(
            changed_columns(&before, &after),
            [
                TaskColumn::Status,
                TaskColumn::UpdatedAt,
                TaskColumn::Version
            ]
        );
    }

    #[test]
    fn reaching_done_names_completed_at_too() {
        let before = new_task(serde_json::json!({"title": "t", "tags": ["a", "b"]}));
        let mut after = next(&before);
        after.status = Status::Done;
        after.completed_at = Some(after.updated_at.clone());
        let columns = changed_columns(&before, &after);
        assert!(columns.contains(&TaskColumn::CompletedAt));
        assert!(!columns.contains(&TaskColumn::Tags));
    }

    #[test]
    fn tags_are_named_only_when_the_list_changed() {
        let before = new_task(serde_json::json!({"title": "t", "tags": ["a", "b"]}));
        let mut after = next(&before);
        after.description = "more".into();
        assert!(!changed_columns(&before, &after).contains(&TaskColumn::Tags));
        after.tags = Tags::parse(&[serde_json::json!("ops")]).unwrap();
        assert!(changed_columns(&before, &after).contains(&TaskColumn::Tags));
    }

    #[test]
    fn the_version_is_always_written() {
        let before = new_task(serde_json::json!({"title": "t", "tags": ["a", "b"]}));
        assert_eq!(changed_columns(&before, &before), [TaskColumn::Version]);
    }

    #[test]
    fn the_update_binds_every_value_after_its_conditions() {
        let sql = update_sql(&[TaskColumn::Status, TaskColumn::Version]);
        assert_eq!(
            sql,
            "UPDATE tasks SET status = ?4, version = ?5 \
             WHERE workspace_id = ?1 AND id = ?2 AND version = ?3"
        );
    }
}
