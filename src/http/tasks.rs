//! `/api/tasks`: list, create, get, update (JSON merge patch) and delete.
//!
//! A create commits here, the task and its change record in one D1 batch, and the board is
//! told afterwards (`wait_until`). An update or a delete goes to the task's room, its one
//! writer, which commits it and broadcasts it: the Worker authenticates and parses, and the
//! room does the rest (see `room::write`). Either way the response waits only for the
//! commit.
//!
//! Each write may carry an `Idempotency-Key` (see `hero_core::idempotency`): a create checks
//! it here and takes its task id from it; an update or a delete hands it to the room, which
//! checks it where both tries of a write meet.

use worker::{Request, Response};

use super::request::{idempotency_claim, if_match, parse_task_id, query_pairs, read_json};
use super::response::{json_response, no_content, replayed, task_response};
use super::RequestContext;
use crate::room::stub;
use crate::runtime::now;
use crate::store::{KeyRecord, StoreError};
use hero_core::conditional::IfMatch;
use hero_core::error::ApiError;
use hero_core::idempotency::{recall, task_id_for_create, Claim, Recall, StoredResponse};
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
            if let Some(replay) = recall_response(ctx, claim).await? {
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
    let ids = match (ctx.store.insert_task(&created, key.as_ref()).await, &claim) {
        (Ok(ids), _) => ids,
        // The same keyed create, made at the same time, committed first: answer as it did.
        (Err(StoreError::Duplicate(_)), Some(claim)) => {
            return match recall_response(ctx, claim).await? {
                Some(replay) => replayed(&replay),
                // The row is there but its key is not: kept past its time, then reused.
                None => Err(ApiError::IdempotencyKeyReused),
            };
        }
        (Err(error), _) => return Err(error.into()),
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

/// The first response of a keyed request already committed, if it was; a different request
/// under the same key is refused (422).
async fn recall_response(
    ctx: &RequestContext<'_>,
    claim: &Claim,
) -> Result<Option<StoredResponse>, ApiError> {
    let caller = ctx.caller;
    let stored = ctx
        .store
        .stored_response(&caller.workspace_id, &caller.user_id, claim)
        .await?;
    Ok(match recall(stored, &claim.fingerprint)? {
        Recall::Fresh => None,
        Recall::Replay(response) => Some(response),
    })
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
    match write_in_room(
        ctx,
        id,
        precondition,
        WriteOp::Update { patch: body },
        claim,
    )
    .await?
    {
        WriteReply::Committed { change, .. } => task_response(200, &change.task),
        WriteReply::Unchanged { task } => task_response(200, &task),
        WriteReply::Replayed { response } => replayed(&response),
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
    let claim = idempotency_claim(req, None)?;
    match write_in_room(ctx, id, precondition, WriteOp::Delete, claim).await? {
        WriteReply::Refused { error } => Err(error),
        WriteReply::Replayed { response } => replayed(&response),
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
