//! The web UI as a newcomer meets it (issue 24), in real headless Chromium: a viewer sees
//! values, not inputs; a task deleted by someone else turns read-only at once and the edit
//! queue drops what it held for it; messages have a kind and a lifetime and belong to their
//! view; sign-in is shared by the tabs of one browser; the pages log no console error and
//! fit at 1280 px and on a phone. Plus, over plain HTTP, every static file's type.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::browser::{member_api, Page};
use crate::harness::unique_workspace;
use crate::Ctx;

register! {
    Shared: [static_files_are_served_with_their_types],
    // Chromium is heavy on a 2-core machine.
    Exclusive: [
        a_viewer_sees_values_not_inputs,
        a_task_deleted_by_someone_else_turns_read_only_at_once,
        a_deleted_tasks_queued_changes_are_dropped_and_said_so,
        messages_have_a_kind_and_a_lifetime_and_belong_to_their_view,
        sign_in_is_shared_by_the_tabs_of_one_browser,
        the_pages_log_no_console_error_and_fit,
    ],
}

/// Controls a person could change something with: visible, enabled, not read-only. The
/// dashboard's search and filters (`[role=search]`) only narrow what is shown.
const EDITING_CONTROLS: &str = "[...document.querySelectorAll('main input, main select, main textarea')]\
    .filter(e => e.getClientRects().length && !e.disabled && !e.readOnly && !e.closest('[role=search]'))\
    .map(e => e.id)";

/// The visible buttons' words.
const BUTTONS: &str = "[...document.querySelectorAll('button')].filter(e => e.getClientRects().length).map(e => e.textContent.trim())";

async fn editing_controls(page: &Page) -> Value {
    page.js(&format!("return {EDITING_CONTROLS};"), vec![])
        .await
}

async fn no_save_delete_or_create(page: &Page, where_: &str) {
    let buttons = page.js(&format!("return {BUTTONS};"), vec![]).await;
    for word in ["Save", "Delete", "Create"] {
        assert!(
            !buttons
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b.as_str().unwrap_or_default().contains(word)),
            "{where_}: a {word} button is offered: {buttons}"
        );
    }
}

async fn is_visible(page: &Page, css: &str) -> bool {
    page.js(
        "const e = document.querySelector(arguments[0]); return Boolean(e && e.getClientRects().length);",
        vec![json!(css)],
    )
    .await
        == json!(true)
}

pub async fn a_viewer_sees_values_not_inputs(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = member_api(ctx, "setup", &workspace);
    let task = api
        .create(json!({"title": "Read me", "description": "only to read", "status": "in_progress", "tags": ["docs"], "assignee_id": "ana"}))
        .await;
    let id = task["id"].as_str().unwrap();
    let page = Page::open(&ctx.server.base, 1280, 900).await;
    page.sign_in("Vic", "viewer", &workspace).await;
    page.live().await;
    page.wait_until(
        "document.querySelectorAll('#task-list .task-item').length === 1",
        "the task on the board",
    )
    .await;

    // The board: a "view only" mark, no create form, nothing to change.
    assert!(is_visible(&page, "#view-only").await, "the view-only mark");
    assert_eq!(page.text("#view-only").await, "view only");
    assert!(!is_visible(&page, "#create-form").await, "no create form");
    assert_eq!(editing_controls(&page).await, json!([]), "the board");
    no_save_delete_or_create(&page, "the board").await;
    assert_eq!(
        page.text("#task-list .pill.status-in_progress").await,
        "in progress"
    );

    // The task: its values as text, the shared description read-only, no Delete.
    page.goto(&format!("/#/tasks/{id}")).await;
    page.live().await;
    page.wait_until(
        "document.getElementById('f-description').value === 'only to read' && !document.getElementById('task-values').hidden",
        "the task's values",
    )
    .await;
    let values = page
        .js(
            "return [...document.querySelectorAll('#task-values dd')].map(e => e.textContent);",
            vec![],
        )
        .await;
    assert_eq!(
        values,
        json!(["in progress", "medium", "ana", "(none)", "docs"])
    );
    assert_eq!(editing_controls(&page).await, json!([]), "the task view");
    no_save_delete_or_create(&page, "the task view").await;
    assert_eq!(
        page.js(
            "return document.getElementById('f-description').readOnly;",
            vec![]
        )
        .await,
        json!(true)
    );

    // Still live: someone else's change shows, as a value.
    api.patch(
        &format!("/api/tasks/{id}"),
        &json!({"status": "in_review"}),
        None,
    )
    .await
    .expect(200);
    page.wait_until(
        "document.querySelector('#task-values dd').textContent === 'in review'",
        "the new status as a value",
    )
    .await;
    page.screenshot("task-viewer.png").await;
    page.no_console_errors("in a viewer's board and task").await;
    page.close().await;
}

