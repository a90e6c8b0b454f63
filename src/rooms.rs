//! The one typed client for Worker → room calls, so no handler builds Durable Object URLs.
//!
//! Every room is an instance of the `Room` Durable Object class (binding `ROOMS`), named by
//! its [`RoomKey`]. The Worker authenticates and authorizes; the room trusts the identity it
//! is handed in internal headers, which only the Worker can send (a Durable Object has no
//! public address).

use serde::{Deserialize, Serialize};
use worker::{Env, Headers, Method, Request, RequestInit, Response};

use crate::api::REQUEST_ID_HEADER;
use crate::auth::Principal;
use crate::error::ApiError;

/// Internal header carrying the room's identity as JSON.
pub const ROOM_HEADER: &str = "X-Hero-Room";
/// Internal header carrying the connecting principal as JSON.
pub const PRINCIPAL_HEADER: &str = "X-Hero-Principal";

/// Which room: one per task, and one board per workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoomKey {
    Task {
        workspace_id: String,
        task_id: String,
    },
    Board {
        workspace_id: String,
    },
}

impl RoomKey {
    /// The Durable Object name. Task ids are random UUIDs, unique across workspaces.
    pub fn object_name(&self) -> String {
        match self {
            RoomKey::Task { task_id, .. } => format!("task:{task_id}"),
            RoomKey::Board { workspace_id } => format!("board:{workspace_id}"),
        }
    }

    pub fn workspace_id(&self) -> &str {
        match self {
            RoomKey::Task { workspace_id, .. } | RoomKey::Board { workspace_id } => workspace_id,
        }
    }

    pub fn task_id(&self) -> Option<&str> {
        match self {
            RoomKey::Task { task_id, .. } => Some(task_id),
            RoomKey::Board { .. } => None,
        }
    }

    pub fn is_board(&self) -> bool {
        matches!(self, RoomKey::Board { .. })
    }
}

fn room_request(
    key: &RoomKey,
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
    init.with_method(Method::Get).with_headers(headers);
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
        Some(since) => format!("/connect?since={since}"),
        None => "/connect".to_owned(),
    };
    call(env, key, room_request(key, &path, headers, request_id)?).await
}

/// Tells a room that new changes are committed. The room reads them from D1 itself, in
/// commit order, so a lost notification delays events until the next one but loses none.
pub async fn notify(env: &Env, key: &RoomKey, request_id: &str) -> Result<(), ApiError> {
    let response = call(
        env,
        key,
        room_request(key, "/drain", Headers::new(), request_id)?,
    )
    .await?;
    match response.status_code() {
        200..=299 => Ok(()),
        status => Err(ApiError::internal(format!(
            "room {} answered {status} to drain",
            key.object_name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_objects() {
        let task = RoomKey::Task {
            workspace_id: "ws".into(),
            task_id: "t1".into(),
        };
        assert_eq!(task.object_name(), "task:t1");
        assert_eq!(task.task_id(), Some("t1"));
        let board = RoomKey::Board {
            workspace_id: "ws".into(),
        };
        assert_eq!(board.object_name(), "board:ws");
        assert!(board.is_board());
        let json = serde_json::to_string(&task).unwrap();
        assert_eq!(serde_json::from_str::<RoomKey>(&json).unwrap(), task);
    }
}
