//! The project's paths and its pinned `wrangler` (from `node_modules`, installed by
//! `scripts/setup.sh`): local D1 migrations and the `wrangler dev` command line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The repository root.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit sits in the repository root")
        .to_owned()
}

/// A binary installed by `npm ci` (wrangler, esbuild).
pub fn node_bin(name: &str) -> PathBuf {
    project_root().join("node_modules/.bin").join(name)
}

/// A fresh directory under the system temp dir, for a server's state.
pub fn scratch_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `wrangler`, run from the project root, with metrics and interactive prompts off.
pub fn wrangler() -> Command {
    let mut command = Command::new(node_bin("wrangler"));
    command
        .current_dir(project_root())
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CI", "true")
        .stdin(Stdio::null());
    command
}

/// Applies the D1 migrations to a local state directory (panics if wrangler fails).
pub fn apply_migrations(state_dir: &Path) {
    let status = wrangler()
        .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
        .arg(state_dir)
        .stdout(Stdio::null())
        .status()
        .expect("run wrangler d1 migrations apply");
    assert!(status.success(), "applying migrations failed");
}

/// Runs a file of SQL statements against the local D1 in `state_dir` (`wrangler d1 execute
/// --file`), for seeding and for reading what a test cannot reach through the API. Returns
/// each statement's rows; panics with wrangler's message if any statement fails.
pub fn d1_execute(state_dir: &Path, sql_file: &Path) -> Vec<Vec<serde_json::Value>> {
    let output = wrangler()
        .args(["d1", "execute", "DB", "--local", "--json", "--persist-to"])
        .arg(state_dir)
        .arg("--file")
        .arg(sql_file)
        .stderr(Stdio::inherit())
        .output()
        .expect("run wrangler d1 execute");
    let text = String::from_utf8_lossy(&output.stdout);
    let parsed: serde_json::Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("wrangler d1 execute printed no JSON ({e}): {text}"));
    assert!(
        output.status.success(),
        "wrangler d1 execute failed: {parsed}"
    );
    let statements = parsed
        .as_array()
        .unwrap_or_else(|| panic!("wrangler d1 execute failed: {parsed}"));
    statements
        .iter()
        .map(|statement| {
            assert_eq!(statement["success"], true, "{statement}");
            statement["results"].as_array().cloned().unwrap_or_default()
        })
        .collect()
}

/// `wrangler dev` on 127.0.0.1:`port` with its state in `state_dir`, the worker's console at
/// `log_level`, and `vars` passed as `--var`. `config` picks another wrangler.toml.
pub fn dev_command(
    config: Option<&Path>,
    port: u16,
    inspector_port: u16,
    state_dir: &Path,
    vars: &[(&str, &str)],
    log_level: &str,
) -> Command {
    let mut command = wrangler();
    command.arg("dev");
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    command
        .args(["--ip", "127.0.0.1", "--port", &port.to_string()])
        .args(["--inspector-port", &inspector_port.to_string()])
        .arg("--persist-to")
        .arg(state_dir)
        .args([
            "--show-interactive-dev-session=false",
            "--log-level",
            log_level,
        ]);
    for (name, value) in vars {
        command.args(["--var", &format!("{name}:{value}")]);
    }
    command
}
