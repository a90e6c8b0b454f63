//! # Hero Tasks: the Worker
//!
//! A real-time task-collaboration backend for Cloudflare Workers: tasks over REST, stored in
//! D1, with every committed write recorded beside it; live rooms (Durable Objects with
//! hibernating WebSockets) carry presence, typing and every change to the browsers.
//!
//! ## A tour
//!
//! Every rule and decision lives in the pure core, [`hero_core`] (its own crate, which does
//! not depend on `worker`, so it cannot do I/O). This crate is the glue that does the I/O
//! around it, one folder per layer:
//!
//! - [`http`]: one request in, one response out: routing, auth, one file per resource,
//!   every error as problem+json.
//! - [`store`]: D1, the system of record: constant SQL, always bound, always scoped to the
//!   caller's workspace; its own `StoreError`, which `http` maps to statuses.
//! - [`room`]: the `Room` Durable Object (one per task, one board per workspace) and the
//!   Worker's typed client for it. Each room event is load → decide
//!   (`hero_core::room`'s entry points) → carry out (`room::carry_out`).
//! - [`tokens`]: bearer-token verification on the runtime: the project's JWKS, fetched
//!   and cached (the rules are `hero_core::auth`).
//! - [`runtime`]: the clock and the settings, which every layer reads.
//!
//! A create goes `http::tasks` → `hero_core::task` (decide) → `store` (commit the row and its
//! change record in one batch) → the board (`room::stub::tell_board`). An update or a delete
//! goes `http::tasks` → `room::stub::call` → the task's room (`room::write`: decide with
//! `hero_core::task`, commit the group to D1) → `hero_core::room::on_committed` → the log
//! and its sockets, and the board.

pub mod http;
pub mod room;
pub mod runtime;
pub mod store;
pub mod tokens;

use worker::{event, Context, Env, Request, Response, Result};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
    hero_core::logging::init(write_log_line);
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
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    Ok(http::respond(req, &env, &ctx).await)
}
