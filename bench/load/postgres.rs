//! A throwaway PostgreSQL server for the old design's store: `initdb` into a fresh temp
//! directory, then `postgres` on a free loopback port, in its own process group, with
//! Postgres's defaults (fsync and synchronous_commit on, shared_buffers as initdb sets
//! them). Stopped with a fast shutdown and its directory removed when dropped, and on
//! Ctrl-C ([`interrupt_all`], [`remove_all`]).
//!
//! `initdb` and `postgres` refuse to run as root: as root they run as the `postgres` system
//! user that Debian's package creates (the directory is chowned to it); otherwise as the
//! current user.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hero_testkit::process::{free_port, ProcessGroup};
use hero_testkit::wrangler::scratch_dir;

use crate::spawn::{log_path, spawn};

/// The superuser `initdb` creates, and the database the servers use (initdb's own).
const USER: &str = "hero";
const DATABASE: &str = "postgres";
const READY_LINE: &str = "database system is ready to accept connections";

/// The directories of servers started and not yet stopped, for an interrupted run.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

pub struct Postgres {
    pub port: u16,
    /// The scratch directory: `data/` and the server's Unix socket.
    dir: PathBuf,
    group: Option<ProcessGroup>,
}

/// The newest PostgreSQL server binaries: Debian's /usr/lib/postgresql/<version>/bin, else
/// the directory of a `postgres` on PATH.
pub fn bin_dir() -> Option<PathBuf> {
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin);
    debian.or_else(|| {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .find(|dir| dir.join("postgres").is_file() && dir.join("initdb").is_file())
        })
    })
}

fn output_of(command: &mut Command) -> Option<String> {
    command
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

/// As root: the uid and gid of the `postgres` user to run the server as.
fn server_owner() -> Option<(u32, u32)> {
    let euid = output_of(Command::new("id").arg("-u")).expect("id -u");
    if euid != "0" {
        return None;
    }
    let id = |flag: &str| {
        output_of(Command::new("id").args([flag, "postgres"]))
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or_else(|| {
                panic!(
                    "running as root, and initdb/postgres refuse root: they run as the \
                     `postgres` user, which does not exist (install Debian's postgresql: \
                     scripts/setup.sh bench)"
                )
            })
    };
    Some((id("-u"), id("-g")))
}

fn as_owner(command: &mut Command, owner: Option<(u32, u32)>, dir: &Path) {
    command.current_dir(dir);
    if let Some((uid, gid)) = owner {
        command.uid(uid).gid(gid);
    }
}

/// The postmaster's pid, from the lock file it writes into its data directory.
fn postmaster_pid(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(dir.join("data/postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
        .filter(|&pid| pid > 1)
}

/// Asks for a fast shutdown (SIGINT: sessions end, a checkpoint, exit).
fn fast_shutdown(dir: &Path) {
    if let Some(pid) = postmaster_pid(dir) {
        let _ = Command::new("kill")
            .args(["-s", "INT", "--", &pid.to_string()])
            .status();
    }
}

impl Postgres {
    /// Initializes a cluster in a fresh directory, starts it on a free port, waits until it
    /// accepts connections and applies `schema` to its database. Panics (with the server's
    /// log) when any step fails, as the other systems' starts do.
    pub fn start(schema: &Path) -> Postgres {
        let bin = bin_dir().expect(
            "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin or postgres on PATH); \
             install Debian's postgresql: scripts/setup.sh bench",
        );
        let owner = server_owner();
        let dir = scratch_dir("hero-bench-pg");
        LIVE.lock().unwrap().push(dir.clone());
        // Dropped on any panic below: stops what started, removes the directory.
        let mut postgres = Postgres {
            port: 0,
            dir,
            group: None,
        };
        let dir = postgres.dir.clone();
        if let Some((uid, gid)) = owner {
            let status = Command::new("chown")
                .arg(format!("{uid}:{gid}"))
                .arg(&dir)
                .status()
                .expect("run chown");
            assert!(
                status.success(),
                "chown {} to postgres failed",
                dir.display()
            );
        }

        // --no-sync only skips initdb's final flush of the fresh files; the server itself
        // runs with fsync and synchronous_commit on (the defaults).
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(dir.join("data"))
            .args([
                &format!("--username={USER}"),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .env("LC_ALL", "C");
        as_owner(&mut initdb, owner, &dir);
        let out = initdb.output().expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );

        let port = free_port();
        postgres.port = port;
        let mut server = Command::new(bin.join("postgres"));
        server
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-k")
            .arg(&dir)
            .env("LC_ALL", "C");
        as_owner(&mut server, owner, &dir);
        let group = postgres.group.insert(spawn(server, port));
        group.wait_until("postgres", Duration::from_secs(60), || {
            std::fs::read_to_string(log_path(port)).is_ok_and(|log| log.contains(READY_LINE))
        });

        let out = Command::new(bin.join("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
            .args(["-p", &port.to_string(), "-U", USER, "-d", DATABASE, "-f"])
            .arg(schema)
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "applying {} failed ({}):\n{}",
            schema.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        postgres
    }

    pub fn url(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// Fast shutdown, then whatever is left of the group, then the directory.
    pub fn stop(&mut self) {
        if let Some(mut group) = self.group.take() {
            fast_shutdown(&self.dir);
            let deadline = Instant::now() + Duration::from_secs(15);
            while group.exited().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            group.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        LIVE.lock().unwrap().retain(|d| d != &self.dir);
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// On Ctrl-C, before the process groups are killed: a fast shutdown of every server still
/// running, waiting up to five seconds for them to exit.
pub fn interrupt_all() {
    let dirs = LIVE.lock().unwrap().clone();
    for dir in &dirs {
        fast_shutdown(dir);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && dirs.iter().any(|d| postmaster_pid(d).is_some()) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// On Ctrl-C, after the process groups are killed: removes every server's directory.
pub fn remove_all() {
    for dir in std::mem::take(&mut *LIVE.lock().unwrap()) {
        let _ = std::fs::remove_dir_all(dir);
    }
}
