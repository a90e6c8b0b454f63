//! The systems under test, started and stopped by the harness, each on free loopback ports.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hero_core::auth::Role;
use hero_testkit::process::{free_port, http_ok, ProcessGroup};
pub use hero_testkit::wrangler::project_root;
use hero_testkit::wrangler::{apply_migrations, dev_command, scratch_dir};

use crate::postgres::Postgres;
use crate::spawn::{log_path, spawn};

/// The secret every system verifies tokens with; a bench-only value, never deployed.
pub const SECRET: &str = "bench-secret-bench-secret-bench-secret-01";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// This project's worker: REST + D1 + Room Durable Objects.
    Hero,
    /// The old design: Node `ws` + Redis pub/sub, tasks in Postgres (or, as an extra row, in
    /// an in-memory Map).
    Baseline,
    /// A bare JavaScript Durable Object relay (reference point).
    JsRelay,
    /// A bare tokio-tungstenite broadcast server (reference point).
    RawTokio,
    /// The Yjs project's own y-websocket server (the shared description's reference).
    YjsReference,
}

/// The old design with its real store: every ratio and goal is against the 1-process row.
pub const OLD_DESIGN: &str = "Node ws + Redis + Postgres (1 process)";
pub const OLD_DESIGN_2: &str = "Node ws + Redis + Postgres (2 processes)";
/// The old design's sockets and fan-out over a hash map instead of a database.
pub const IN_MEMORY: &str = "Node ws + Redis, in-memory Map (1 process)";
/// The Yjs reference server with its persistence on (LevelDB), the documents' baseline, and
/// off.
pub const YJS_PERSISTENT: &str = "Yjs reference, LevelDB (y-websocket-server)";
pub const YJS_IN_MEMORY: &str = "Yjs reference, in memory (y-websocket-server)";

/// Where the Node baseline keeps its tasks (`STORE` in bench/baseline/server.mjs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    Memory,
    Postgres,
}

pub struct System {
    pub name: &'static str,
    pub kind: Kind,
    /// Where REST requests and publishes go.
    pub http: String,
    /// Where subscribers connect, round-robin (two entries for the two-process baseline).
    pub ws: Vec<String>,
    /// Milliseconds from spawning the server to its first successful answer.
    pub startup_ms: f64,
    groups: Vec<ProcessGroup>,
    /// The ports of the servers in `groups` (their log files are named after them).
    ports: Vec<u16>,
    state_dir: Option<PathBuf>,
    /// The baseline's database, stopped after its servers.
    postgres: Option<Postgres>,
}

/// A token for `user` in `workspace`, signed with [`SECRET`] (the same claims for all).
pub fn token(user: &str, role: Role, workspace: &str) -> String {
    hero_testkit::tokens::token(
        SECRET.as_bytes(),
        user,
        role,
        workspace,
        chrono::Duration::hours(2),
    )
}

/// Room settings for the benchmark: enough connections for the largest room, and warnings
/// only in the logs (a log line per event costs the dev server more than the event).
const HERO_VARS: &[(&str, &str)] = &[
    ("JWT_SECRET", SECRET),
    // The bench signs development tokens; they are accepted on a loopback host with this.
    ("DEV_LOGIN", "true"),
    ("ROOM_MAX_CONNECTIONS", "5000"),
    ("LOG_LEVEL", "warn"),
];

fn wait_ready(
    group: &mut ProcessGroup,
    what: &str,
    port: u16,
    health: Option<&str>,
    log_line: Option<&str>,
) {
    group.wait_until(what, Duration::from_secs(180), || {
        health.is_none_or(|path| http_ok(port, path))
            && log_line.is_none_or(|needle| {
                std::fs::read_to_string(log_path(port)).is_ok_and(|l| l.contains(needle))
            })
    });
}

impl System {
    /// This worker under `wrangler dev`: the dev proxy and the worker, as developers run it.
    pub fn hero_wrangler_dev() -> System {
        Self::wrangler_dev("hero (wrangler dev)", Kind::Hero, None, HERO_VARS, true)
    }

    /// The bare JS relay under `wrangler dev`.
    pub fn relay_wrangler_dev() -> System {
        let config = project_root().join("bench/relay/wrangler.toml");
        Self::wrangler_dev(
            "JS DO relay (wrangler dev)",
            Kind::JsRelay,
            Some(&config),
            &[],
            false,
        )
    }

