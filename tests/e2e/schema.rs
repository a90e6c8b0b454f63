//! Schemathesis (from PyPI, installed by `make test`'s set-up) generates requests from
//! `/api/openapi.json` and checks the live dev server's answers with every check it has
//! (`--checks all`), none left out:
//!
//! - a request the document allows is accepted, and one it does not allow is refused
//!   (`positive_data_acceptance`, `negative_data_rejection`): the document states every
//!   rule the server applies to a request's shape, and `src/http/contract.rs` holds the two
//!   together;
//! - no 5xx; every status code, content type, header and body as documented; 405 with
//!   `Allow` for undocumented methods; a missing required header refused; auth enforced;
//! - stateful runs follow the document's links: create → get → patch → delete, the task id
//!   from the response body and `If-Match` from its `ETag`; a deleted task is gone.
//!
//! What no schema can state (a stale `If-Match`, a status transition, the body size, that
//! the rooms are WebSockets) is listed per operation in `schemathesis.toml`, beside this
//! file. Any failure and any warning fail the test.

use std::process::Command;

use hero_core::auth::Role;

use crate::harness::{token, unique_workspace};
use crate::Ctx;

register! {
    Shared: [the_api_matches_its_openapi_document],
}

pub async fn the_api_matches_its_openapi_document(ctx: &'static Ctx) {
    let bin = std::env::var("SCHEMATHESIS_BIN").expect("SCHEMATHESIS_BIN (run through make test)");
    let bearer = format!(
        "Authorization: Bearer {}",
        token("schemathesis", Role::Admin, &unique_workspace())
    );
    let base = ctx.server.base.clone();
    let root = hero_testkit::wrangler::project_root();
    let config = root.join("tests/e2e/schemathesis.toml");
    let output = tokio::task::spawn_blocking(move || {
        // From the project root, so schemathesis keeps its cache in the ignored .schemathesis/.
        Command::new(bin)
            .current_dir(&root)
            .arg("--config-file")
            .arg(&config)
            .args(["run", &format!("{base}/api/openapi.json"), "--url", &base])
            .args(["--header", &bearer])
            .args(["--checks", "all"])
            // The document has no `example`s, so the examples phase would have nothing to
            // send and would list every operation as skipped.
            .args(["--phases", "coverage,fuzzing,stateful"])
            // One worker: with two, the coverage phase now and then dies of a CPython 3.11.7
            // bug (`SystemError: AST constructor recursion depth mismatch`, gh-106905, fixed
            // in later releases): Hypothesis parses lambda sources with `ast` from both
            // threads at once.
            .args(["--max-examples", "15", "--max-time", "90", "--workers", "1"])
            .args(["--seed", "20261126"])
            .env("SCHEMATHESIS_TELEMETRY", "false")
            // A fresh Idempotency-Key per request, as a client sends (see the file).
            .env(
                "SCHEMATHESIS_HOOKS",
                root.join("tests/e2e/schemathesis_hooks.py"),
            )
            .output()
            .expect("schemathesis runs")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    let summary: Vec<&str> = report
        .lines()
        .filter(|l| {
            ["generated", "Selected:", "Tested:", "API Links:"]
                .iter()
                .any(|k| l.contains(k))
                || (l.starts_with('=') && l.contains(" in "))
        })
        .map(str::trim)
        .collect();
    println!("schemathesis: {}", summary.join(" | "));
    let failed = |why: &str| {
        format!(
            "schemathesis: {why}:\n{report}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    };
    assert!(output.status.success(), "{}", failed("it found problems"));
    assert!(!report.contains("WARNINGS"), "{}", failed("it warned"));
    let count = |label: &str| {
        report
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|rest| rest.trim().to_owned())
            .unwrap_or_else(|| panic!("{}", failed(&format!("no `{label}` in the summary"))))
    };
    let selected = count("Selected:");
    let tested = count("Tested:");
    let (chosen, total) = selected.split_once('/').expect("Selected: n/m");
    assert!(
        chosen == total && tested == total,
        "{}",
        failed("an operation was left out or skipped")
    );
    for phase in ["Coverage", "Fuzzing", "Stateful"] {
        assert!(
            report.contains(&format!("✅ {phase}")),
            "{}",
            failed(&format!("the {phase} phase did not pass"))
        );
    }
}
