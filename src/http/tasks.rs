//! `/api/tasks`: list, create, get, update (JSON merge patch) and delete.
//!
//! A create commits here, the task and its change record in one D1 batch, and the board is
//! told afterwards (`wait_until`). An update or a delete goes to the task's room, its one
//! writer, which commits it and broadcasts it: the Worker authenticates and parses, and the
//! room does the rest (see `room::write`). Either way the response waits only for the
//! commit.
//!
//! Each write may carry an `Idempotency-Key` (see `hero_core::idempotency`): it is claimed
//! here, in D1, before the write is made ([`super::idempotency`]), so one key is one
//! request across every target; the write completes the claim in its own batch (a create
//! here, an update or a delete in the room), and a write that does not commit releases it.
//! A keyed create also takes its task id from its key.

use worker::{Request, Response};

use super::idempotency;
use super::request::{idempotency_claim, if_match, parse_task_id, query_pairs, read_json};
use super::response::{json_response, no_content, replayed, task_response};
use super::RequestContext;
use crate::room::stub;
use crate::runtime::now;
use crate::store::{KeyRecord, StoreError};
use hero_core::conditional::IfMatch;
use hero_core::error::ApiError;
use hero_core::idempotency::{task_id_for_create, Claim, StoredResponse};
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
    let claim = idempotency_claim(&req, Some(&body))?;
    // A keyed create's task id comes from its key, so its retry names the same row.
    let id = match &claim {
        Some(claim) => {
            if let Some(replay) = idempotency::claim(ctx, claim).await? {
                return replayed(&replay);
            }
            task_id_for_create(&caller.workspace_id, &caller.user_id, &claim.key)
        }
        None => TaskId::generate(),
    };
    let at = format_timestamp(now());
    let stamp = Stamp {
        actor: &caller.user_id,
        now: &at,
    };
    let task = Task::create(id, &caller.workspace_id, new, &stamp);
    let created = Change {
        kind: ChangeKind::Created,
        task,
        changed: Vec::new(),
        previous_status: None,
        actor_id: caller.user_id.clone(),
        actor_name: caller.name.clone(),
        at: at.clone(),
        editors: Vec::new(),
    };
    let key = claim.as_ref().map(|claim| KeyRecord {
        workspace_id: caller.workspace_id.clone(),
        user_id: caller.user_id.clone(),
        claim: claim.clone(),
        response: StoredResponse::of(&created),
        at,
    });
    let ids = match ctx.store.insert_task(&created, key.as_ref()).await {
        Ok(ids) => ids,
        Err(error) => {
            let Some(claim) = &claim else {
                return Err(error.into());
            };
            idempotency::release(ctx, claim).await;
            return Err(match error {
                // The key's task is there but the key was free: it was used past its time.
                StoreError::Duplicate(_) => ApiError::IdempotencyKeyReused,
                other => other.into(),
            });
        }
    };
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
    let claim = idempotency_claim(&req, Some(&body))?;
    let op = WriteOp::Update { patch: body };
    match keyed_write_in_room(ctx, id, precondition, op, claim).await? {
        Keyed::Replay(response) => replayed(&response),
        Keyed::Reply(WriteReply::Committed { change, .. }) => task_response(200, &change.task),
        Keyed::Reply(WriteReply::Unchanged { task }) => task_response(200, &task),
        Keyed::Reply(WriteReply::Refused { error }) => Err(error),
    }
}

pub async fn delete(
    req: &Request,
    ctx: &RequestContext<'_>,
    raw_id: &str,
) -> Result<Response, ApiError> {
    let id = parse_task_id(raw_id)?;
    let precondition = precondition(req)?;
    let claim = idempotency_claim(req, None)?;
    match keyed_write_in_room(ctx, id, precondition, WriteOp::Delete, claim).await? {
        Keyed::Replay(response) => replayed(&response),
        Keyed::Reply(WriteReply::Refused { error }) => Err(error),
        Keyed::Reply(WriteReply::Committed { .. } | WriteReply::Unchanged { .. }) => no_content(),
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

/// What a keyed write in a room came to: the first response of the write its key already
/// committed, or the room's reply.
enum Keyed {
    Replay(StoredResponse),
    Reply(WriteReply),
}

/// A write in the task's room under the request's key, if it has one: claimed first, and
/// released unless the room committed it (the room's commit completes the claim).
async fn keyed_write_in_room(
    ctx: &RequestContext<'_>,
    task_id: TaskId,
    precondition: Option<IfMatch>,
    op: WriteOp,
    claim: Option<Claim>,
) -> Result<Keyed, ApiError> {
    if let Some(claim) = &claim {
        if let Some(response) = idempotency::claim(ctx, claim).await? {
            return Ok(Keyed::Replay(response));
        }
    }
    let held = claim.clone();
    let reply = write_in_room(ctx, task_id, precondition, op, claim).await;
    if let Some(claim) = held.filter(|_| !matches!(reply, Ok(WriteReply::Committed { .. }))) {
        idempotency::release(ctx, &claim).await;
    }
    reply.map(Keyed::Reply)
}

/// Hands a write to the task's room: the room named after the caller's workspace and the
/// task, so a task of another workspace is simply not found there.
async fn write_in_room(
    ctx: &RequestContext<'_>,
    task_id: TaskId,
    precondition: Option<IfMatch>,
    op: WriteOp,
    claim: Option<Claim>,
) -> Result<WriteReply, ApiError> {
    let key = RoomKey::Task {
        workspace_id: ctx.caller.workspace_id.clone(),
        task_id,
    };
    let request = WriteRequest {
        caller: ctx.caller.clone(),
        precondition,
        op,
        claim,
        editors: Vec::new(),
    };
    let started = crate::runtime::now_ms();
    let replied = stub::call(ctx.env, &key, request, ctx.request_id).await?;
    ctx.record_room_call(replied.cost);
    let mut stages = ctx.stages.borrow_mut();
    stages.record("room", crate::runtime::now_ms() - started);
    stages.add_header(&replied.timing, "room-");
    Ok(replied.reply)
}
