//! The shared description: a Yjs document per task, held by the task's room and edited by
//! every editor at once over the y-websocket protocol.
//!
//! - [`shared`]: the document (yrs), what it takes from a client and how it is stored;
//! - [`scan`]: reading an update before it is applied, so one that touches anything but the
//!   description's text never reaches the document;
//! - [`diff`]: the smallest edit between two texts (a REST `PATCH` of the description);
//! - [`wire`]: the y-protocols messages (sync, awareness, query awareness, auth);
//! - [`flush`]: when D1's `description` follows the document.
//!
//! The room's decisions about document sockets are `crate::room`'s (`room::documents`).

pub mod diff;
pub mod flush;
pub mod scan;
pub mod shared;
pub mod wire;

pub use shared::{Applied, DocError, SharedDoc, ROOT};
