//! The Worker's side of the rooms: the one typed client for Worker → room calls, so no
//! handler builds Durable Object URLs.
//!
//! Every room is an instance of the `Room` Durable Object class (binding `ROOMS`), named by
//! its [`RoomKey`]. The Worker authenticates and authorizes; the room trusts the identity it
//! is handed in internal headers, which only the Worker can send (a Durable Object has no
//! public address).

use worker::{Env, Headers, Method, Request, RequestInit, Response};

use hero_core::auth::Principal;
use hero_core::error::ApiError;
use hero_core::room::RoomKey;
use hero_core::task::Change;

/// Internal header carrying the room's identity as JSON.
pub const ROOM_HEADER: &str = "X-Hero-Room";
/// Internal header carrying the connecting principal as JSON.
pub const PRINCIPAL_HEADER: &str = "X-Hero-Principal";
/// The response header (and internal room-call header) carrying the request id.
pub const REQUEST_ID_HEADER: &str = "X-Request-Id";

/// The room's paths.
pub const CONNECT_PATH: &str = "/connect";
pub const CATCH_UP_PATH: &str = "/catch-up";

fn room_request(
    key: &RoomKey,
    method: Method,
    path: &str,
    headers: Headers,
    request_id: &str,
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
    Request::new_with_init(&format!("https://room{path}"), &init).map_err(ApiError::internal)
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

/// Hands a WebSocket upgrade to the room; the room's 101 response goes back to the client.
pub async fn connect(
    env: &Env,
    key: &RoomKey,
    principal: &Principal,
    since: Option<u64>,
    request_id: &str,
) -> Result<Response, ApiError> {
    let headers = Headers::new();
    headers
        .set("Upgrade", "websocket")
        .map_err(ApiError::internal)?;
    let principal_json = serde_json::to_string(principal).map_err(ApiError::internal)?;
    headers
        .set(PRINCIPAL_HEADER, &principal_json)
        .map_err(ApiError::internal)?;
    let path = match since {
        Some(since) => format!("{CONNECT_PATH}?since={since}"),
        None => CONNECT_PATH.to_owned(),
    };
    call(
        env,
        key,
        room_request(key, Method::Get, &path, headers, request_id)?,
    )
    .await
}

/// Tells a room that new changes are committed. The room reads them from D1 itself, in
/// commit order, so a lost call delays events until the next one but loses none.
pub async fn catch_up(env: &Env, key: &RoomKey, request_id: &str) -> Result<(), ApiError> {
    let request = room_request(key, Method::Post, CATCH_UP_PATH, Headers::new(), request_id)?;
    let response = call(env, key, request).await?;
    match response.status_code() {
        200..=299 => Ok(()),
        status => Err(ApiError::internal(format!(
            "room {} answered {status} to catch-up",
            key.object_name()
        ))),
    }
}

/// Tells the task's room and the workspace board about a committed change.
///
/// The change is already durable in D1 (with its `task_changes` record) and the rooms
/// read it from there, so a failed call is retried once and then only logged: the rooms
/// pick the change up, in order, on their next call or connection.
pub async fn announce(env: &Env, change: &Change, request_id: &str) {
    let workspace_id = change.task.workspace_id.clone();
    let task_room = RoomKey::Task {
        workspace_id: workspace_id.clone(),
        task_id: change.task.id.clone(),
    };
    let board = RoomKey::Board { workspace_id };
    let tell = |key: RoomKey| async move {
        if catch_up(env, &key, request_id).await.is_err() {
            if let Err(error) = catch_up(env, &key, request_id).await {
                tracing::error!(room = %key.object_name(), cause = %error, "room catch-up call failed; the room catches up on its next call");
            }
        }
    };
    futures::join!(tell(task_room), tell(board));
}
