//! The harness every e2e test uses, split by job:
//! - [`server`]: the real `wrangler dev` under test;
//! - [`api`]: an HTTP client acting as one user;
//! - [`socket`]: a real WebSocket client in a room;
//! - [`doc_peer`]: a Yjs peer on a task's document socket (y-protocols);
//! - [`fixtures`]: workspaces, tokens and the usual one-task arrangement;
//! - [`jwks`]: a stand-in for a Supabase project's JWKS, and tokens signed with its keys.

mod api;
mod doc_peer;
mod fixtures;
mod jwks;
mod server;
mod socket;

pub use api::{Api, Reply};
pub use doc_peer::{DocPeer, Heard};
pub use fixtures::{raw_token, token, token_with_secret, unique_workspace, Scene};

pub use server::{Server, TEST_SECRET};
pub use socket::{join_room, Socket};
