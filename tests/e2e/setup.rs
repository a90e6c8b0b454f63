//! Set-up is idempotent and leaves the build alone: a second `scripts/setup.sh` changes
//! nothing the Makefile's build rules depend on, so `make dev` after it rebuilds neither the
//! wasm nor the client bundle (the README: "every step checks first and is skipped when
//! done"; the Makefile: "rebuilds only when a source changed"). `make e2e` built both just
//! before this runs.

use std::process::Command;

use crate::Ctx;

register! {
    Shared: [a_second_setup_leaves_the_build_alone],
}

pub async fn a_second_setup_leaves_the_build_alone(_: &'static Ctx) {
    let root = hero_testkit::wrangler::project_root();
    let env_file = root.join("target/setup.env");
    let before = std::fs::metadata(&env_file)
        .and_then(|m| m.modified())
        .expect("target/setup.env (written by set-up)");
    let setup = Command::new("scripts/setup.sh")
        .arg("build")
        .current_dir(&root)
        .output()
        .expect("scripts/setup.sh runs");
    let said = String::from_utf8_lossy(&setup.stdout);
    assert!(
        setup.status.success(),
        "set-up failed: {said}\n{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    assert!(
        said.contains("setup:   ok, unchanged"),
        "set-up rewrote target/setup.env:\n{said}"
    );
    let after = std::fs::metadata(&env_file)
        .and_then(|m| m.modified())
        .unwrap();
    assert_eq!(before, after, "target/setup.env was touched");
    // `make -q`: exit 0 when the targets are up to date, 1 when a recipe would run.
    let stale = Command::new("make")
        .args([
            "-q",
            "--no-print-directory",
            "build/worker/shim.mjs",
            "public/hero-client.js",
        ])
        .current_dir(&root)
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("make runs");
    assert!(
        stale.success(),
        "after set-up, make would rebuild the wasm or the client ({stale})"
    );
}
