//! Starting a server the bench measures: its own process group, and a log file named after
//! its port, so readiness can look for a line in it; and blocking work (starting or
//! stopping one) run off the async runtime.

use std::path::PathBuf;
use std::process::Command;

use hero_testkit::process::ProcessGroup;

/// Each server logs to a file named after its port, so readiness can look for a line.
pub fn log_path(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("hero-bench-{port}.log"))
}

pub fn spawn(command: Command, port: u16) -> ProcessGroup {
    let _ = std::fs::remove_file(log_path(port));
    ProcessGroup::spawn(command, &log_path(port))
}

/// Runs blocking work (wrangler, starting a server) off the runtime; a panic in it (the
/// testkit's way of failing) becomes an error.
pub async fn blocking<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work).await.map_err(|error| {
        let why = if error.is_panic() {
            let panic = error.into_panic();
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "panicked".into())
        } else {
            error.to_string()
        };
        format!("{what}: {why:.2000}")
    })
}
