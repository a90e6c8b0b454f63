//! Child servers for the e2e suite and the benchmarks: each runs in its own process group
//! (a launcher such as wrangler or npx starts further processes), on a free loopback port,
//! with its output in a log file.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Every group spawned and not yet stopped, so an interrupted run can stop them all.
static LIVE_GROUPS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Kills every group this process spawned and has not stopped (for a Ctrl-C handler).
pub fn kill_every_group() {
    for pgid in std::mem::take(&mut *LIVE_GROUPS.lock().unwrap()) {
        signal_group(pgid, "KILL");
    }
}

/// A port nobody listens on right now, on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// A spawned command and every process it starts. Killed (the whole group) when dropped.
pub struct ProcessGroup {
    child: Option<Child>,
    log_path: PathBuf,
}

impl ProcessGroup {
    /// Spawns `command` as the leader of a new process group, appending its stdout and
    /// stderr to `log_path`.
    pub fn spawn(mut command: Command, log_path: &Path) -> ProcessGroup {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .expect("log file");
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("spawn {command:?}: {error}"));
        LIVE_GROUPS.lock().unwrap().push(child.id());
        ProcessGroup {
            child: Some(child),
            log_path: log_path.to_owned(),
        }
    }

    /// Everything the group printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// `Some(status)` once the leader has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Polls `ready` every 250 ms until it holds; panics with the log if the leader exits
    /// or `limit` passes first.
    pub fn wait_until(&mut self, what: &str, limit: Duration, ready: impl Fn() -> bool) {
        let deadline = Instant::now() + limit;
        while !ready() {
            if let Some(status) = self.exited() {
                panic!("{what} exited ({status}); log:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not come up within {limit:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Resident memory of every process in the group, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let Some(pgid) = self.child.as_ref().map(Child::id) else {
            return 0;
        };
        let mut total = 0;
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // field 5 (after the parenthesised name) is the process group
            let Some(after_name) = stat.rsplit_once(") ").map(|(_, rest)| rest) else {
                continue;
            };
            if after_name
                .split_whitespace()
                .nth(2)
                .and_then(|g| g.parse::<u32>().ok())
                != Some(pgid)
            {
                continue;
            }
            let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
            total += status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0);
        }
        total
    }

    /// Kills the group hard (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_group(child.id(), "KILL");
            let _ = child.wait();
            LIVE_GROUPS
                .lock()
                .unwrap()
                .retain(|&pgid| pgid != child.id());
        }
    }

    /// Asks the group to stop (SIGTERM), then kills what is left after five seconds.
    pub fn stop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            signal_group(child.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        self.kill();
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Signals a whole process group. `--` matters: without it procps `kill` can read `-PGID`
/// as an option.
fn signal_group(pgid: u32, signal: &str) {
    assert!(pgid > 1, "refusing to signal process group {pgid}");
    let _ = Command::new("kill")
        .args(["-s", signal, "--"])
        .arg(format!("-{pgid}"))
        .stderr(Stdio::null())
        .status();
}

/// One blocking `GET path` over a plain socket: does the server answer 200?
pub fn http_ok(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}
