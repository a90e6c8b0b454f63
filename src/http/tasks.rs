//! `/api/tasks`: list, create, get, update (JSON merge patch) and delete.
//!
//! Writes commit the task and its change record in one D1 batch, then tell the task's room
//! and the board (see [`crate::room::stub::announce`]).

use worker::{Request, Response};

use super::request::{if_match, parse_task_id, query_pairs, read_json};
use super::response::{json_response, no_content, task_response};
use super::RequestContext;
use crate::room::stub;
use crate::runtime::now;
use crate::store;
use hero_core::error::ApiError;
use hero_core::listing::{ListQuery, TaskPage};
use hero_core::task::{
    decide_delete, decide_update, format_timestamp, Change, ChangeKind, Stamp, Task, TaskChanges,
    TaskId, UpdateOutcome,
};

/// How many times a write re-reads and decides again after losing a version race.
/// Retries go at once: a writer that lost has just seen the winner's version, and waiting
/// only widens the window for the next collision (measured: a jittered back-off turned 1 in
/// 400 conflicts at 80 writes/s on one task into 270).
const WRITE_ATTEMPTS: usize = 10;

pub async fn list(req: &Request, ctx: &RequestContext<'_>) -> Result<Response, ApiError> {
    let pairs = query_pairs(req)?;
    let query = ListQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(ApiError::Validation)?;
    let rows = store::list_tasks(ctx.db, &ctx.caller.workspace_id, &query).await?;
    json_response(200, &TaskPage::from_rows(rows, query.limit))
}

pub async fn create(mut req: Request, ctx: &RequestContext<'_>) -> Result<Response, ApiError> {
    let caller = ctx.caller;
    caller.require_write()?;
    let body = read_json(&mut req, &["application/json"]).await?;
    let new = TaskChanges::for_create(&body).map_err(ApiError::Validation)?;
    let at = format_timestamp(now());
    let stamp = Stamp {
        actor: &caller.user_id,
        now: &at,
    };
    let task = Task::create(TaskId::generate(), &caller.workspace_id, new, &stamp);
    let created = Change {
        kind: ChangeKind::Created,
        task,
        changed: Vec::new(),
        previous_status: None,
        actor_id: caller.user_id.clone(),
        actor_name: caller.name.clone(),
        at,
    };
    store::insert_task(ctx.db, &created).await?;
    stub::announce(ctx.env, &created, ctx.request_id).await;
    let response = task_response(201, &created.task)?;
    response
        .headers()
        .set("Location", &format!("/api/tasks/{}", created.task.id))
        .map_err(ApiError::internal)?;
    Ok(response)
}

pub async fn get(ctx: &RequestContext<'_>, raw_id: &str) -> Result<Response, ApiError> {
    let id = parse_task_id(raw_id)?;
    let task = store::get_task(ctx.db, &ctx.caller.workspace_id, &id)
        .await?
        .ok_or_else(ApiError::task_not_found)?;
    task_response(200, &task)
}

pub async fn update(
    mut req: Request,
    ctx: &RequestContext<'_>,
    raw_id: &str,
) -> Result<Response, ApiError> {
    let id = parse_task_id(raw_id)?;
    ctx.caller.require_write()?;
    let precondition = if_match(&req)?;
    let body = read_json(
        &mut req,
        &["application/json", "application/merge-patch+json"],
    )
    .await?;
    let changes = TaskChanges::for_patch(&body).map_err(ApiError::Validation)?;
    let outcome = write_against_current(ctx, &id, &|current, at| {
        decide_update(current, &changes, precondition.as_ref(), ctx.caller, at).map(|outcome| {
            match outcome {
                UpdateOutcome::Unchanged => None,
                UpdateOutcome::Write(change) => Some(*change),
            }
        })
    })
    .await?;
    match outcome {
        Written::Unchanged(task) => task_response(200, &task),
        Written::Committed(change) => task_response(200, &change.task),
    }
}

pub async fn delete(
    req: &Request,
    ctx: &RequestContext<'_>,
    raw_id: &str,
) -> Result<Response, ApiError> {
    let id = parse_task_id(raw_id)?;
    let precondition = if_match(req)?;
    write_against_current(ctx, &id, &|current, at| {
        decide_delete(current, precondition.as_ref(), ctx.caller, at).map(Some)
    })
    .await?;
    no_content()
}

/// Given the task as it is now and the instant of the write: the change to commit, `None`
/// to write nothing, or why the write is refused.
type Decision<'a> = &'a dyn Fn(&Task, &str) -> Result<Option<Change>, ApiError>;

/// What a write against the current row came to.
enum Written {
    /// The decision was to write nothing; the task as it is.
    Unchanged(Task),
    Committed(Change),
}

/// Reads the task, asks `decide` what to write at this instant, and commits it only if the
/// row still has the version decided on; a write that lost a race reads and decides again.
/// A committed change is announced to the rooms.
async fn write_against_current(
    ctx: &RequestContext<'_>,
    id: &TaskId,
    decide: Decision<'_>,
) -> Result<Written, ApiError> {
    for _ in 0..WRITE_ATTEMPTS {
        let current = store::get_task(ctx.db, &ctx.caller.workspace_id, id)
            .await?
            .ok_or_else(ApiError::task_not_found)?;
        let at = format_timestamp(now());
        let Some(change) = decide(&current, &at)? else {
            return Ok(Written::Unchanged(current));
        };
        let committed = match change.kind {
            ChangeKind::Deleted => store::delete_task(ctx.db, &change, current.version).await?,
            _ => store::update_task(ctx.db, &change, current.version).await?,
        };
        if committed {
            stub::announce(ctx.env, &change, ctx.request_id).await;
            return Ok(Written::Committed(change));
        }
    }
    Err(ApiError::Conflict(
        "the task is being changed by others; retry".into(),
    ))
}
