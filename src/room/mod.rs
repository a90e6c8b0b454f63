//! The live rooms on the Workers runtime: the glue around [`hero_core::room`].
//!
//! - [`stub`]: the Worker's side, the typed client for Worker → room calls;
//! - [`object`]: the `Room` Durable Object's entry points (calls, socket events, the alarm);
//! - [`connect`]: a new connection, from catch-up to its first frames;
//! - [`catch_up`]: reading committed changes from D1 into the log, and broadcasting them;
//! - [`storage`]: the room's SQLite (its log, its position, pending departures);
//! - [`sockets`]: tags, attachments and fan-out.

mod catch_up;
mod connect;
mod object;
mod sockets;
mod storage;
pub mod stub;

pub use object::Room;
