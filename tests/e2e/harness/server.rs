//! The server under test: one real `wrangler dev` (workerd, local D1) on a free loopback port
//! with a fresh state directory, killed, restarted and stopped by the tests that need it.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use hero_testkit::process::{free_port, http_ok, ProcessGroup};
use hero_testkit::wrangler::{apply_migrations, dev_command, project_root, scratch_dir, wrangler};

use super::jwks::Jwks;

/// The secret the dev server under test verifies tokens with (passed as a `--var`).
pub const TEST_SECRET: &str = "e2e-secret-e2e-secret-e2e-secret-0123";

/// The room cap the server under test runs with: 8 so the tests reach it, or enough for
/// `make soak` (HERO_E2E_MAX_CONNECTIONS).
fn max_connections() -> usize {
    std::env::var("HERO_E2E_MAX_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}

/// A running `wrangler dev`. Stopped (its whole process group) when dropped.
pub struct Server {
    /// The Supabase project the server trusts (`SUPABASE_URL` points at it).
    pub jwks: Jwks,
    group: Mutex<Option<ProcessGroup>>,
    pub port: u16,
    pub base: String,
    state_dir: PathBuf,
    log_path: PathBuf,
}

impl Server {
    /// Applies the migrations to a fresh state directory and starts the dev server.
    pub fn start() -> Server {
        let state_dir = scratch_dir("hero-tasks-e2e");
        apply_migrations(&state_dir);
        let port = free_port();
        let server = Server {
            jwks: Jwks::start(),
            group: Mutex::new(None),
            port,
            base: format!("http://127.0.0.1:{port}"),
            log_path: state_dir.join("wrangler-dev.log"),
            state_dir,
        };
        server.launch();
        server
    }

    fn launch(&self) {
        let max_connections = max_connections().to_string();
        let supabase_url = self.jwks.url();
        let vars = [
            ("JWT_SECRET", TEST_SECRET),
            // A local stand-in for a Supabase project's JWKS; its keys are kept 2 s, so
            // rotation and revocation show quickly.
            ("SUPABASE_URL", supabase_url.as_str()),
            ("JWKS_CACHE_SECS", "2"),
            // Small room limits so the tests can reach them quickly.
            ("ROOM_LOG_SIZE", "10"),
            ("ROOM_REPLAY_MAX_BYTES", "40000"),
            ("ROOM_MAX_CONNECTIONS", max_connections.as_str()),
            ("PRESENCE_GRACE_MS", "1500"),
            ("TYPING_TTL_MS", "1500"),
            ("ROOM_MESSAGES_PER_SEC", "10"),
            ("ROOM_MAX_FRAME_BYTES", "2048"),
            // Presence batching from 5 sockets, in windows wide enough to land several
            // joins and leaves in one on purpose.
            ("ROOM_PRESENCE_BATCH_ABOVE", "4"),
            ("ROOM_PRESENCE_GAP_MS", "2000"),
            // The UI's dev sign-in, for the browser tests (loopback only, as in make dev).
            ("DEV_LOGIN", "true"),
        ];
        // "log" is the level of the worker's console output.
        let command = dev_command(None, self.port, free_port(), &self.state_dir, &vars, "log");
        let mut group = ProcessGroup::spawn(command, &self.log_path);
        let port = self.port;
        group.wait_until("wrangler dev", Duration::from_secs(180), || {
            http_ok(port, "/healthz")
        });
        *self.group.lock().unwrap() = Some(group);
    }

    /// Everything the dev server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Resident memory of the dev server's processes (wrangler and its workerd), in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.group
            .lock()
            .unwrap()
            .as_ref()
            .map_or(0, ProcessGroup::rss_kib)
    }

    /// Kills the dev server hard (SIGKILL to its process group), as a crash would.
    pub fn kill(&self) {
        if let Some(mut group) = self.group.lock().unwrap().take() {
            group.kill();
        }
    }

    /// Starts the dev server again on the same port and persisted state.
    pub fn restart(&self) {
        self.kill();
        self.launch();
    }

    /// Runs SQL against the server's local D1 with `wrangler d1 execute`, bypassing the
    /// Worker (for tests that simulate a write whose follow-up never happened).
    pub fn d1_execute(&self, sql: &str) {
        let output = wrangler()
            .args(["d1", "execute", "DB", "--local", "--persist-to"])
            .arg(&self.state_dir)
            .args(["--command", sql])
            .output()
            .expect("run wrangler d1 execute");
        assert!(
            output.status.success(),
            "d1 execute failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn stop(&self) {
        if let Some(mut group) = self.group.lock().unwrap().take() {
            group.stop();
        }
        // Keep the server's output for whoever looks into a failure.
        let artifacts = project_root().join("test-artifacts");
        if std::fs::create_dir_all(&artifacts).is_ok() {
            let _ = std::fs::copy(&self.log_path, artifacts.join("wrangler-dev.log"));
        }
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
