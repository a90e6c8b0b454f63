//! The HTTP layer: one request in, one response out, every error as problem+json.
//!
//! [`respond`] routes (the table is [`hero_core::routes`]), authenticates, and hands each
//! route to its handler, one file per resource:
//! - [`tasks`]: list, create, get, update, delete;
//! - [`activity`]: a task's history and the workspace report;
//! - [`sockets`]: WebSocket upgrades into a task's room or the board;
//! - [`dev`]: the local development sign-in.
//!
//! [`request`] and [`response`] hold the plumbing they share; [`idempotency`] claims and
//! releases a write's `Idempotency-Key`.

mod activity;
#[cfg(test)]
mod contract;
mod dev;
mod idempotency;
pub(crate) mod request;
mod response;
mod sockets;
mod tasks;

use std::cell::{Cell, RefCell};

use serde_json::json;
use tracing::Instrument;
use worker::{Context, Env, Request, Response};

use crate::room::stub::REQUEST_ID_HEADER;
use crate::runtime::{now_ms, setting, Stages};
use crate::store::Store;
use hero_core::auth::Principal;
use hero_core::config::Config;
use hero_core::cost::{Cost, COST_HEADER};
use hero_core::error::ApiError;
use hero_core::protocol::{DOC_SUBPROTOCOL, SUBPROTOCOL};
use hero_core::routes::{route, Route};
use response::{json_response, problem_response};

/// The OpenAPI document, checked by the e2e suite against what the server does.
const OPENAPI: &str = include_str!("openapi.json");

/// What every authenticated handler works with.
pub struct RequestContext<'a> {
    pub env: &'a Env,
    /// For work that may finish after the response (telling the board of a create).
    pub worker: &'a Context,
    pub request_id: &'a str,
    pub store: &'a Store,
    pub caller: &'a Principal,
    /// Whether development tokens are accepted for this request (a room keeps it for the
    /// connection's token refreshes).
    pub dev_tokens: bool,
    /// What the rooms this request called spent (the store counts its own).
    pub room_cost: Cell<Cost>,
    /// Where the time went, for `Server-Timing`.
    pub stages: &'a RefCell<Stages>,
}

impl RequestContext<'_> {
    /// Adds a room call, after whatever this request did before it.
    pub fn record_room_call(&self, cost: Cost) {
        self.room_cost.set(self.room_cost.get().then(cost));
    }
}

/// Serves one REST request. Never fails: every error becomes a problem+json response.
pub async fn respond(req: Request, env: &Env, worker: &Context) -> Response {
    hero_core::logging::apply_log_level(setting(env, "LOG_LEVEL").as_deref());
    let started = now_ms();
    let request_id = request::request_id(&req);
    // A browser that offered one of our subprotocols (with its token beside it) must see it
    // selected, or it drops the socket.
    let offered = request::header(&req, "Sec-WebSocket-Protocol").unwrap_or_default();
    let offered_subprotocol = [SUBPROTOCOL, DOC_SUBPROTOCOL]
        .into_iter()
        .find(|ours| offered.split(',').any(|p| p.trim() == *ours));
    // The raw method: worker's Method enum folds unknown methods (QUERY, TRACE…) into GET.
    let method = req.inner().method().to_ascii_uppercase();
    let routed = route(&method, &req.path());
    // Never the URL: a WebSocket URL carries the token in its query.
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        route = routed.as_ref().map_or("unknown", Route::name),
        method = %method,
        user_id = tracing::field::Empty,
        task_id = tracing::field::Empty,
    );
    async move {
        let cost = Cell::new(Cost::default());
        let stages = RefCell::new(Stages::default());
        let outcome = match routed {
            Ok(route) => dispatch(route, req, env, worker, &request_id, &cost, &stages).await,
            Err(error) => Err(error),
        };
        let response = match outcome {
            Ok(response) => response,
            Err(error) => {
                if let ApiError::Internal(cause) = &error {
                    tracing::error!(cause = %cause, "internal error");
                }
                problem_response(&error, &request_id)
            }
        };
        let status = response.status_code();
        tracing::info!(
            status,
            duration_ms = now_ms().saturating_sub(started),
            "request"
        );
        let headers = response.headers();
        let _ = headers.set(REQUEST_ID_HEADER, &request_id);
        let _ = headers.set(COST_HEADER, &cost.get().to_header());
        let mut timing = stages.into_inner();
        timing.record("total", now_ms().saturating_sub(started));
        let _ = headers.set("Server-Timing", &timing.header(""));
        // API answers are per caller: never cached, never sniffed into another type.
        let _ = headers.set("Cache-Control", "no-store");
        let _ = headers.set("X-Content-Type-Options", "nosniff");
        if let Some(selected) = offered_subprotocol.filter(|_| status == 101) {
            let _ = headers.set("Sec-WebSocket-Protocol", selected);
        }
        // HEAD: what GET answers, status and headers, without the body (RFC 9110 §9.3.2).
        if method == "HEAD" {
            return response::without_body(response);
        }
        response
    }
    .instrument(span)
    .await
}

