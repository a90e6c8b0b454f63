//! A task's history (`GET /api/tasks/{id}/activity`) and the workspace report
//! (`GET /api/analytics`).

use worker::{Request, Response};

use super::request::{parse_task_id, query_pairs};
use super::response::json_response;
use super::RequestContext;
use crate::room::stub;
use hero_core::activity::{ActivityPage, ActivityQuery};
use hero_core::error::ApiError;
use hero_core::room::{AnalyticsRequest, RoomKey};

pub async fn history(
    req: &Request,
    ctx: &RequestContext<'_>,
    raw_id: &str,
) -> Result<Response, ApiError> {
    let id = parse_task_id(raw_id)?;
    let pairs = query_pairs(req)?;
    let query = ActivityQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(ApiError::Validation)?;
    let workspace = &ctx.caller.workspace_id;
    // A deleted task is gone from the API, history included (D1 keeps the records).
    ctx.store
        .get_task(workspace, &id)
        .await?
        .ok_or_else(ApiError::task_not_found)?;
    let rows = ctx
        .store
        .activity(workspace, &id, query.before, query.limit)
        .await?;
    json_response(200, &ActivityPage::from_rows(rows, query.limit))
}

/// The report comes from the workspace's board, which keeps counters as changes arrive, so
/// it costs the same in a workspace of 100,000 tasks as in one of 100.
pub async fn analytics(ctx: &RequestContext<'_>) -> Result<Response, ApiError> {
    let board = RoomKey::Board {
        workspace_id: ctx.caller.workspace_id.clone(),
    };
    let replied = stub::call(ctx.env, &board, AnalyticsRequest {}, ctx.request_id).await?;
    let (report, cost) = (replied.reply, replied.cost);
    ctx.record_room_call(cost);
    json_response(200, &report)
}
