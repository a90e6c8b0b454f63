//! The decisions of a write, taken against the task as it is now: the precondition
//! (`If-Match`), permissions, the status transition, and what the change record says.
//!
//! The glue reads the current row, asks here, and commits what it is told; if the row moved
//! underneath it (a lost version race), it reads again and asks again.

use crate::auth::Principal;
use crate::conditional::IfMatch;
use crate::error::ApiError;

use super::change::{Change, ChangeKind};
use super::input::TaskChanges;
use super::model::Task;

/// What a PATCH does to the task as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The patch sets every field to the value it already has: nothing to write, the
    /// version stays.
    Unchanged,
    /// Write this change (its task is the new row) if the stored version is still the one
    /// the decision was made on.
    Write(Box<Change>),
}

fn check_precondition(precondition: Option<&IfMatch>, current: &Task) -> Result<(), ApiError> {
    match precondition {
        Some(wanted) if !wanted.matches(current.version) => Err(ApiError::PreconditionFailed {
            current: Box::new(current.clone()),
        }),
        _ => Ok(()),
    }
}

fn record(
    kind: ChangeKind,
    task: Task,
    changed: Vec<String>,
    caller: &Principal,
    at: &str,
) -> Change {
    Change {
        kind,
        task,
        changed,
        previous_status: None,
        actor_id: caller.user_id.clone(),
        actor_name: caller.name.clone(),
        at: at.to_owned(),
        editors: Vec::new(),
    }
}

/// Decides a merge patch by `caller` at `at` against `current`.
pub fn decide_update(
    current: &Task,
    changes: &TaskChanges,
    precondition: Option<&IfMatch>,
    caller: &Principal,
    at: &str,
) -> Result<UpdateOutcome, ApiError> {
    caller.require_write()?;
    check_precondition(precondition, current)?;
    if let Some(to) = changes.status {
        current
            .status
            .check_transition(to)
            .map_err(|reason| ApiError::validation("status", reason))?;
    }
    let mut next = current.clone();
    let changed = next.apply(changes.clone(), at);
    if changed.is_empty() {
        return Ok(UpdateOutcome::Unchanged);
    }
    let changed = changed.iter().map(|s| (*s).to_owned()).collect();
    let mut change = record(ChangeKind::Updated, next, changed, caller, at);
    change.previous_status = Some(current.status);
    Ok(UpdateOutcome::Write(Box::new(change)))
}

/// Decides a delete by `caller` at `at` against `current`. The record carries the task as it
/// was, one version on, so every version of a task has exactly one record.
pub fn decide_delete(
    current: &Task,
    precondition: Option<&IfMatch>,
    caller: &Principal,
    at: &str,
) -> Result<Change, ApiError> {
    if !caller.can_delete(&current.created_by) {
        return Err(ApiError::Forbidden(match caller.can_write() {
            true => "members can delete only the tasks they created".into(),
            false => "viewers can read tasks but not change them".into(),
        }));
    }
    check_precondition(precondition, current)?;
    let mut tombstone = current.clone();
    tombstone.version += 1;
    tombstone.updated_at = at.to_owned();
    Ok(record(
        ChangeKind::Deleted,
        tombstone,
        Vec::new(),
        caller,
        at,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::task::model::tests::new_task;
    use crate::task::Status;
    use serde_json::json;

    const AT: &str = "2026-01-02T00:00:00.000Z";

    fn caller(user: &str, role: Role) -> Principal {
        Principal {
            user_id: user.into(),
            name: user.to_uppercase(),
            avatar_url: None,
            workspace_id: "ws-1".into(),
            role,
            expires_at: 0,
        }
    }

    fn patch(body: serde_json::Value) -> TaskChanges {
        TaskChanges::for_patch(&body).unwrap()
    }

    #[test]
    fn an_update_records_what_changed_and_the_status_it_left() {
        let current = new_task(json!({"title": "A"}));
        let outcome = decide_update(
            &current,
            &patch(json!({"status": "done", "title": "B"})),
            None,
            &caller("ana", Role::Member),
            AT,
        )
        .unwrap();
        let UpdateOutcome::Write(change) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(change.kind, ChangeKind::Updated);
        assert_eq!(change.changed, ["title", "status"]);
        assert_eq!(change.previous_status, Some(Status::Todo));
        assert_eq!(change.task.version, 2);
        assert_eq!((change.actor_id.as_str(), change.at.as_str()), ("ana", AT));
    }

    #[test]
    fn a_stale_if_match_fails_with_the_current_task() {
        let current = new_task(json!({"title": "A"}));
        let error = decide_update(
            &current,
            &patch(json!({"title": "B"})),
            Some(&IfMatch::Versions(vec![7])),
            &caller("ana", Role::Member),
            AT,
        )
        .unwrap_err();
        match error {
            ApiError::PreconditionFailed { current: now } => assert_eq!(*now, current),
            other => panic!("{other:?}"),
        }
        assert!(decide_delete(
            &current,
            Some(&IfMatch::Versions(vec![7])),
            &caller("user-1", Role::Member),
            AT
        )
        .is_err());
    }

    #[test]
    fn a_patch_that_changes_nothing_writes_nothing() {
        let current = new_task(json!({"title": "A"}));
        let outcome = decide_update(
            &current,
            &patch(json!({"title": "A"})),
            Some(&IfMatch::Any),
            &caller("ana", Role::Member),
            AT,
        );
        assert_eq!(outcome.unwrap(), UpdateOutcome::Unchanged);
    }

    #[test]
    fn transitions_and_roles_are_checked() {
        let mut current = new_task(json!({"title": "A", "status": "blocked"}));
        let error = decide_update(
            &current,
            &patch(json!({"status": "done"})),
            None,
            &caller("ana", Role::Member),
            AT,
        )
        .unwrap_err();
        assert_eq!(error.status_code(), 422);
        let viewer = caller("vic", Role::Viewer);
        let error = decide_update(&current, &patch(json!({"title": "B"})), None, &viewer, AT);
        assert_eq!(error.unwrap_err().status_code(), 403);
        current.created_by = "someone-else".into();
        let member = caller("ana", Role::Member);
        assert_eq!(
            decide_delete(&current, None, &member, AT)
                .unwrap_err()
                .status_code(),
            403
        );
        let deleted = decide_delete(&current, None, &caller("root", Role::Admin), AT).unwrap();
        assert_eq!(deleted.kind, ChangeKind::Deleted);
        assert_eq!(deleted.task.version, current.version + 1);
        assert!(deleted.changed.is_empty());
    }
}
