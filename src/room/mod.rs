//! The live rooms on the Workers runtime: the glue around [`hero_core::room`].
//!
//! Every event is load → decide → carry out: [`object`] loads a snapshot, a core entry
//! point decides, and [`carry_out`] does what the returned `Effects` say.
//!
//! - [`stub`]: the wire between the Worker and its rooms (one typed call);
//! - [`object`]: the `Room` Durable Object's entry points (calls, socket events, the alarm);
//! - [`connect`]: a new connection, from loading the task to its first frames;
//! - [`documents`]: the shared description's sockets (y-websocket), and the room's own
//!   writes of it to D1;
//! - [`write`]: a task room commits its task's writes, in groups;
//! - [`changes`]: committed changes into the log, and catching up with D1;
//! - [`board`]: the workspace board counts its workspace and takes change notices;
//! - [`viewers`]: a task room tells its board who is here, and the board takes it;
//! - [`carry_out`]: applying what the core decided, in one order;
//! - [`error`]: the one way a room call fails ([`RoomError`]);
//! - in memory, each safe to lose: [`queue`] (the write queue), [`outbox`] (published
//!   events and presence, paced), [`guard`] (one catch-up or report at a time),
//!   [`document`] (the shared description, loaded from storage), [`budgets`] (each user's
//!   frames per second, and their cool-down);
//! - [`sockets`]: tags, attachments and fan-out;
//! - [`storage`]: the room's SQLite, versioned, a file per thing stored.

mod alarm;
mod board;
mod budgets;
mod carry_out;
mod changes;
mod connect;
mod document;
mod documents;
pub mod error;
mod guard;
mod object;
mod outbox;
mod queue;
mod sockets;
mod storage;
pub mod stub;
mod viewers;
mod write;

pub use error::RoomError;
pub use object::Room;
