//! The task as stored and served, and how creates and merge patches change it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::fields::{Priority, Status, Tags, TaskId, Title};
use super::input::{NewTask, TaskChanges};

/// Who made a change and when; the server decides both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp<'a> {
    pub actor: &'a str,
    pub now: &'a str,
}

/// A task as stored and as returned by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    pub workspace_id: String,
    pub title: Title,
    pub description: String,
    pub status: Status,
    pub priority: Priority,
    pub assignee_id: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub tags: Tags,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// When the task last entered `done`; cleared when it leaves. Feeds "done this week".
    pub completed_at: Option<String>,
    pub version: i64,
}

impl Task {
    /// Builds a new task, at version 1, from a validated create.
    pub fn create(id: TaskId, workspace_id: &str, new: NewTask, stamp: &Stamp<'_>) -> Task {
        let mut task = Task {
            id,
            workspace_id: workspace_id.to_owned(),
            title: new.title,
            description: String::new(),
            status: Status::Todo,
            priority: Priority::Medium,
            assignee_id: None,
            due_date: None,
            tags: Tags::default(),
            created_by: stamp.actor.to_owned(),
            created_at: stamp.now.to_owned(),
            updated_at: stamp.now.to_owned(),
            completed_at: None,
            version: 1,
        };
        task.merge(new.changes, stamp.now);
        task
    }

    /// Applies a merge patch. Returns the names of the fields whose value really changed;
    /// when that list is empty the task (version included) is left exactly as it was.
    pub fn apply(&mut self, changes: TaskChanges, now: &str) -> Vec<&'static str> {
        let changed = self.merge(changes, now);
        if !changed.is_empty() {
            self.updated_at = now.to_owned();
            self.version += 1;
        }
        changed
    }

    fn merge(&mut self, changes: TaskChanges, now: &str) -> Vec<&'static str> {
        let mut changed = Vec::new();
        fn set<T: PartialEq>(
            slot: &mut T,
            new: Option<T>,
            name: &'static str,
            changed: &mut Vec<&'static str>,
        ) {
            if let Some(value) = new {
                if *slot != value {
                    *slot = value;
                    changed.push(name);
                }
            }
        }
        let was_done = self.status == Status::Done;
        set(&mut self.title, changes.title, "title", &mut changed);
        set(
            &mut self.description,
            changes.description,
            "description",
            &mut changed,
        );
        set(&mut self.status, changes.status, "status", &mut changed);
        set(
            &mut self.priority,
            changes.priority,
            "priority",
            &mut changed,
        );
        set(
            &mut self.assignee_id,
            changes.assignee_id,
            "assignee_id",
            &mut changed,
        );
        set(
            &mut self.due_date,
            changes.due_date,
            "due_date",
            &mut changed,
        );
        set(&mut self.tags, changes.tags, "tags", &mut changed);
        match (was_done, self.status == Status::Done) {
            (false, true) => self.completed_at = Some(now.to_owned()),
            (true, false) => self.completed_at = None,
            _ => {}
        }
        changed
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::{json, Value};

    pub(crate) fn stamp() -> Stamp<'static> {
        Stamp {
            actor: "user-1",
            now: "2026-01-01T00:00:00.000Z",
        }
    }

    /// A task built from a create body, for tests across the crate.
    pub(crate) fn new_task(body: Value) -> Task {
        let new = TaskChanges::for_create(&body).expect("valid body");
        Task::create(TaskId::generate(), "ws-1", new, &stamp())
    }

    #[test]
    fn create_applies_defaults() {
        let task = new_task(json!({"title": "Write docs"}));
        assert_eq!(task.status, Status::Todo);
        assert_eq!(task.priority, Priority::Medium);
        assert_eq!(task.version, 1);
        assert_eq!(task.created_by, "user-1");
        assert!(task.tags.as_slice().is_empty());
    }

    #[test]
    fn merge_patch_reports_real_changes_and_bumps_version_once() {
        let mut task = new_task(json!({"title": "A", "tags": ["x"]}));
        let patch = TaskChanges::for_patch(&json!({"title": "A", "status": "done", "tags": ["y"]}))
            .unwrap();
        let changed = task.apply(patch, "2026-01-02T00:00:00.000Z");
        assert_eq!(changed, ["status", "tags"]);
        assert_eq!(task.version, 2);
        assert_eq!(
            task.completed_at.as_deref(),
            Some("2026-01-02T00:00:00.000Z")
        );
        assert_eq!(task.updated_at, "2026-01-02T00:00:00.000Z");
    }

    #[test]
    fn a_patch_that_changes_nothing_keeps_the_version() {
        let mut task = new_task(json!({"title": "A"}));
        let before = task.clone();
        let patch = TaskChanges::for_patch(&json!({"title": " A "})).unwrap();
        assert!(task.apply(patch, "2026-01-02T00:00:00.000Z").is_empty());
        assert_eq!(task, before);
    }

    #[test]
    fn leaving_done_clears_completed_at() {
        let mut task = new_task(json!({"title": "A", "status": "done"}));
        assert!(task.completed_at.is_some());
        let patch = TaskChanges::for_patch(&json!({"status": "todo"})).unwrap();
        task.apply(patch, "2026-01-02T00:00:00.000Z");
        assert_eq!(task.completed_at, None);
    }

    #[test]
    fn task_round_trips_through_json() {
        let task = new_task(json!({"title": "A", "due_date": "2026-03-04", "tags": ["a"]}));
        let text = serde_json::to_string(&task).unwrap();
        assert!(text.contains("\"due_date\":\"2026-03-04\""));
        let back: Task = serde_json::from_str(&text).unwrap();
        assert_eq!(back, task);
    }
}
