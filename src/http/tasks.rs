//! `/api/tasks`: list, create, get, update (JSON merge patch) and delete.
//!
//! A create commits here, the task and its change record in one D1 batch, and the board is
//! told afterwards (`wait_until`). An update or a delete goes to the task's room, its one
//! writer, which commits it and broadcasts it: the Worker authenticates and parses, and the
//! room does the rest (see `room::write`). Either way the response waits only for the
//! commit.

use worker::{Request, Response};

use super::request::{if_match, parse_task_id, query_pairs, read_json};
use super::response::{json_response, no_content, task_response};
use super::RequestContext;
use crate::room::stub;
use crate::runtime::now;
use hero_core::conditional::IfMatch;
use hero_core::error::ApiError;
use hero_core::listing::{ListQuery, TaskPage};
use hero_core::room::{ChangeNotice, RoomKey, WriteOp, WriteReply, WriteRequest};
use hero_core::task::{format_timestamp, Change, ChangeKind, Stamp, Task, TaskChanges, TaskId};

pub async fn list(req: &Request, ctx: &RequestContext<'_>) -> Result<Response, ApiError> {
    let pairs = query_pairs(req)?;
    let query = ListQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(ApiError::Validation)?;
    let rows = ctx
        .store
        .list_tasks(&ctx.caller.workspace_id, &query)
        .await?;
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
    let ids = ctx.store.insert_task(&created).await?;
    let response = task_response(201, &created.task)?;
    response
        .headers()
        .set("Location", &format!("/api/tasks/{}", created.task.id))
        .map_err(ApiError::internal)?;
    // Nobody can be in the room of a task that did not exist: only the board hears of it.
    let env = ctx.env.clone();
    let request_id = ctx.request_id.to_owned();
    let notice = ChangeNotice {
        changes: vec![(ids, created)],
    };
    ctx.worker
        .wait_until(async move { stub::tell_board(&env, notice, &request_id).await });
    Ok(response)
}

pub async fn get(ctx: &RequestContext<'_>, raw_id: &str) -> Result<Response, ApiError> {
    let id = parse_task_id(raw_id)?;
    let task = ctx
        .store
        .get_task(&ctx.caller.workspace_id, &id)
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
    let precondition = precondition(&req)?;
    let body = read_json(
        &mut req,
        &["application/json", "application/merge-patch+json"],
    )
    .await?;
    // Validated here, so a bad body never reaches the room.
    TaskChanges::for_patch(&body).map_err(ApiError::Validation)?;
    match write_in_room(ctx, id, precondition, WriteOp::Update { patch: body }).await? {
        WriteReply::Committed { change, .. } => task_response(200, &change.task),
        WriteReply::Unchanged { task } => task_response(200, &task),
        WriteReply::Refused { error } => Err(error),
    }
}

pub async fn delete(
    req: &Request,
    ctx: &RequestContext<'_>,
    raw_id: &str,
) -> Result<Response, ApiError> {
    let id = parse_task_id(raw_id)?;
    let precondition = precondition(req)?;
    match write_in_room(ctx, id, precondition, WriteOp::Delete).await? {
        WriteReply::Refused { error } => Err(error),
        WriteReply::Committed { .. } | WriteReply::Unchanged { .. } => no_content(),
    }
}

/// The largest version an `If-Match` may name. No task gets near it, and the room call
/// carries versions as JSON numbers, which are exact to 2^53 only: a larger one would be
/// refused there with a confusing error. Versions of up to 15 digits, as the OpenAPI
/// document's pattern says.
pub(super) const IF_MATCH_VERSION_MAX: i64 = 999_999_999_999_999;

/// `If-Match`, parsed (a malformed one is a 400), with every version at most
/// [`IF_MATCH_VERSION_MAX`].
fn precondition(req: &Request) -> Result<Option<IfMatch>, ApiError> {
    check_versions(if_match(req)?)
}

pub(super) fn check_versions(parsed: Option<IfMatch>) -> Result<Option<IfMatch>, ApiError> {
    if let Some(IfMatch::Versions(versions)) = &parsed {
        if versions.iter().any(|v| *v > IF_MATCH_VERSION_MAX) {
            return Err(ApiError::BadRequest(
                "If-Match versions have at most 15 digits".into(),
            ));
        }
    }
    Ok(parsed)
}

/// Hands a write to the task's room: the room named after the caller's workspace and the
/// task, so a task of another workspace is simply not found there.
async fn write_in_room(
    ctx: &RequestContext<'_>,
    task_id: TaskId,
    precondition: Option<IfMatch>,
    op: WriteOp,
) -> Result<WriteReply, ApiError> {
    let key = RoomKey::Task {
        workspace_id: ctx.caller.workspace_id.clone(),
        task_id,
    };
    let request = WriteRequest {
        caller: ctx.caller.clone(),
        precondition,
        op,
    };
    let started = crate::runtime::now_ms();
    let (reply, cost, timing) = stub::write(ctx.env, &key, &request, ctx.request_id).await?;
    ctx.record_room_call(cost);
    let mut stages = ctx.stages.borrow_mut();
    stages.record("room", crate::runtime::now_ms() - started);
    stages.add_header(&timing, "room-");
    Ok(reply)
}
