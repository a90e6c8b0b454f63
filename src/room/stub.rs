//! The wire between the Worker and its rooms: one typed client ([`call`], and [`connect`]
//! for the upgrade), and the room's side of the same transport ([`read_envelope`],
//! [`reply`], [`refusal_response`]), so no handler builds Durable Object URLs or headers.
//!
//! Every room is an instance of the `Room` Durable Object class (binding `ROOMS`), named by
//! its [`RoomKey`]. A call travels as an [`Envelope`]: its [`Address`] (which room, which
//! call, which request) in the `X-Hero-Call` header, and its arguments as JSON in the body
//! of a POST (or, for a connect, which must be a GET upgrade, in `X-Hero-Args`). The Worker authenticates and authorizes; the room trusts the
//! identity it is handed, which only the Worker can send (a Durable Object has no public
//! address). Every failure comes back as problem+json carrying an [`ApiError`].

use serde::Serialize;
use wasm_bindgen::JsValue;
use worker::{Env, Headers, Method, Request, RequestInit, Response};

use super::error::RoomResult;
use hero_core::cost::{Cost, COST_HEADER};
use hero_core::error::ApiError;
use hero_core::room::{
    Address, Call, ChangeNotice, Envelope, Joining, RoomCall, RoomKey, TaskViewers,
};

/// The header a call's address travels in: which room, which call, which request.
const ADDRESS_HEADER: &str = "X-Hero-Call";
/// The header a connect's arguments travel in (an upgrade has no body).
const ARGS_HEADER: &str = "X-Hero-Args";
/// The response header (and the room call's) carrying the request id.
pub const REQUEST_ID_HEADER: &str = "X-Request-Id";

/// A reply, what answering cost (the room's D1 work included) and the room's
/// `Server-Timing` stages.
pub struct Replied<T> {
    pub reply: T,
    pub cost: Cost,
    pub timing: String,
}

/// Makes a call that has a JSON reply.
pub async fn call<C: Call>(
    env: &Env,
    key: &RoomKey,
    call: C,
    request_id: &str,
) -> Result<Replied<C::Reply>, ApiError> {
    let mut response = send(env, key, call.into(), request_id).await?;
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
        .json::<C::Reply>()
        .await
        .map_err(|e| ApiError::internal(format!("room {}: {e}", key.object_name())))?;
    Ok(Replied {
        reply,
        cost,
        timing,
    })
}

/// Hands a WebSocket upgrade to the room; the room's 101 goes back to the client. A room
/// that refuses (a task room whose task does not exist in this workspace) answers with the
/// error instead.
pub async fn connect(
    env: &Env,
    key: &RoomKey,
    joining: Joining,
    request_id: &str,
) -> Result<(Response, Cost), ApiError> {
    upgrade(env, key, RoomCall::Connect(joining), request_id).await
}

/// The same for a task's document socket.
pub async fn connect_doc(
    env: &Env,
    key: &RoomKey,
    joining: Joining,
    request_id: &str,
) -> Result<(Response, Cost), ApiError> {
    upgrade(env, key, RoomCall::ConnectDoc(joining), request_id).await
}

async fn upgrade(
    env: &Env,
    key: &RoomKey,
    call: RoomCall,
    request_id: &str,
) -> Result<(Response, Cost), ApiError> {
    let response = send(env, key, call, request_id).await?;
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

/// Tells the workspace board about committed changes. Called off the critical path
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
    for attempt in 1..=2 {
        match call(env, &key, notice.clone(), request_id).await {
            Ok(_) => return,
            Err(error) => tracing::warn!(attempt, cause = ?error, "board notice failed"),
        }
    }
    tracing::error!(room = %key.object_name(), "board notice failed twice; the board catches up on the next change or connection");
}

/// Tells the workspace board who is in a task's room now. Off the critical path, like a
/// change notice; a report that is lost leaves the board one change behind until the room's
/// next one (the board never invents anyone: it only shows what a room reported).
pub async fn tell_board_viewers(env: &Env, workspace_id: &str, report: TaskViewers) {
    let key = RoomKey::Board {
        workspace_id: workspace_id.to_owned(),
    };
    let task_id = report.task_id.clone();
    if let Err(error) = call(env, &key, report, "").await {
        tracing::warn!(cause = ?error, task_id = %task_id, "telling the board who is viewing");
    }
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

async fn send(
    env: &Env,
    key: &RoomKey,
    call: RoomCall,
    request_id: &str,
) -> Result<Response, ApiError> {
    let request = request(&Envelope {
        room: key.clone(),
        request_id: request_id.to_owned(),
        call,
    })?;
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

fn request(envelope: &Envelope) -> Result<Request, ApiError> {
    let address = serde_json::to_string(&envelope.address()).map_err(ApiError::internal)?;
    let args = envelope.call.args_json().map_err(ApiError::internal)?;
    let headers = Headers::new();
    headers
        .set(ADDRESS_HEADER, &address)
        .map_err(ApiError::internal)?;
    let mut init = RequestInit::new();
    if envelope.call.is_upgrade() {
        headers
            .set("Upgrade", "websocket")
            .and_then(|_| headers.set(ARGS_HEADER, &args))
            .map_err(ApiError::internal)?;
        init.with_method(Method::Get);
    } else {
        init.with_method(Method::Post)
            .with_body(Some(JsValue::from_str(&args)));
    }
    init.with_headers(headers);
    Request::new_with_init("https://room/", &init).map_err(ApiError::internal)
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

/// The room's side: the call a request carries.
pub async fn read_envelope(mut req: Request) -> Result<Envelope, ApiError> {
    let bad = |e: String| ApiError::BadRequest(format!("room call: {e}"));
    let header = |name: &str| req.headers().get(name).map_err(|e| bad(e.to_string()));
    let address = header(ADDRESS_HEADER)?.ok_or_else(|| bad("no address".into()))?;
    let address: Address = serde_json::from_str(&address).map_err(|e| bad(e.to_string()))?;
    let args = match header(ARGS_HEADER)? {
        Some(args) => args,
        None => req.text().await.map_err(|e| bad(e.to_string()))?,
    };
    Envelope::open(address, &args).map_err(|e| bad(e.to_string()))
}

/// The room's side: a reply as JSON, with what answering cost in D1.
pub fn reply<T: Serialize>(body: &T, cost: Cost) -> RoomResult<Response> {
    let response = Response::from_json(body)?;
    response.headers().set(COST_HEADER, &cost.to_header())?;
    Ok(response)
}

/// The room's side: a refusal, which [`call`] and [`connect`] turn back into the error.
pub fn refusal_response(error: &ApiError, cost: Cost) -> worker::Result<Response> {
    let response = Response::from_json(error)?.with_status(error.status_code());
    response.headers().set(COST_HEADER, &cost.to_header())?;
    Ok(response)
}
