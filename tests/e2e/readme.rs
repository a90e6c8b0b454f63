//! The README's examples, run as a newcomer runs them, so none can rot: every ```sh block in
//! its "Quick start" and "API" sections is read out of README.md and executed with bash, in
//! order and in one shell (a variable set in one block is there in the next), from the
//! repository's root, against the server under test.
//!
//! What is changed on the way, and why:
//! - `http://127.0.0.1:8787` becomes the test server's address (it runs on a free port);
//! - `JWT_SECRET` is the test server's, so `make token` signs what it accepts (the
//!   command reads it from the environment before `.dev.vars`);
//! - `curl` fails on an HTTP error (`--fail-with-body`), so an example that a change to the
//!   API would break fails here instead of printing a problem nobody reads.
//!
//! A block is left out only when the line before its fence is a
//! `<!-- readme-test: skip (why) -->` comment and it holds nothing but `make dev` and
//! `make test` (the first starts the server these examples talk to; the second runs this).
//! After the blocks ran, what their comments promise is checked: the statuses and headers
//! printed, and over REST that the retried create made one task.

use std::process::Stdio;
use std::time::Duration;

use hero_core::auth::Role;
use serde_json::Value;

use crate::harness::{token, Api, TEST_SECRET};
use crate::Ctx;

register! {
    Shared: [the_readme_extractor_finds_what_it_should, the_readme_examples_run],
}

/// The sections whose shell blocks are run (level-2 headings, subsections included).
const SECTIONS: [&str; 2] = ["Quick start", "API"];
const SKIP_MARK: &str = "<!-- readme-test: skip";
/// The only commands a skipped block may hold.
const UNRUNNABLE: [&str; 2] = ["make dev", "make test"];

/// A shell block of README.md, with the line its fence opens on and whether it is skipped.
struct Block {
    line: usize,
    code: String,
    skipped: bool,
}

/// Every ```sh block under the level-2 headings named in SECTIONS.
fn shell_blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut section_runs = false;
    // Inside a fenced block: the shell block being read, or None for another language's.
    let mut fenced: Option<Option<Block>> = None;
    let mut previous = "";
    for (index, line) in readme.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match fenced.as_mut() {
            Some(inside) if fence => {
                blocks.extend(inside.take());
                fenced = None;
            }
            Some(Some(block)) => {
                block.code.push_str(line);
                block.code.push('\n');
            }
            Some(None) => {}
            None if fence => {
                let info = line.trim_start().trim_start_matches('`').trim();
                let shell = section_runs && matches!(info, "sh" | "bash" | "shell");
                fenced = Some(shell.then(|| Block {
                    line: index + 1,
                    code: String::new(),
                    skipped: previous.trim_start().starts_with(SKIP_MARK),
                }));
            }
            None => {
                if let Some(title) = line.strip_prefix("## ") {
                    section_runs = SECTIONS.iter().any(|name| title.starts_with(name));
                }
            }
        }
        previous = line;
    }
    blocks
}

/// The command lines of a block: no comments, no blanks.
fn commands(code: &str) -> Vec<&str> {
    code.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .collect()
}

/// The blocks' text as one bash script against `base`.
fn script(blocks: &[&Block], base: &str) -> String {
    let mut script = String::from(
        "set -euo pipefail\n\
         curl() { command curl --fail-with-body \"$@\"; }\n",
    );
    for block in blocks {
        script.push_str(&format!("# README.md line {}\n", block.line));
        script.push_str(&block.code.replace("http://127.0.0.1:8787", base));
    }
    script
}

async fn run(script: &str) -> (bool, String) {
    let root = hero_testkit::wrangler::project_root();
    let child = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(&root)
        .env("JWT_SECRET", TEST_SECRET)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("bash runs");
    let output = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
        .await
        .expect("the README's examples finish within 5 minutes")
        .expect("their output");
    let text = format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Asserts the output shows `needle` (headers compared without regard to case).
fn shows(output: &str, needle: &str) {
    assert!(
        output.to_lowercase().contains(&needle.to_lowercase()),
        "the examples promise {needle:?}; they printed:\n{output}"
    );
}

pub async fn the_readme_examples_run(ctx: &'static Ctx) {
    let path = hero_testkit::wrangler::project_root().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let blocks = shell_blocks(&readme);
    for block in blocks.iter().filter(|b| b.skipped) {
        for command in commands(&block.code) {
            assert!(
                UNRUNNABLE.iter().any(|ok| command.starts_with(ok)),
                "README.md line {}: only `make dev` and `make test` may be skipped, not {command:?}",
                block.line
            );
        }
    }
    let runnable: Vec<&Block> = blocks.iter().filter(|b| !b.skipped).collect();
    assert!(
        runnable.iter().any(|b| b.code.contains("Idempotency-Key")),
        "the API examples were found in README.md"
    );

    let (ok, output) = run(&script(&runnable, &ctx.server.base)).await;
    assert!(ok, "the README's examples failed:\n{output}");

    // What the comments promise.
    shows(&output, "HTTP/1.1 201");
    shows(&output, "location: /api/tasks/");
    shows(&output, "etag: \"1\"");
    shows(&output, "the new task: ");
    shows(&output, "etag: \"2\"");
    shows(&output, "idempotent-replayed: true");
    shows(&output, "HTTP/1.1 204");
    shows(&output, "\"done_this_week\"");

    // The retry created nothing more, and the task the examples deleted is gone.
    let ana = Api::new(&ctx.server.base, Some(token("ana", Role::Member, "demo")));
    let listed: Value = ana.get("/api/tasks?limit=200").await.expect(200).body;
    let titles: Vec<&str> = listed["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["title"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        titles.iter().filter(|t| **t == "Book the venue").count(),
        1,
        "the retried create made one task: {titles:?}"
    );
    assert!(
        !titles.contains(&"Write the launch post"),
        "the example deleted its task: {titles:?}"
    );
    let launch = ana.get("/api/tasks?q=launch").await.expect(200).body;
    assert_eq!(launch["tasks"].as_array().map(Vec::len), Some(0));
}

/// The extraction itself: blocks by section, other languages and sections left alone, skips.
pub async fn the_readme_extractor_finds_what_it_should(_: &'static Ctx) {
    let readme = "## Quick start\n<!-- readme-test: skip (why) -->\n```sh\nmake dev\n```\n\
                  ### Sub\n```sh\necho one\n```\n```md\n## API\n```\n## Other\n```sh\necho no\n```\n\
                  ## API\n```sh\necho two\n```\n";
    let blocks = shell_blocks(readme);
    let codes: Vec<(&str, bool)> = blocks
        .iter()
        .map(|b| (b.code.as_str(), b.skipped))
        .collect();
    assert_eq!(
        codes,
        [
            ("make dev\n", true),
            ("echo one\n", false),
            ("echo two\n", false)
        ]
    );
    assert_eq!(commands("a # b\n\n  # c\nd\n"), ["a", "d"]);
}
