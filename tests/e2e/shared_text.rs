//! The shared description in real headless Chromium against the real server's document
//! endpoint (`/ws/tasks/{id}/doc`): two people typing at once at different places end with
//! the same text holding every keystroke, and REST serves it after the room's flush; typing
//! offline survives a reload and merges with what someone else typed meanwhile, with no
//! prompt; a stock `y-websocket` provider from npm (Node, tests/e2e/node/) edits the same
//! text as a browser. The React example's description is in react_example.rs.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hero_core::auth::Role;
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use crate::browser::{description_becomes, member_api, Page};
use crate::harness::{token, unique_workspace};
use crate::Ctx;

register! {
    // Chromium is heavy on a 2-core machine.
    Exclusive: [
        two_people_type_in_the_description_at_once,
        typing_offline_survives_a_reload_and_merges,
        a_stock_y_websocket_provider_edits_with_a_browser,
    ],
}

async fn open_task(page: &Page, name: &str, workspace: &str, id: &str) {
    page.sign_in(name, "member", workspace).await;
    page.goto(&format!("/#/tasks/{id}")).await;
    page.live().await;
    page.description_live().await;
}

async fn no_conflict_prompt(page: &Page) {
    assert_eq!(
        page.js("return document.getElementById('conflict').hidden;", vec![])
            .await,
        json!(true),
        "no conflict prompt"
    );
}

pub async fn two_people_type_in_the_description_at_once(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = member_api(ctx, "setup", &workspace);
    let task = api
        .create(json!({"title": "Write the launch post", "description": "The middle stays."}))
        .await;
    let id = task["id"].as_str().unwrap();
    let ana = Page::open(&ctx.server.base, 1200, 900).await;
    let bob = Page::open(&ctx.server.base, 1200, 900).await;
    open_task(&ana, "Ana", &workspace, id).await;
    open_task(&bob, "Bob", &workspace, id).await;
    assert_eq!(ana.description().await, "The middle stays.");

    // Ana types at the start, Bob at the end, at the same time, in small bursts.
    ana.caret_at(0).await;
    bob.caret_at(-1).await;
    let theirs = ["Ana ", "was ", "here, ", "first. "];
    let his = [" Bob", " adds", " this", " last."];
    for (a, b) in theirs.iter().zip(his) {
        tokio::join!(ana.type_here(a), bob.type_here(b));
    }
    bob.wait_until(
        "document.getElementById('typing').textContent.includes('Ana is typing in description')",
        "Ana is typing in description (Bob's view)",
    )
    .await;

    // Every keystroke of both, each in one piece where its author typed it: a caret that
    // jumped under the other's edits would have scattered them.
    let expected = "Ana was here, first. The middle stays. Bob adds this last.";
    let same = format!(
        "document.getElementById('f-description').value === {}",
        json!(expected)
    );
    ana.wait_until(&same, "Ana's text to hold both").await;
    bob.wait_until(&same, "Bob's text to hold both").await;
    ana.screenshot("shared-description.png").await;

    let now = description_becomes(&api, id, expected).await;
    assert!(now["version"].as_i64().unwrap() >= 2, "the flush wrote it");
    // Nobody was asked to pick a version, and the other fields still save as they change.
    no_conflict_prompt(&ana).await;
    no_conflict_prompt(&bob).await;
    bob.select("#f-priority", "high").await;
    ana.wait_until(
        "document.getElementById('f-priority').value === 'high'",
        "Bob's priority in Ana's form",
    )
    .await;
    let now = api.get(&format!("/api/tasks/{id}")).await.expect(200).body;
    assert_eq!(now["priority"], "high");
    assert_eq!(now["description"], expected, "the priority kept the text");
    no_conflict_prompt(&bob).await;
    ana.close().await;
    bob.close().await;
}

