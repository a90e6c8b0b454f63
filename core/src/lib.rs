//! # hero-core: the pure core of Hero Tasks
//!
//! Every rule and decision of Hero Tasks, with no Workers runtime in sight: this crate does
//! not depend on `worker`, so anything that would do I/O here is a compile error. The
//! Worker (the root crate, `hero-tasks`) parses requests, calls in here, and carries out
//! what it is told; everything here is unit tested on the host (`cargo test -p hero-core`).
//!
//! ## A tour
//!
//! The task model:
//! - [`task`]: validated fields (`TaskId`, `Title`, `Status`, `Tags`, …), what a client may
//!   send (a create or a JSON merge patch), the [`task::Task`] itself, the change record of
//!   every write, and the decisions of a write (`If-Match`, transitions, permissions).
//! - [`listing`]: list filters, the keyset cursor and the page; [`list_plan`]: the one
//!   statement that reads a page by walking an index in list order, and [`search`]: `q` as
//!   an FTS5 query that can only mean words.
//! - [`activity`]: a task's history as the API serves it.
//! - [`analytics`]: the workspace report.
//!
//! The API around it:
//! - [`auth`]: bearer tokens in Supabase's claim layout, roles, development tokens.
//! - [`conditional`]: `ETag` and `If-Match`.
//! - [`cost`]: what a request costs in D1 calls, rows and room calls, counted.
//! - [`routes`]: method and path → route (404 versus 405 is decided here).
//! - [`error`]: the one error type, and its problem+json body (bounded: at most 20 field
//!   errors listed, echoed names cut).
//! - [`json`]: JSON as the API reads it from clients: a repeated key is refused.
//! - [`config`]: typed settings from vars and secrets.
//!
//! Live rooms:
//! - [`doc`]: the shared description, a Yjs document (yrs): its updates checked and applied,
//!   the y-protocols messages, the smallest edit between texts, when D1 follows it.
//! - [`protocol`]: the WebSocket wire messages (tagged serde enums), close and error codes.
//! - [`room`]: the room state machine: presence, frames and rate limits, the event log,
//!   connection acceptance, timers and broadcast pacing.
//!
//! Around all of it: [`logging`] (one JSON object per log line) and [`fuzzing`] (the entry
//! points of the cargo-fuzz targets in `fuzz/`). The `hero-token` binary (`make token`)
//! signs development tokens.

pub mod activity;
pub mod analytics;
pub mod auth;
pub mod conditional;
pub mod config;
pub mod cost;
pub mod doc;
pub mod error;
pub mod fuzzing;
pub mod idempotency;
pub mod json;
pub mod list_plan;
pub mod listing;
pub mod logging;
pub mod protocol;
pub mod room;
pub mod routes;
pub mod search;
pub mod task;

#[cfg(test)]
mod properties;