/// Polls a JS expression until it is truthy, for at most `limit` from `since`.
async fn within(page: &Page, since: Instant, limit: Duration, expression: &str, what: &str) {
    let script = format!("return Boolean({expression});");
    loop {
        if page.js(&script, vec![]).await == json!(true) {
            return;
        }
        assert!(
            since.elapsed() < limit,
            "{what} did not happen within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub async fn a_task_deleted_by_someone_else_turns_read_only_at_once(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let bob_api = member_api(ctx, "bob", &workspace);
    // Bob made it, so Bob (a member) may delete it.
    let task = bob_api
        .create(json!({"title": "Soon gone", "description": "the text"}))
        .await;
    let id = task["id"].as_str().unwrap();
    let ana = Page::on_task(&ctx.server.base, "Ana", "member", &workspace, id).await;
    let bob = Page::on_task(&ctx.server.base, "Bob", "member", &workspace, id).await;
    ana.description_live().await;
    ana.wait_until(
        "document.querySelector('#presence [data-user-id=\"bob\"]')",
        "Bob's avatar in Ana's view",
    )
    .await;
    assert!(
        !is_visible(&ana, "#delete").await,
        "Ana may not delete Bob's task"
    );
    assert!(
        is_visible(&bob, "#delete").await,
        "Bob may delete his own task"
    );

    bob_api
        .delete(&format!("/api/tasks/{id}"), None)
        .await
        .expect(204);
    let deleted = Instant::now();
    within(
        &ana,
        deleted,
        Duration::from_secs(1),
        "!document.getElementById('task-gone').hidden \
         && document.getElementById('task-form').dataset.mode === 'read' \
         && !document.querySelector('#presence [data-user-id=\"bob\"]')",
        "read-only, without Bob's avatar",
    )
    .await;

    // Bob's name as his token gives it (the test tokens' names are upper case).
    let said = ana.text("#task-gone-text").await;
    assert!(said.starts_with("BOB deleted this task at "), "{said}");
    assert_eq!(editing_controls(&ana).await, json!([]), "nothing to change");
    assert_eq!(
        ana.js(
            "return document.getElementById('f-description').value;",
            vec![]
        )
        .await,
        "the text",
        "the text stays to read"
    );
    assert_eq!(
        ana.js(
            "return document.getElementById('connection').dataset.status;",
            vec![]
        )
        .await,
        "left",
        "the room is left, on purpose"
    );
    ana.screenshot("task-deleted.png").await;

    // The way back to the board, where the task is gone too.
    ana.click("#task-gone-back").await;
    ana.wait_until(
        "!document.getElementById('dashboard-view').hidden && document.querySelector('#task-list .empty')",
        "the board without the task",
    )
    .await;
    ana.no_console_errors("while the open task was deleted")
        .await;
    ana.close().await;
    bob.close().await;
}

pub async fn a_deleted_tasks_queued_changes_are_dropped_and_said_so(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let bob_api = member_api(ctx, "bob", &workspace);
    let task = bob_api.create(json!({"title": "Deleted meanwhile"})).await;
    let id = task["id"].as_str().unwrap();
    let ana = Page::on_task(&ctx.server.base, "Ana", "member", &workspace, id).await;
    ana.wait_until(
        "document.getElementById('f-title').value === 'Deleted meanwhile'",
        "the task",
    )
    .await;

    // Ana edits offline; Bob deletes the task meanwhile.
    ana.set_offline(true).await;
    ana.replace_text("#f-title", "Mine, never to be").await;
    ana.commit().await;
    ana.wait_until(
        "document.getElementById('sync-status').textContent === 'offline — 1 change pending'",
        "the edit queued",
    )
    .await;
    bob_api
        .delete(&format!("/api/tasks/{id}"), None)
        .await
        .expect(204);

    // Back online: the room cannot be joined and the queued edit answers 404, whichever comes
    // first; the page turns read-only and the queue drops the edit, and says so.
    ana.set_offline(false).await;
    ana.wait_until(
        "!document.getElementById('task-gone').hidden \
         && document.getElementById('task-gone-dropped').textContent === 'Your change that had not synced was dropped.'",
        "the deleted task and the dropped change",
    )
    .await;
    ana.wait_until(
        "document.getElementById('sync-status').textContent === 'all changes synced' && !document.querySelector('.sync-item')",
        "nothing left in the queue",
    )
    .await;
    assert_eq!(editing_controls(&ana).await, json!([]));
    bob_api.get(&format!("/api/tasks/{id}")).await.expect(404);
    ana.close().await;
}

pub async fn messages_have_a_kind_and_a_lifetime_and_belong_to_their_view(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = member_api(ctx, "setup", &workspace);
    let task = api.create(json!({"title": "Say it once"})).await;
    let id = task["id"].as_str().unwrap();
    let page = Page::open(&ctx.server.base, 1280, 900).await;
    page.sign_in("Ana", "member", &workspace).await;
    page.live().await;

    // An error is red and stays (past a success's lifetime) until acted on or left behind.
    page.type_into("#new-title", "   ").await;
    page.click("#create-form button[type=submit]").await;
    page.wait_until(
        "document.getElementById('board-message').textContent === 'A task needs a title.' \
         && document.getElementById('board-message').dataset.kind === 'error'",
        "the error",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    assert_eq!(
        page.text("#board-message").await,
        "A task needs a title.",
        "an error does not fade"
    );
    // Leaving the view takes it along.
    page.goto(&format!("/#/tasks/{id}")).await;
    page.live().await;
    assert_eq!(
        page.text("#board-message").await,
        "",
        "the board's message left with the board"
    );
    assert_eq!(page.text("#task-notice").await, "", "nothing carried over");

    // A success is green and fades; the sync state is a quiet line in the header.
    page.select("#f-priority", "high").await;
    page.wait_until(
        "document.getElementById('task-notice').textContent === 'Saved.' \
         && document.getElementById('task-notice').dataset.kind === 'success'",
        "Saved.",
    )
    .await;
    assert_eq!(
        page.js(
            "return Boolean(document.querySelector('header #sync-status'));",
            vec![]
        )
        .await,
        json!(true)
    );
    page.wait_until(
        "document.getElementById('task-notice').textContent === ''",
        "Saved. gone after its lifetime",
    )
    .await;

    // A message on the task view goes when the view does, whatever its lifetime.
    page.select("#f-priority", "low").await;
    page.wait_until(
        "document.getElementById('task-notice').textContent === 'Saved.'",
        "Saved. again",
    )
    .await;
    page.goto("/#/").await;
    page.wait_until(
        "!document.getElementById('dashboard-view').hidden",
        "the board",
    )
    .await;
    assert_eq!(
        page.text("#task-notice").await,
        "",
        "it left with the task view"
    );

    // Create starts the next task afresh: the priority is back to medium.
    page.select("#new-priority", "critical").await;
    page.type_into("#new-title", "Made with care").await;
    page.click("#create-form button[type=submit]").await;
    page.wait_until(
        "[...document.querySelectorAll('#task-list .task-title')].some(e => e.textContent === 'Made with care')",
        "the new task",
    )
    .await;
    assert_eq!(
        page.js(
            "return [document.getElementById('new-title').value, document.getElementById('new-priority').value];",
            vec![]
        )
        .await,
        json!(["", "medium"])
    );
    page.no_console_errors("while messages came and went").await;
    page.close().await;
}

pub async fn sign_in_is_shared_by_the_tabs_of_one_browser(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let page = Page::open(&ctx.server.base, 1280, 900).await;
    page.sign_in("Ana", "member", &workspace).await;
    let first = page.client.window().await.expect("this tab");

    // A second tab of the same browser is signed in already.
    let second = page
        .client
        .new_window(true)
        .await
        .expect("a new tab")
        .handle;
    page.client
        .switch_to_window(second)
        .await
        .expect("to the new tab");
    page.goto("/").await;
    page.wait_until(
        "!document.getElementById('dashboard-view').hidden",
        "the board, signed in",
    )
    .await;
    assert!(page.text("#whoami").await.starts_with("Ana"));
    // The token is this origin's alone: no cookie carries it anywhere.
    assert_eq!(page.js("return document.cookie;", vec![]).await, "");

    // Signing out in one tab signs out the other.
    page.click("#signout").await;
    page.client
        .switch_to_window(first)
        .await
        .expect("back to the first tab");
    page.wait_until(
        "!document.getElementById('signin-view').hidden",
        "the first tab signed out too",
    )
    .await;
    page.close().await;
}

/// The eight analytics cards' rows: how many cards sit at each height.
async fn card_rows(page: &Page) -> Vec<u64> {
    let tops = page
        .js(
            "const rows = new Map(); for (const card of document.querySelectorAll('#analytics .stat')) { \
               const top = Math.round(card.getBoundingClientRect().top); rows.set(top, (rows.get(top) ?? 0) + 1); } \
             return [...rows.values()];",
            vec![],
        )
        .await;
    tops.as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect()
}

async fn no_sideways_scroll(page: &Page, what: &str) {
    let overflow = page
        .js(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await;
    assert!(overflow.as_i64().unwrap() <= 0, "{what} scrolls sideways");
}

pub async fn the_pages_log_no_console_error_and_fit(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = member_api(ctx, "setup", &workspace);
    let task = api
        .create(json!({"title": "Look around", "status": "in_progress"}))
        .await;
    let id = task["id"].as_str().unwrap();
    api.patch(
        &format!("/api/tasks/{id}"),
        &json!({"status": "done"}),
        None,
    )
    .await
    .expect(200);

    let page = Page::open(&ctx.server.base, 1280, 900).await;
    page.goto("/").await;
    page.wait_until(
        "!document.getElementById('signin-view').hidden",
        "the sign-in page",
    )
    .await;
    page.no_console_errors("on the sign-in page").await;
    // The console is really read: an error logged on purpose is seen, and then gone.
    page.js("console.error('hero-e2e: the console is read');", vec![])
        .await;
    let seen = page.console_errors().await;
    assert!(
        seen.iter().any(|e| e.contains("the console is read")),
        "{seen:?}"
    );
    page.sign_in("Ana", "member", &workspace).await;
    page.live().await;
    page.wait_until(
        "document.querySelectorAll('#analytics .stat').length === 8",
        "the analytics",
    )
    .await;
    assert_eq!(card_rows(&page).await, [8], "one row of eight at 1280 px");
    no_sideways_scroll(&page, "the board at 1280 px").await;
    page.no_console_errors("on the board").await;

    page.goto(&format!("/#/tasks/{id}")).await;
    page.live().await;
    page.description_live().await;
    // The activity in the form's words.
    page.wait_until(
        "[...document.querySelectorAll('#activity li')].some(e => e.textContent.includes('(in progress → done)'))",
        "the status move in words",
    )
    .await;
    assert!(!page.text("#activity").await.contains('_'), "no enum names");
    page.no_console_errors("on a task").await;

    page.goto("/examples/react/").await;
    page.wait_until(
        "document.querySelector('#root *')",
        "the React example rendered",
    )
    .await;
    page.no_console_errors("on the React example").await;

    // A phone: two rows of four, nothing sideways.
    page.client
        .set_window_size(390, 844)
        .await
        .expect("phone size");
    page.goto("/#/").await;
    page.wait_until(
        "!document.getElementById('dashboard-view').hidden && document.querySelectorAll('#analytics .stat').length === 8",
        "the board on a phone",
    )
    .await;
    assert_eq!(
        card_rows(&page).await,
        [4, 4],
        "two rows of four on a phone"
    );
    no_sideways_scroll(&page, "the board on a phone").await;
    page.no_console_errors("on a phone").await;
    page.close().await;
}

/// What each kind of file in public/ must be served as (`_headers` sets what the asset
/// handler would get wrong: `.ts` is an MPEG transport stream by default).
fn expected_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html",
        "js" | "mjs" => "javascript",
        "css" => "text/css",
        "ts" => "application/typescript",
        "svg" => "image/svg+xml",
        "ico" => "image/",
        "json" => "application/json",
        "map" => "application/json",
        _ => panic!("public/{path}: which type should it have? add it here"),
    }
}

fn files_under(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("public/ is readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files_under(&path, root, out);
        } else {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push(relative);
        }
    }
}

pub async fn static_files_are_served_with_their_types(ctx: &'static Ctx) {
    let root = hero_testkit::wrangler::project_root().join("public");
    let mut files = Vec::new();
    files_under(&root, &root, &mut files);
    files.sort();
    // `_headers` configures the asset handler and is not served.
    files.retain(|path| path != "_headers");
    for required in [
        "favicon.ico",
        "favicon.svg",
        "hero-client.d.ts",
        "index.html",
    ] {
        assert!(files.iter().any(|f| f == required), "public/{required}");
    }
    let client = reqwest::Client::new();
    for path in &files {
        let response = client
            .get(format!("{}/{path}", ctx.server.base))
            .send()
            .await
            .expect("the dev server answers");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        // index.html is served at / (its own path redirects there).
        if path.ends_with("index.html") {
            assert!(
                status.is_success() || status.is_redirection(),
                "/{path}: {status}"
            );
            continue;
        }
        assert!(status.is_success(), "/{path}: {status}");
        assert!(
            content_type.contains(expected_type(path)),
            "/{path} is served as {content_type:?}"
        );
    }
    let page = client
        .get(format!("{}/", ctx.server.base))
        .send()
        .await
        .expect("the page");
    let policy = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        policy.contains("script-src 'self'"),
        "the CSP is kept: {policy}"
    );
}
