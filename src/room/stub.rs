//! The Worker's side of the rooms: the one typed client for Worker → room calls, so no
//! handler builds Durable Object URLs.
//!
//! Every room is an instance of the `Room` Durable Object class (binding `ROOMS`), named by
//! its [`RoomKey`]. The Worker authenticates and authorizes; the room trusts the identity it
//! is handed in internal headers, which only the Worker can send (a Durable Object has no
//! public address).

use wasm_bindgen::JsValue;
use worker::{Env, Headers, Method, Request, RequestInit, Response};

use hero_core::analytics::Analytics;
use hero_core::auth::Principal;
use hero_core::cost::{Cost, COST_HEADER};
use hero_core::error::ApiError;
use hero_core::room::{ChangeNotice, RoomKey, TaskViewers, WriteReply, WriteRequest};

/// Internal header carrying the room's identity as JSON.
pub const ROOM_HEADER: &str = "X-Hero-Room";
/// Internal header carrying the connecting principal as JSON.
pub const PRINCIPAL_HEADER: &str = "X-Hero-Principal";
/// Internal header: `true` when development tokens are accepted for the connection (its
/// token refreshes are then verified the same way).
pub const DEV_TOKENS_HEADER: &str = "X-Hero-Dev-Tokens";
/// The response header (and internal room-call header) carrying the request id.
pub const REQUEST_ID_HEADER: &str = "X-Request-Id";

/// The room's paths.
pub const CONNECT_PATH: &str = "/connect";
/// A task room: commit a write ([`WriteRequest`] → [`WriteReply`]).
pub const WRITE_PATH: &str = "/write";
/// A board: take a committed change ([`ChangeNotice`]).
pub const NOTICE_PATH: &str = "/changes";
/// A board: the workspace report ([`Analytics`]) from its counters.
pub const ANALYTICS_PATH: &str = "/analytics";
/// A board: who is in a task's room now ([`TaskViewers`]).
pub const VIEWERS_PATH: &str = "/viewers";

fn room_request(
    key: &RoomKey,
    method: Method,
    path: &str,
    headers: Headers,
    request_id: &str,
    body: Option<String>,
) -> Result<Request, ApiError> {
    let key_json = serde_json::to_string(key).map_err(ApiError::internal)?;
    headers
        .set(ROOM_HEADER, &key_json)
        .map_err(ApiError::internal)?;
    headers
        .set(REQUEST_ID_HEADER, request_id)
        .map_err(ApiError::internal)?;
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers);
    if let Some(body) = body {
        init.with_body(Some(JsValue::from_str(&body)));
    }
    Request::new_with_init(&format!("https://room{path}"), &init).map_err(ApiError::internal)
}

/// What a room spent answering, from its cost header.
pub fn cost_of(response: &Response) -> Cost {
    let header = response.headers().get(COST_HEADER).ok().flatten();
    Cost::room_call(
        header
            .map(|text| Cost::parse_header(&text))
            .unwrap_or_default(),
    )
}

/// Turns a room's refusal (a non-101, non-2xx answer carrying an [`ApiError`]) back into
/// the error.
async fn refusal(mut response: Response, key: &RoomKey) -> ApiError {
    let status = response.status_code();
    match response.json::<ApiError>().await {
        Ok(error) => error,
        Err(_) => ApiError::internal(format!("room {} answered {status}", key.object_name())),
    }
}

async fn call(env: &Env, key: &RoomKey, request: Request) -> Result<Response, ApiError> {
    let namespace = env
        .durable_object("ROOMS")
        .map_err(|e| ApiError::internal(format!("ROOMS binding: {e}")))?;
    let stub = namespace
        .id_from_name(&key.object_name())
        .and_then(|id| id.get_stub())
        .map_err(|e| ApiError::internal(format!("room stub: {e}")))?;
    stub.fetch_with_request(request)
        .await
        .map_err(|e| ApiError::internal(format!("room {}: {e}", key.object_name())))
}

/// Who joins a room: the verified caller, and whether development tokens are accepted
/// for them (so that their token refreshes are verified as the Worker would).
pub struct Joining<'a> {
    pub principal: &'a Principal,
    pub dev_tokens: bool,
}

/// Hands a WebSocket upgrade to the room; the room's 101 response goes back to the client.
/// A room that refuses (a task room whose task does not exist in this workspace) answers
/// with the error instead.
pub async fn connect(
    env: &Env,
    key: &RoomKey,
    joining: &Joining<'_>,
    since: Option<u64>,
    request_id: &str,
) -> Result<(Response, Cost), ApiError> {
    let principal = joining.principal;
    let headers = Headers::new();
    headers
        .set("Upgrade", "websocket")
        .map_err(ApiError::internal)?;
    if joining.dev_tokens {
        headers
            .set(DEV_TOKENS_HEADER, "true")
            .map_err(ApiError::internal)?;
    }
    let principal_json = serde_json::to_string(principal).map_err(ApiError::internal)?;
    headers
        .set(PRINCIPAL_HEADER, &principal_json)
        .map_err(ApiError::internal)?;
    let path = match since {
        Some(since) => format!("{CONNECT_PATH}?since={since}"),
        None => CONNECT_PATH.to_owned(),
    };
    let request = room_request(key, Method::Get, &path, headers, request_id, None)?;
    let response = call(env, key, request).await?;
    if response.status_code() != 101 {
        return Err(refusal(response, key).await);
    }
    // The room's 101 arrives with immutable headers: a fresh one around the same socket
    // can carry the request id and the cost like every other response.
    let cost = cost_of(&response);
    let socket = response
        .websocket()
        .ok_or_else(|| ApiError::internal("a 101 from the room without its socket"))?;
    let upgraded = Response::from_websocket(socket).map_err(ApiError::internal)?;
    Ok((upgraded, cost))
}