    fn wrangler_dev(
        name: &'static str,
        kind: Kind,
        config: Option<&Path>,
        vars: &[(&str, &str)],
        migrate: bool,
    ) -> System {
        let state_dir = scratch_dir("hero-bench-state");
        if migrate {
            apply_migrations(&state_dir);
        }
        let port = free_port();
        let command = dev_command(config, port, free_port(), &state_dir, vars, "warn");
        Self::one_process(name, kind, command, port, None, state_dir)
    }

    /// Spawns a server that answers `/healthz` on `port` (and, if given, prints
    /// `ready_line`), and times its start.
    fn one_process(
        name: &'static str,
        kind: Kind,
        command: Command,
        port: u16,
        ready_line: Option<&str>,
        state_dir: PathBuf,
    ) -> System {
        let started = Instant::now();
        let mut group = spawn(command, port);
        wait_ready(&mut group, name, port, Some("/healthz"), ready_line);
        System {
            name,
            kind,
            http: format!("http://127.0.0.1:{port}"),
            ws: vec![format!("ws://127.0.0.1:{port}")],
            startup_ms: started.elapsed().as_secs_f64() * 1e3,
            groups: vec![group],
            ports: vec![port],
            state_dir: Some(state_dir),
            postgres: None,
        }
    }

    /// This worker in workerd through Miniflare: one process, no dev proxy.
    pub fn hero_workerd() -> System {
        let migrations = project_root().join("migrations");
        Self::miniflare(
            "hero (workerd)",
            Kind::Hero,
            &project_root().join("wrangler.toml"),
            Some(&migrations),
            HERO_VARS,
        )
    }

    /// This worker in workerd with info-level logs, for the cost table only: the board
    /// reports what a change cost it in a log line (a change reaches it after the response).
    pub fn hero_workerd_counting() -> System {
        Self::hero_workerd_with("hero (workerd, counting)", &[("LOG_LEVEL", "info")])
    }

    /// This worker in workerd for the shared description's counted scenarios: info logs
    /// (the room logs each D1 write of the description and each compaction), and a
    /// document socket may send as many frames a second as the bench types.
    pub fn hero_workerd_documents() -> System {
        Self::hero_workerd_with(
            "hero (workerd, documents)",
            &[
                ("LOG_LEVEL", "info"),
                ("ROOM_DOC_MESSAGES_PER_SEC", "1000000"),
            ],
        )
    }

