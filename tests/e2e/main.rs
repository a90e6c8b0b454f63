//! End-to-end suite: the real `wrangler dev` (workerd, local D1), driven over HTTP, real
//! WebSockets and a real headless Chromium.
//!
//! One binary, one server: `main` starts the dev server once on a free loopback port with a
//! fresh state directory, runs every test against it (each in its own workspace, so they can
//! run in parallel), then stops it. Output and exit code follow `cargo test`.
//!
//! Each test module lists its own tests with [`register!`] at its top, so adding a test
//! touches that one file.

/// Lists a module's tests by how they share the server:
/// - `Shared`: runs in parallel with the others;
/// - `Exclusive`: runs alone (it restarts the server, writes to its D1 from outside, or
///   drives Chromium, which is heavy on a 2-core machine);
/// - `Ignored`: runs only when asked for with `--ignored` (minutes long: `make soak`).
macro_rules! register {
    ($($mode:ident: [$($name:ident),* $(,)?]),* $(,)?) => {
        pub fn tests() -> Vec<crate::Test> {
            vec![$($(crate::Test {
                name: format!(
                    "{}::{}",
                    module_path!().rsplit("::").next().unwrap_or_default(),
                    stringify!($name)
                ),
                mode: crate::Mode::$mode,
                run: |ctx| Box::pin($name(ctx)),
            }),*),*]
        }
    };
}

mod abuse;
mod auth;
mod browser;
mod documents;
mod hardening;
mod harness;
mod idempotency;
mod limits;
mod logs;
mod offline;
mod plans;
mod react_example;
mod readme;
mod rest;
mod rest_abuse;
mod rooms;
mod schema;
mod search;
mod setup;
mod shared_text;
mod soak;
mod ui;
mod writes;

use std::future::Future;
use std::pin::Pin;
use std::sync::{OnceLock, RwLock};

use libtest_mimic::{Arguments, Trial};

use harness::Server;

/// What every test gets: the server under test and a runtime to drive clients on.
pub struct Ctx {
    pub server: Server,
    pub runtime: tokio::runtime::Runtime,
}

/// How a test shares the server (see [`register!`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    Shared,
    Exclusive,
    Ignored,
}

pub struct Test {
    pub name: String,
    pub mode: Mode,
    pub run: fn(&'static Ctx) -> Pin<Box<dyn Future<Output = ()> + Send>>,
}

static CTX: OnceLock<Ctx> = OnceLock::new();

/// Shared tests hold this for reading; exclusive ones hold it alone.
static SERVER_GATE: RwLock<()> = RwLock::new(());

fn ctx() -> &'static Ctx {
    CTX.get_or_init(|| Ctx {
        server: Server::start(),
        runtime: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime"),
    })
}

fn trial(test: Test) -> Trial {
    let Test { name, mode, run } = test;
    Trial::test(name, move || {
        let ctx = ctx();
        // A failed test poisons the lock; the others still run.
        if mode == Mode::Shared {
            let _gate = SERVER_GATE.read().unwrap_or_else(|p| p.into_inner());
            ctx.runtime.block_on(run(ctx));
        } else {
            let _gate = SERVER_GATE.write().unwrap_or_else(|p| p.into_inner());
            ctx.runtime.block_on(run(ctx));
        }
        Ok(())
    })
    .with_ignored_flag(mode == Mode::Ignored)
}

fn main() {
    let args = Arguments::from_args();
    let mut tests: Vec<Test> = [
        rest::tests(),
        auth::tests(),
        rest_abuse::tests(),
        logs::tests(),
        plans::tests(),
        hardening::tests(),
        idempotency::tests(),
        limits::tests(),
        schema::tests(),
        search::tests(),
        rooms::tests(),
        documents::tests(),
        abuse::tests(),
        browser::tests(),
        offline::tests(),
        react_example::tests(),
        readme::tests(),
        setup::tests(),
        shared_text::tests(),
        ui::tests(),
        soak::tests(),
        writes::tests(),
    ]
    .into_iter()
    .flatten()
    .collect();
    // The shared tests first, so the exclusive ones wait for one drain of the pool.
    tests.sort_by_key(|test| test.mode);
    let conclusion = libtest_mimic::run(&args, tests.into_iter().map(trial).collect());
    browser::stop_chromedriver();
    if let Some(ctx) = CTX.get() {
        ctx.server.stop();
    }
    conclusion.exit();
}
