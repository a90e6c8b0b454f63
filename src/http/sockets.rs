//! WebSocket upgrades into a task's room (`/ws/tasks/{id}`) or the workspace board
//! (`/ws/board`). Every check that can fail happens before the upgrade, in this order, so
//! each gets a plain HTTP error: the token (401/403, in [`super::dispatch`]), `Upgrade:
//! websocket` (426), `since` (400), the task id's form (404), and, in the task's room, the
//! task itself (404: the room is named after the caller's workspace, so a task of another
//! workspace is not found there).

use worker::{Request, Response};

use super::request::{header, parse_task_id, query_pairs};
use super::RequestContext;
use crate::room::stub;
use hero_core::error::ApiError;
use hero_core::room::RoomKey;

pub async fn open(
    req: &Request,
    ctx: &RequestContext<'_>,
    task: Option<&str>,
) -> Result<Response, ApiError> {
    let upgrade = header(req, "Upgrade").unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return Err(ApiError::UpgradeRequired);
    }
    let since = match query_pairs(req)?
        .into_iter()
        .find(|(name, _)| name == "since")
    {
        None => None,
        Some((_, raw)) => Some(raw.parse::<u64>().map_err(|_| {
            ApiError::BadRequest(
                "since must be a non-negative integer (the last seq you saw)".into(),
            )
        })?),
    };
    let workspace_id = ctx.caller.workspace_id.clone();
    let key = match task {
        Some(raw_id) => RoomKey::Task {
            workspace_id,
            task_id: parse_task_id(raw_id)?,
        },
        None => RoomKey::Board { workspace_id },
    };
    let (upgraded, cost) = stub::connect(ctx.env, &key, ctx.caller, since, ctx.request_id).await?;
    ctx.record_room_call(cost);
    Ok(upgraded)
}