    /// This worker in workerd with [`HERO_VARS`], some of them replaced.
    fn hero_workerd_with(name: &'static str, replaced: &[(&str, &'static str)]) -> System {
        let migrations = project_root().join("migrations");
        let mut vars: Vec<(&str, &str)> = HERO_VARS
            .iter()
            .filter(|(name, _)| replaced.iter().all(|(r, _)| r != name))
            .copied()
            .collect();
        vars.extend_from_slice(replaced);
        Self::miniflare(
            name,
            Kind::Hero,
            &project_root().join("wrangler.toml"),
            Some(&migrations),
            &vars,
        )
    }

    /// The Yjs reference server, `y-websocket-server` from `@y/websocket-server` (installed
    /// in bench/yjs-reference by setup.sh), on 127.0.0.1, with its LevelDB persistence
    /// (`YPERSISTENCE`, a fresh directory) when `persist`. Garbage collection is on, its
    /// default.
    pub fn yjs_reference(persist: bool) -> System {
        let dir = project_root().join("bench/yjs-reference");
        let state_dir = scratch_dir("hero-bench-yjs");
        let port = free_port();
        let mut command = Command::new("node");
        command
            .current_dir(&dir)
            .arg(dir.join("node_modules/@y/websocket-server/src/server.js"))
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string());
        let name = if persist {
            command.env("YPERSISTENCE", state_dir.join("leveldb"));
            YJS_PERSISTENT
        } else {
            YJS_IN_MEMORY
        };
        Self::one_process(
            name,
            Kind::YjsReference,
            command,
            port,
            Some("running at"),
            state_dir,
        )
    }

    /// Everything the system's processes printed so far.
    pub fn log(&self) -> String {
        self.groups.iter().map(ProcessGroup::log).collect()
    }

    /// The bare JS relay in workerd through Miniflare.
    pub fn relay_workerd() -> System {
        Self::miniflare(
            "JS DO relay (workerd)",
            Kind::JsRelay,
            &project_root().join("bench/relay/wrangler.toml"),
            None,
            &[],
        )
    }

    /// The worker as built in another checkout of this repository (`root`: its
    /// wrangler.toml, build/ and migrations), on workerd with [`HERO_VARS`]: how a scenario
    /// measures the code of an older commit with this bench.
    pub fn hero_workerd_at(root: &Path) -> System {
        Self::miniflare(
            "hero (workerd, another checkout)",
            Kind::Hero,
            &root.join("wrangler.toml"),
            Some(&root.join("migrations")),
            HERO_VARS,
        )
    }

    /// This worker in workerd over a local D1 that was seeded beforehand: `state_dir` as
    /// `wrangler d1 execute --persist-to` left it (removed when the system stops).
    pub fn hero_workerd_seeded(state_dir: PathBuf) -> System {
        // wrangler keeps its local state under `<dir>/v3` (D1 in `v3/d1/…`), where Miniflare's
        // persist root holds `d1/…` itself: the same database file, found from `v3`.
        let persist_root = state_dir.join("v3");
        // wrangler recorded the migrations it applied in `d1_migrations` under the same
        // names, so miniflare.mjs skips them all (a second run of 0001 would fail loudly).
        let migrations = project_root().join("migrations");
        Self::miniflare_persisting(
            "hero (workerd, seeded)",
            Kind::Hero,
            &project_root().join("wrangler.toml"),
            Some(&migrations),
            HERO_VARS,
            state_dir,
            &persist_root,
        )
    }

    fn miniflare(
        name: &'static str,
        kind: Kind,
        config: &Path,
        migrations: Option<&Path>,
        vars: &[(&str, &str)],
    ) -> System {
        let state_dir = scratch_dir("hero-bench-state");
        let persist_root = state_dir.clone();
        Self::miniflare_persisting(
            name,
            kind,
            config,
            migrations,
            vars,
            state_dir,
            &persist_root,
        )
    }

    /// Miniflare with its state under `persist_root`, inside `state_dir` (which the system
    /// owns and removes when it stops).
    fn miniflare_persisting(
        name: &'static str,
        kind: Kind,
        config: &Path,
        migrations: Option<&Path>,
        vars: &[(&str, &str)],
        state_dir: PathBuf,
        persist_root: &Path,
    ) -> System {
        let port = free_port();
        let mut command = Command::new("node");
        command
            .current_dir(project_root())
            .arg(project_root().join("bench/miniflare.mjs"))
            .arg("--config")
            .arg(config)
            .args(["--port", &port.to_string()])
            .arg("--persist")
            .arg(persist_root)
            // only the values given here, never a developer's .dev.vars
            .arg("--no-dev-vars");
        if let Some(migrations) = migrations {
            command.arg("--migrations").arg(migrations);
        }
        for (name, value) in vars {
            command.args(["--var", &format!("{name}={value}")]);
        }
        Self::one_process(name, kind, command, port, Some("ready http"), state_dir)
    }

    /// The old design: `processes` Node servers sharing one `redis-server` and, with
    /// [`Store::Postgres`], one PostgreSQL. REST goes to the first; subscribers are spread
    /// over all of them.
    pub fn baseline(processes: usize, store: Store) -> System {
        let name = match (store, processes) {
            (Store::Postgres, 1) => OLD_DESIGN,
            (Store::Postgres, 2) => OLD_DESIGN_2,
            (Store::Memory, 1) => IN_MEMORY,
            _ => unreachable!("no such baseline: {processes} processes, {store:?}"),
        };
        // The database is there before the clock starts, as D1's migrations are for Hero
        // (a deployment's database is already running).
        let postgres = (store == Store::Postgres)
            .then(|| Postgres::start(&project_root().join("bench/baseline/schema.sql")));
        let redis_port = free_port();
        let mut redis = Command::new("redis-server");
        redis.args([
            "--port",
            &redis_port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]);
        let started = Instant::now();
        let mut redis_group = spawn(redis, redis_port);
        redis_group.wait_until("redis-server", Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", redis_port)).is_ok()
        });
        let mut groups = vec![redis_group];
        let mut ports = vec![redis_port];
        let mut ws = Vec::new();
        let mut http = String::new();
        for index in 0..processes {
            let port = free_port();
            let mut node = Command::new("node");
            node.current_dir(project_root().join("bench/baseline"))
                .arg("server.mjs")
                .env("PORT", port.to_string())
                .env("REDIS_URL", format!("redis://127.0.0.1:{redis_port}"))
                .env("JWT_SECRET", SECRET);
            match &postgres {
                // Every process reads the shared store, so every one can check a task.
                Some(postgres) => node
                    .env("STORE", "postgres")
                    .env("DATABASE_URL", postgres.url()),
                // Only the first holds tasks; the others relay for ids they do not know.
                None => node
                    .env("STORE", "memory")
                    .env("ACCEPT_REMOTE_TASKS", if index > 0 { "1" } else { "0" }),
            };
            let mut group = spawn(node, port);
            wait_ready(
                &mut group,
                name,
                port,
                Some("/healthz"),
                Some("listening on"),
            );
            if index == 0 {
                http = format!("http://127.0.0.1:{port}");
            }
            ws.push(format!("ws://127.0.0.1:{port}"));
            groups.push(group);
            ports.push(port);
        }
        System {
            name,
            kind: Kind::Baseline,
            http,
            ws,
            startup_ms: started.elapsed().as_secs_f64() * 1e3,
            groups,
            ports,
            state_dir: None,
            postgres,
        }
    }

    /// The bare tokio-tungstenite broadcast server, in this process on its own thread.
    pub fn raw_tokio() -> System {
        let started = Instant::now();
        let address = crate::raw_server::start();
        System {
            name: "bare tokio-tungstenite",
            kind: Kind::RawTokio,
            http: String::new(),
            ws: vec![format!("ws://{address}")],
            startup_ms: started.elapsed().as_secs_f64() * 1e3,
            groups: Vec::new(),
            ports: Vec::new(),
            state_dir: None,
            postgres: None,
        }
    }

    /// Resident memory of every server process this system runs, in KiB: not the
    /// baseline's Postgres, whose backends would each count the shared buffers they touch
    /// (and whose pool opens as the sockets' lookups arrive), which is not socket memory.
    pub fn rss_kib(&self) -> u64 {
        self.groups.iter().map(ProcessGroup::rss_kib).sum()
    }

    /// The subscriber URL for socket `index` of a room, spreading over the processes.
    pub fn room_url(&self, index: usize, room: &str, token: &str) -> String {
        let base = &self.ws[index % self.ws.len()];
        match self.kind {
            Kind::Hero | Kind::Baseline => format!("{base}/ws/tasks/{room}?token={token}"),
            Kind::JsRelay => format!("{base}/ws/{room}"),
            Kind::RawTokio => format!("{base}/room"),
            Kind::YjsReference => format!("{base}/{room}"),
        }
    }

    /// The shared-document URL of a room (a task's `/doc` socket on Hero).
    pub fn doc_url(&self, room: &str, token: &str) -> String {
        let base = &self.ws[0];
        match self.kind {
            Kind::Hero => format!("{base}/ws/tasks/{room}/doc?token={token}"),
            Kind::JsRelay => format!("{base}/doc/{room}"),
            _ => format!("{base}/{room}"),
        }
    }

    /// The bytes in the Yjs reference's LevelDB directory (`None` without persistence).
    pub fn leveldb_bytes(&self) -> Option<u64> {
        fn bytes(path: &Path) -> u64 {
            std::fs::read_dir(path)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| match entry.metadata() {
                    Ok(meta) if meta.is_dir() => bytes(&entry.path()),
                    Ok(meta) => meta.len(),
                    Err(_) => 0,
                })
                .sum()
        }
        let dir = self.state_dir.as_ref()?.join("leveldb");
        dir.exists().then(|| bytes(&dir))
    }

    /// CPU seconds every process of the system used so far, by command name: the old
    /// design's Postgres (postmaster and backends) included, unlike [`System::rss_kib`],
    /// since every query it answers is CPU the design spends.
    pub fn cpu(&self) -> crate::cpu::CpuByCommand {
        let postgres = self.postgres.as_ref().map(|postgres| postgres.port);
        let groups: Vec<u32> = self
            .ports
            .iter()
            .chain(postgres.iter())
            .filter_map(|&port| crate::cpu::group_of_log(&log_path(port)))
            .collect();
        crate::cpu::of_groups(&groups)
    }

    pub fn stop(mut self) {
        // The servers before what they use (Redis, the database).
        for group in self.groups.iter_mut().rev() {
            group.stop();
        }
        if let Some(mut postgres) = self.postgres.take() {
            postgres.stop();
        }
        if let Some(dir) = self.state_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