/// Runs the route; `cost` collects what the request spent in D1 and rooms.
async fn dispatch(
    route: Route,
    req: Request,
    env: &Env,
    worker: &Context,
    request_id: &str,
    cost: &Cell<Cost>,
    stages: &RefCell<Stages>,
) -> Result<Response, ApiError> {
    match route {
        Route::Health => json_response(200, &json!({"status": "ok"})),
        Route::OpenApi => Response::ok(OPENAPI)
            .and_then(|r| {
                r.headers().set("Content-Type", "application/json")?;
                Ok(r)
            })
            .map_err(ApiError::internal),
        Route::DevConfig => dev::config(&req, env),
        Route::DevToken => dev::token(req, env).await,
        route => {
            let config =
                Config::from_lookup(|name| setting(env, name)).map_err(ApiError::internal)?;
            let dev_tokens = request::dev_tokens_allowed(&req, env);
            let auth_started = now_ms();
            let caller = request::authenticate(&req, &config, dev_tokens).await?;
            stages.borrow_mut().record("auth", now_ms() - auth_started);
            tracing::Span::current().record("user_id", caller.user_id.as_str());
            if let Route::GetTask(id)
            | Route::UpdateTask(id)
            | Route::DeleteTask(id)
            | Route::TaskActivity(id)
            | Route::TaskSocket(id)
            | Route::TaskDocSocket(id) = &route
            {
                tracing::Span::current().record("task_id", id.as_str());
            }
            let store = Store::open(env)?;
            let ctx = RequestContext {
                env,
                worker,
                request_id,
                store: &store,
                caller: &caller,
                dev_tokens,
                room_cost: Cell::new(Cost::default()),
                stages,
            };
            let outcome = match route {
                Route::ListTasks => tasks::list(&req, &ctx).await,
                Route::CreateTask => tasks::create(req, &ctx).await,
                Route::GetTask(id) => tasks::get(&ctx, &id).await,
                Route::UpdateTask(id) => tasks::update(req, &ctx, &id).await,
                Route::DeleteTask(id) => tasks::delete(&req, &ctx, &id).await,
                Route::TaskActivity(id) => activity::history(&req, &ctx, &id).await,
                Route::Analytics => activity::analytics(&ctx).await,
                Route::TaskSocket(id) => sockets::open(&req, &ctx, Some(&id)).await,
                Route::TaskDocSocket(id) => sockets::open_doc(&req, &ctx, &id).await,
                Route::BoardSocket => sockets::open(&req, &ctx, None).await,
                Route::Health | Route::OpenApi | Route::DevConfig | Route::DevToken => {
                    unreachable!("handled above")
                }
            };
            // The request's own D1 calls come first; a room call (if any) followed them.
            cost.set(store.cost().then(ctx.room_cost.get()));
            outcome
        }
    }
}
