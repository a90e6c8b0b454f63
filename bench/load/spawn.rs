//! Starting a server the bench measures: its own process group, and a log file named after
//! its port, so readiness can look for a line in it.

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
