//! WebSocket upgrades into a task's room (`/ws/tasks/{id}`) or the workspace board
//! (`/ws/board`). Every check that can fail happens before the upgrade, so each gets a plain
//! HTTP error, in this order (the OpenAPI document and docs/protocol.md say the same):
//!
//! 1. the token (401/403, in [`super::dispatch`], as on every authenticated route; and here
//!    a 401 for one that has run out but is still within the clock-skew leeway, which a
//!    request may use but a socket may not: it would be closed with 4001 at once);
//! 2. `since` (400): the URL is checked before the headers, so a malformed `since` is a 400
//!    whether or not the request is an upgrade;
//! 3. the task id's form (404, as for a task that does not exist);
//! 4. `Upgrade: websocket` (426);
//! 5. in the task's room, the task itself (404: the room is named after the caller's
//!    workspace, so a task of another workspace is not found there).

use worker::{Method, Request, Response};

use super::request::{header, parse_task_id, query_pairs};
use super::RequestContext;
use crate::room::stub;
use crate::runtime::now_ms;
use hero_core::error::ApiError;
use hero_core::room::{Joining, RoomKey};

pub async fn open(
    req: &Request,
    ctx: &RequestContext<'_>,
    task: Option<&str>,
) -> Result<Response, ApiError> {
    ctx.caller.require_unexpired(now_ms())?;
    let since = match query_pairs(req)?
        .into_iter()
        .find(|(name, _)| name == "since")
    {
        None => None,
        Some((_, raw)) => Some(parse_since(&raw)?),
    };
    let workspace_id = ctx.caller.workspace_id.clone();
    let key = match task {
        Some(raw_id) => RoomKey::Task {
            workspace_id,
            task_id: parse_task_id(raw_id)?,
        },
        None => RoomKey::Board { workspace_id },
    };
    require_upgrade(req)?;
    let joining = Joining {
        principal: ctx.caller.clone(),
        since,
        dev_tokens: ctx.dev_tokens,
    };
    let (upgraded, cost) = stub::connect(ctx.env, &key, joining, ctx.request_id).await?;
    ctx.record_room_call(cost);
    Ok(upgraded)
}

/// The task's shared description (`/ws/tasks/{id}/doc`, y-websocket): the same checks, in
/// the same order, as the task's room (there is no `since`: the sync handshake is its own
/// resume).
pub async fn open_doc(
    req: &Request,
    ctx: &RequestContext<'_>,
    task: &str,
) -> Result<Response, ApiError> {
    ctx.caller.require_unexpired(now_ms())?;
    let key = RoomKey::Task {
        workspace_id: ctx.caller.workspace_id.clone(),
        task_id: parse_task_id(task)?,
    };
    require_upgrade(req)?;
    let joining = Joining {
        principal: ctx.caller.clone(),
        since: None,
        dev_tokens: ctx.dev_tokens,
    };
    let (upgraded, cost) = stub::connect_doc(ctx.env, &key, joining, ctx.request_id).await?;
    ctx.record_room_call(cost);
    Ok(upgraded)
}

/// A WebSocket handshake: a GET with `Upgrade: websocket` (426 otherwise; a HEAD, which
/// is routed as a GET, never upgrades).
fn require_upgrade(req: &Request) -> Result<(), ApiError> {
    let upgrade = header(req, "Upgrade").unwrap_or_default();
    if req.method() == Method::Get && upgrade.eq_ignore_ascii_case("websocket") {
        Ok(())
    } else {
        Err(ApiError::UpgradeRequired)
    }
}

/// `since`: a non-negative integer in ASCII digits, up to `u64::MAX` (a `since` past the
/// room's last event gets `resync`, like one too old).
pub(super) fn parse_since(raw: &str) -> Result<u64, ApiError> {
    raw.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| raw.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| {
            ApiError::BadRequest(
                "since must be a non-negative integer (the last seq you saw)".into(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_a_non_negative_integer() {
        assert_eq!(parse_since("0").ok(), Some(0));
        assert_eq!(parse_since("0042").ok(), Some(42));
        assert_eq!(parse_since(&u64::MAX.to_string()).ok(), Some(u64::MAX));
        for bad in ["", "-1", "+1", "1.0", " 1", "18446744073709551616", "x"] {
            assert!(parse_since(bad).is_err(), "{bad:?}");
        }
    }
}
