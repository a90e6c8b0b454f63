//! The live rooms on the Workers runtime: the glue around [`hero_core::room`].
//!
//! - [`stub`]: the Worker's side, the typed client for Worker → room calls;
//! - [`object`]: the `Room` Durable Object's entry points (calls, socket events, the alarm);
//! - [`dispatch`]: carrying out what the core decided, and telling the board who is here;
//! - [`alarm`]: the one storage alarm, set to the next time-driven job;
//! - [`write`]: a task room commits its task's writes, one at a time;
//! - [`board`]: the workspace board counts its workspace and takes change notices;
//! - [`connect`]: a new connection, from the existence check to its first frames;
//! - [`catch_up`]: reading committed changes from D1 into the log;
//! - [`publish`]: the log and the paced flush of its events to the sockets;
//! - [`presence`]: the room's presence list in storage, and held-back presence diffs;
//! - [`storage`]: the room's SQLite, a file per thing stored (log, task, board, people);
//! - [`sockets`]: tags, attachments and fan-out.

mod alarm;
mod board;
mod catch_up;
mod connect;
mod dispatch;
mod object;
mod presence;
mod publish;
mod sockets;
mod storage;
pub mod stub;
mod write;

pub use object::Room;
