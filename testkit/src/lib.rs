//! # hero-testkit
//!
//! What the end-to-end suite (`tests/e2e`) and the benchmarks (`bench/`) share, so neither
//! reaches into the other:
//! - [`process`]: child servers in their own process groups, on free loopback ports, with
//!   their output in a log file, stopped (the whole group) when dropped;
//! - [`wrangler`]: the project's paths, the pinned `wrangler` binary, local D1 migrations and
//!   the `wrangler dev` command line;
//! - [`tokens`]: development JWTs for any user, role and workspace.

pub mod process;
pub mod tokens;
pub mod wrangler;