pub async fn typing_offline_survives_a_reload_and_merges(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = member_api(ctx, "setup", &workspace);
    let task = api
        .create(json!({"title": "Pack for the trip", "description": "tent"}))
        .await;
    let id = task["id"].as_str().unwrap();
    let ana = Page::open(&ctx.server.base, 1200, 900).await;
    let bob = Page::open(&ctx.server.base, 1200, 900).await;
    open_task(&ana, "Ana", &workspace, id).await;
    ana.wait_for_offline_shell().await;
    open_task(&bob, "Bob", &workspace, id).await;

    // Ana goes offline and types at the end.
    ana.set_offline(true).await;
    ana.wait_until(
        "document.getElementById('f-description').dataset.shared === 'offline'",
        "the description to say it is offline",
    )
    .await;
    ana.caret_at(-1).await;
    ana.type_here(", stove").await;
    assert_eq!(ana.description().await, "tent, stove");

    // Reloaded while offline: the service worker serves the app, IndexedDB the text, and
    // she can go on typing.
    ana.js("location.reload();", vec![]).await;
    ana.wait_until(
        "document.getElementById('task-view') && !document.getElementById('task-view').hidden && document.getElementById('f-description').value === 'tent, stove'",
        "the offline text after the reload",
    )
    .await;
    ana.wait_until(
        "!document.getElementById('f-description').readOnly",
        "the description editable offline",
    )
    .await;
    ana.caret_at(-1).await;
    ana.type_here(", map").await;

    // Meanwhile Bob, online, types at the start.
    bob.caret_at(0).await;
    bob.type_here("Bring: ").await;
    bob.wait_until(
        "document.getElementById('f-description').value === 'Bring: tent'",
        "Bob's own edit",
    )
    .await;

    // Back online: one merge, both edits, no prompt.
    ana.set_offline(false).await;
    let expected = "Bring: tent, stove, map";
    let merged = format!(
        "document.getElementById('f-description').value === {}",
        json!(expected)
    );
    ana.wait_until(&merged, "the merge in Ana's view").await;
    bob.wait_until(&merged, "the merge in Bob's view").await;
    no_conflict_prompt(&ana).await;
    assert!(
        !ana.text("#sync-status")
            .await
            .contains("needs your decision"),
        "nothing to decide"
    );
    description_becomes(&api, id, expected).await;
    ana.close().await;
    bob.close().await;
}

/// The stock provider in Node (tests/e2e/node/y-websocket-peer.mjs) with these env vars,
/// and its output lines as they come (read on a thread of their own).
struct NodePeer {
    child: Child,
    lines: UnboundedReceiver<String>,
}

impl NodePeer {
    fn start(ctx: &Ctx, id: &str, token: &str, append: &str, wait_for: &str) -> NodePeer {
        let root = hero_testkit::wrangler::project_root();
        let mut child = Command::new("node")
            .arg(root.join("tests/e2e/node/y-websocket-peer.mjs"))
            .current_dir(&root)
            .env("BASE", &ctx.server.base)
            .env("TASK", id)
            .env("TOKEN", token)
            .env("APPEND", append)
            .env("WAIT_FOR", wait_for)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs (installed by set-up)");
        let stdout = child.stdout.take().expect("its stdout");
        let (send, lines) = unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        NodePeer { child, lines }
    }

    /// The peer's next JSON line.
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(40), self.lines.recv())
            .await
            .expect("the node peer answers")
            .expect("a line before it exits");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("JSON from the node peer: {line}"))
    }

    /// Waits (up to 10 s) for it to exit, and says whether it succeeded.
    async fn succeeded(mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("its status") {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub async fn a_stock_y_websocket_provider_edits_with_a_browser(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = member_api(ctx, "setup", &workspace);
    let task = api
        .create(json!({"title": "Interop", "description": "shared"}))
        .await;
    let id = task["id"].as_str().unwrap();
    let page = Page::open(&ctx.server.base, 1200, 900).await;
    open_task(&page, "Ana", &workspace, id).await;

    // The provider connects with ?token=, syncs the text, appends to it, and waits for the
    // browser's edit.
    let who = token("node", Role::Member, &workspace);
    let mut peer = NodePeer::start(ctx, id, &who, " [node]", "[browser] ");
    let synced = peer.next().await;
    assert_eq!(
        synced,
        json!({"synced": "shared"}),
        "the provider got the text"
    );
    page.wait_until(
        "document.getElementById('f-description').value === 'shared [node]'",
        "the provider's edit in the browser",
    )
    .await;
    page.caret_at(0).await;
    page.type_here("[browser] ").await;
    let last = peer.next().await;
    assert_eq!(
        last,
        json!({"final": "[browser] shared [node]"}),
        "the browser's edit reached the provider"
    );
    assert!(peer.succeeded().await, "the node peer exits 0");
    assert_eq!(page.description().await, "[browser] shared [node]");
    description_becomes(&api, id, "[browser] shared [node]").await;
    page.close().await;
}
