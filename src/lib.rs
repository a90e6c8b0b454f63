//! # Hero Tasks
//!
//! A real-time task-collaboration backend for Cloudflare Workers: tasks over REST, stored in
//! D1, with every committed write recorded beside it; live rooms (Durable Objects with
//! hibernating WebSockets) carry presence, typing and every change to the browsers.
//!
//! # Layout
//!
//! The crate is a pure core, unit tested on the host with `cargo test`, and thin glue that
//! only does I/O around it on the Workers runtime.
//!
//! Pure core (no `worker` calls):
//! - [`domain`]: the task model, validated newtypes (`TaskId`, `Title`, `Status`, …), JSON
//!   merge patch and the change record.
//! - [`auth`]: HS256 bearer tokens in Supabase's claim layout, roles and permissions.
//! - [`listing`]: list filters and the opaque keyset cursor.
//! - [`conditional`]: `ETag` / `If-Match` for versioned writes.
//! - [`analytics`]: the workspace report.
//! - [`routes`]: the route table (404 vs 405).
//! - [`error`]: the one error type, rendered as `application/problem+json`.
//! - [`config`]: typed settings from vars and secrets.
//! - [`fuzzing`]: the entry points of the cargo-fuzz targets in `fuzz/`.
//! - [`logging`]: one JSON object per log line, with request and room fields from spans.
//! - [`protocol`]: the WebSocket wire messages (tagged serde enums).
//! - [`room`]: the room state machine: presence, typing, editing, rate limits, replay.
//!
//! Runtime glue:
//! - [`api`]: the REST handlers (parse, authorize, call the store, respond).
//! - [`store`]: D1 queries: constant SQL, always bound, always scoped to a workspace.
//! - [`rooms`]: the typed client for Worker → room calls.
//! - [`room_object`]: the `Room` Durable Object (one per task, one board per workspace),
//!   hibernation-safe glue around [`room`].
//!
//! The `hero-token` binary (`make token`) signs development tokens with [`auth`].

pub mod analytics;
pub mod api;
pub mod auth;
pub mod conditional;
pub mod config;
pub mod domain;
pub mod error;
pub mod fuzzing;
pub mod listing;
pub mod logging;
pub mod protocol;
pub mod room;
pub mod room_object;
pub mod rooms;
pub mod routes;
pub mod store;

#[cfg(test)]
mod properties;

use worker::{event, Context, Env, Request, Response, Result};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
    logging::init(write_log_line);
}

/// Sends a log line to the console method of its level, which Workers Logs and
/// `wrangler tail` keep as the line's level.
fn write_log_line(level: tracing::Level, line: &str) {
    match level {
        tracing::Level::ERROR => worker::console_error!("{line}"),
        tracing::Level::WARN => worker::console_warn!("{line}"),
        _ => worker::console_log!("{line}"),
    }
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    Ok(api::respond(req, &env).await)
}