/// Hands a write to the task's room, which commits it; returns its answer, what the call
/// cost (the room's D1 batch included), and the room's `Server-Timing` stages.
pub async fn write(
    env: &Env,
    key: &RoomKey,
    write: &WriteRequest,
    request_id: &str,
) -> Result<(WriteReply, Cost, String), ApiError> {
    let body = serde_json::to_string(write).map_err(ApiError::internal)?;
    let request = room_request(
        key,
        Method::Post,
        WRITE_PATH,
        Headers::new(),
        request_id,
        Some(body),
    )?;
    let mut response = call(env, key, request).await?;
    if response.status_code() != 200 {
        return Err(refusal(response, key).await);
    }
    let cost = cost_of(&response);
    let timing = response
        .headers()
        .get("Server-Timing")
        .ok()
        .flatten()
        .unwrap_or_default();
    let reply = response
        .json::<WriteReply>()
        .await
        .map_err(|e| ApiError::internal(format!("room {}: {e}", key.object_name())))?;
    Ok((reply, cost, timing))
}

/// Asks the workspace's board for the report. The board counts its workspace once and then
/// keeps counters, so this costs one room call and one indexed D1 read (the board checks
/// for changes it has not been told of yet, so a client reads its own writes).
pub async fn analytics(
    env: &Env,
    workspace_id: &str,
    request_id: &str,
) -> Result<(Analytics, Cost), ApiError> {
    let key = RoomKey::Board {
        workspace_id: workspace_id.to_owned(),
    };
    let request = room_request(
        &key,
        Method::Get,
        ANALYTICS_PATH,
        Headers::new(),
        request_id,
        None,
    )?;
    let mut response = call(env, &key, request).await?;
    if response.status_code() != 200 {
        return Err(refusal(response, &key).await);
    }
    let cost = cost_of(&response);
    let report = response
        .json::<Analytics>()
        .await
        .map_err(|e| ApiError::internal(format!("room {}: {e}", key.object_name())))?;
    Ok((report, cost))
}

/// Tells the workspace board who is in a task's room now. Off the critical path, like a
/// change notice; a report that is lost leaves the board one change behind until the room's
/// next one (the board never invents anyone: it only shows what a room reported).
pub async fn tell_board_viewers(
    env: &Env,
    workspace_id: &str,
    report: TaskViewers,
    request_id: &str,
) {
    let key = RoomKey::Board {
        workspace_id: workspace_id.to_owned(),
    };
    let Ok(body) = serde_json::to_string(&report) else {
        return;
    };
    let sent = match room_request(
        &key,
        Method::Post,
        VIEWERS_PATH,
        Headers::new(),
        request_id,
        Some(body),
    ) {
        Ok(request) => call(env, &key, request).await,
        Err(error) => Err(error),
    };
    if let Err(error) = sent {
        tracing::warn!(cause = %error, task_id = %report.task_id, "telling the board who is viewing");
    }
}

/// Tells the workspace board about a committed change. Called off the critical path
/// (`wait_until`): the change is durable in D1, and a board that misses it reads it from
/// there when the next one shows the gap, or on its next connection. So a failure is
/// retried once and then only logged.
pub async fn tell_board(env: &Env, notice: ChangeNotice, request_id: &str) {
    let Some((_, first)) = notice.changes.first() else {
        return;
    };
    let key = RoomKey::Board {
        workspace_id: first.task.workspace_id.clone(),
    };
    let Ok(body) = serde_json::to_string(&notice) else {
        return;
    };
    for attempt in 1..=2 {
        let sent = match room_request(
            &key,
            Method::Post,
            NOTICE_PATH,
            Headers::new(),
            request_id,
            Some(body.clone()),
        ) {
            Ok(request) => call(env, &key, request).await,
            Err(error) => Err(error),
        };
        match sent {
            Ok(response) if response.status_code() < 300 => return,
            Ok(response) => tracing::warn!(
                attempt,
                status = response.status_code(),
                "board notice refused"
            ),
            Err(error) => tracing::warn!(attempt, cause = %error, "board notice failed"),
        }
    }
    tracing::error!(room = %key.object_name(), "board notice failed twice; the board catches up on the next change or connection");
}
