//! Working offline in real headless Chromium: the edit queue (IndexedDB, replayed with
//! If-Match and Idempotency-Key, merged on 412), the service worker's app shell, and tabs
//! sharing one queue. The network is switched off with Chromium's own network emulation
//! (`Page::set_offline`), never by stopping the server; what committed is checked over REST.

use serde_json::{json, Value};

use crate::browser::{member_api, Page};
use crate::harness::{unique_workspace, Api};
use crate::Ctx;

register! {
    // Chromium is heavy on a 2-core machine.
    Exclusive: [
        an_edit_made_offline_survives_a_reload_and_commits_once,
        offline_edits_merge_with_another_users_change_to_another_field,
        a_conflict_shows_both_values_and_the_chosen_one_commits,
        a_task_created_offline_survives_closing_the_browser,
        two_tabs_offline_each_edit_commits_once,
    ],
}

const SYNC_STATUS: &str = "document.getElementById('sync-status').textContent";

/// The task over REST.
async fn task_now(api: &Api, id: &str) -> Value {
    api.get(&format!("/api/tasks/{id}")).await.expect(200).body
}

/// How many `updated` entries the task's history holds.
async fn updates_in_history(api: &Api, id: &str) -> usize {
    let history = api
        .get(&format!("/api/tasks/{id}/activity?limit=200"))
        .await
        .expect(200)
        .body;
    history["activity"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"] == "updated")
        .count()
}

/// How many requests with this method and route the server logged since `mark` (a length
/// of its log) for this task id (or any task, with None). The worker logs one line per
/// request (`"msg":"request"`), so this counts what reached the server, replays included.
fn requests_since(ctx: &Ctx, mark: usize, route: &str, task_id: Option<&str>) -> usize {
    let log = ctx.server.log();
    log.get(mark..)
        .unwrap_or_default()
        .lines()
        .filter(|line| {
            line.contains(r#""msg":"request""#) && line.contains(&format!(r#""route":"{route}""#))
        })
        .filter(|line| task_id.is_none_or(|id| line.contains(&format!(r#""task_id":"{id}""#))))
        .count()
}

/// Waits until the server's log shows `expected` such requests (its output reaches the log
/// a moment after the response), then says how many there are.
async fn logged_requests(
    ctx: &Ctx,
    mark: usize,
    route: &str,
    task_id: Option<&str>,
    expected: usize,
) -> usize {
    for _ in 0..50 {
        if requests_since(ctx, mark, route, task_id) >= expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    requests_since(ctx, mark, route, task_id)
}

/// Signs in, opens the task and waits until it is live and can be reloaded offline.
async fn open_task(page: &Page, name: &str, workspace: &str, id: &str) {
    page.sign_in(name, "member", workspace).await;
    show_task(page, id).await;
}

/// Opens the task (signed in already) and waits until it is live and can be reloaded offline.
async fn show_task(page: &Page, id: &str) {
    page.goto(&format!("/#/tasks/{id}")).await;
    page.live().await;
    page.wait_until(
        "document.getElementById('f-title').value.length > 0",
        "the task in the form",
    )
    .await;
    page.wait_for_offline_shell().await;
}

async fn wait_for_status(page: &Page, text: &str) {
    page.wait_until(
        &format!("{SYNC_STATUS} === {}", json!(text)),
        &format!("the status line to say {text:?}"),
    )
    .await;
}

pub async fn an_edit_made_offline_survives_a_reload_and_commits_once(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = member_api(ctx, "setup", &workspace);
    let task = api.create(json!({"title": "Pack the tent"})).await;
    let id = task["id"].as_str().unwrap();
    let page = Page::open(&ctx.server.base, 1200, 900).await;
    open_task(&page, "Ana", &workspace, id).await;
    let mark = ctx.server.log().len();

    page.set_offline(true).await;
    page.replace_text("#f-title", "Pack the tent and the stove")
        .await;
    page.commit().await;
    wait_for_status(&page, "offline — 1 change pending").await;
    assert!(page
        .text(".sync-item[data-state='queued'] .sync-what")
        .await
        .contains("(title)"));
    page.wait_until(
        "document.getElementById('task-heading').textContent === 'Pack the tent and the stove'",
        "the edit shown while offline",
    )
    .await;
    assert_eq!(
        task_now(&api, id).await["version"],
        1,
        "nothing reached the server"
    );

    // Reloaded while offline: the service worker serves the app, IndexedDB the queue.
    page.js("location.reload();", vec![]).await;
    page.wait_until(
        "document.getElementById('task-view') && !document.getElementById('task-view').hidden",
        "the task view after the offline reload",
    )
    .await;
    wait_for_status(&page, "offline — 1 change pending").await;

    page.set_offline(false).await;
    wait_for_status(&page, "all changes synced").await;
    page.wait_until(
        "document.getElementById('f-title').value === 'Pack the tent and the stove'",
        "the committed title in the form",
    )
    .await;
    let now = task_now(&api, id).await;
    assert_eq!(now["title"], "Pack the tent and the stove");
    assert_eq!(now["version"], 2, "committed exactly once");
    assert_eq!(updates_in_history(&api, id).await, 1);
    assert_eq!(
        logged_requests(ctx, mark, "update_task", Some(id), 1).await,
        1,
        "sent once"
    );
    page.close().await;
}

pub async fn offline_edits_merge_with_another_users_change_to_another_field(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = member_api(ctx, "setup", &workspace);
    let task = api
        .create(json!({"title": "Book the ferry", "tags": ["trip"]}))
        .await;
    let id = task["id"].as_str().unwrap();
    let page = Page::open(&ctx.server.base, 1200, 900).await;
    open_task(&page, "Ana", &workspace, id).await;

    page.set_offline(true).await;
    page.replace_text("#f-title", "Book the early ferry").await;
    page.replace_text("#f-tags", "trip, sea").await;
    page.commit().await;
    wait_for_status(&page, "offline — 1 change pending").await;

    // Meanwhile Bob changes the description and the tags.
    let bob = member_api(ctx, "bob", &workspace);
    bob.patch(
        &format!("/api/tasks/{id}"),
        &json!({"description": "Cabins are sold out", "tags": ["trip", "booked"]}),
        Some("\"1\""),
    )
    .await
    .expect(200);

    page.set_offline(false).await;
    wait_for_status(&page, "all changes synced").await;
    let now = task_now(&api, id).await;
    assert_eq!(now["title"], "Book the early ferry", "mine survives");
    assert_eq!(now["description"], "Cabins are sold out", "theirs survives");
    assert_eq!(
        now["tags"],
        json!(["trip", "booked", "sea"]),
        "tags merge as a set"
    );
    assert_eq!(now["version"], 3);
    assert_eq!(updates_in_history(&api, id).await, 2);
    page.wait_until(
        "document.getElementById('f-description').value === 'Cabins are sold out'",
        "Bob's description in Ana's form",
    )
    .await;
    page.close().await;
}

pub async fn a_conflict_shows_both_values_and_the_chosen_one_commits(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = member_api(ctx, "setup", &workspace);
    let task = api
        .create(json!({"title": "Pick a campsite", "priority": "low"}))
        .await;
    let id = task["id"].as_str().unwrap();
    let page = Page::open(&ctx.server.base, 1200, 900).await;
    open_task(&page, "Ana", &workspace, id).await;

    page.set_offline(true).await;
    page.replace_text("#f-title", "Pick the lake campsite")
        .await;
    page.select("#f-priority", "high").await;
    page.commit().await;
    wait_for_status(&page, "offline — 1 change pending").await;

    let bob = member_api(ctx, "bob", &workspace);
    bob.patch(
        &format!("/api/tasks/{id}"),
        &json!({"title": "Pick the forest campsite"}),
        None,
    )
    .await
    .expect(200);

    page.set_offline(false).await;
    page.wait_until(
        "!document.getElementById('conflict').hidden",
        "the conflict prompt",
    )
    .await;
    wait_for_status(&page, "1 change needs your decision").await;
    let prompt = page.text("#conflict-text").await;
    assert!(prompt.contains("Changed by BOB"), "{prompt}");
    let side = |side: &str| {
        format!("#conflict-fields [data-field='title'] .conflict-choice[data-side='{side}']")
    };
    assert_eq!(
        page.text(&format!("{} .conflict-side", side("mine"))).await,
        "Mine"
    );
    assert_eq!(
        page.text(&format!("{} .conflict-value", side("mine")))
            .await,
        "Pick the lake campsite"
    );
    assert_eq!(
        page.text(&format!("{} .conflict-side", side("theirs")))
            .await,
        "Theirs (BOB)"
    );
    assert_eq!(
        page.text(&format!("{} .conflict-value", side("theirs")))
            .await,
        "Pick the forest campsite"
    );
    assert_ne!(
        page.text("#task-notice").await,
        "Saving…",
        "no progress beside the prompt"
    );
    assert_eq!(
        page.js(
            "return document.querySelectorAll('#conflict-fields .conflict-field').length;",
            vec![]
        )
        .await,
        1,
        "the priority only I changed is not in question"
    );
    page.screenshot("offline-conflict.png").await;
    assert_eq!(
        task_now(&api, id).await["version"],
        2,
        "nothing of mine committed yet"
    );

    page.click("#conflict-fields [data-field='title'] .choose-mine")
        .await;
    wait_for_status(&page, "all changes synced").await;
    page.wait_until(
        "document.getElementById('conflict').hidden",
        "the prompt to close",
    )
    .await;
    let now = task_now(&api, id).await;
    assert_eq!(now["title"], "Pick the lake campsite", "the chosen value");
    assert_eq!(now["priority"], "high", "the field only I changed");
    assert_eq!(now["version"], 3, "one commit for the choice");
    assert_eq!(updates_in_history(&api, id).await, 2);
    page.close().await;
}

pub async fn a_task_created_offline_survives_closing_the_browser(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let title = "Buy a map of the islands";
    let page = Page::open(&ctx.server.base, 1200, 900).await;
    page.sign_in("Ana", "member", &workspace).await;
    page.live().await;
    page.wait_for_offline_shell().await;
    let mark = ctx.server.log().len();
    page.set_offline(true).await;
    page.type_into("#new-title", title).await;
    page.click("#create-form button[type=submit]").await;
    let pending_card = format!(
        "[...document.querySelectorAll('#task-list .task-item[data-pending=\"true\"] .task-title')].some(e => e.textContent === {})",
        json!(title)
    );
    page.wait_until(&pending_card, "the pending task on the dashboard")
        .await;
    wait_for_status(&page, "offline — 1 change pending").await;

    // Closed while offline, the change still unsent.
    let profile = page.quit_keeping_profile().await;
    let api = member_api(ctx, "setup", &workspace);
    let listed = api.get("/api/tasks").await.expect(200).body;
    assert_eq!(listed["tasks"], json!([]), "nothing reached the server");

    // Started again on the same profile, still offline: the browser's sign-in (localStorage)
    // is still there, so the app opens signed in, from the service worker's cache.
    let page = Page::open_profile(&ctx.server.base, 1200, 900, profile).await;
    page.set_offline(true).await;
    page.goto("/").await;
    page.wait_until(&pending_card, "the task still pending after the restart")
        .await;
    wait_for_status(&page, "offline — 1 change pending").await;

    page.set_offline(false).await;
    wait_for_status(&page, "all changes synced").await;
    page.wait_until(
        &format!(
            "[...document.querySelectorAll('#task-list .task-item:not([data-pending]) .task-title')].some(e => e.textContent === {})",
            json!(title)
        ),
        "the task, committed, on the dashboard",
    )
    .await;
    let listed = api.get("/api/tasks").await.expect(200).body;
    let made: Vec<&Value> = listed["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|task| task["title"] == title)
        .collect();
    assert_eq!(made.len(), 1, "created exactly once: {listed}");
    assert_eq!(made[0]["created_by"], "ana");
    assert_eq!(
        logged_requests(ctx, mark, "create_task", None, 1).await,
        1,
        "sent once"
    );
    page.close().await;
}

pub async fn two_tabs_offline_each_edit_commits_once(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = member_api(ctx, "setup", &workspace);
    let first = api.create(json!({"title": "Charge the lamp"})).await;
    let second = api.create(json!({"title": "Fill the bottles"})).await;
    let (first, second) = (
        first["id"].as_str().unwrap().to_owned(),
        second["id"].as_str().unwrap().to_owned(),
    );

    // One browser, two tabs of the same user: one queue between them.
    let page = Page::open(&ctx.server.base, 1200, 900).await;
    open_task(&page, "Ana", &workspace, &first).await;
    let left = page.client.window().await.expect("this tab");
    let right = page
        .client
        .new_window(true)
        .await
        .expect("a new tab")
        .handle;
    page.client
        .switch_to_window(right.clone())
        .await
        .expect("to the new tab");
    // The tabs of one browser share the sign-in: the new tab is Ana's already.
    show_task(&page, &second).await;

    let mark = ctx.server.log().len();
    // Both tabs offline first (a tab still online would replay the other's edit at once);
    // then each edits its task, and each tab lists both edits.
    page.set_offline(true).await;
    page.client
        .switch_to_window(left.clone())
        .await
        .expect("back to the first tab");
    page.set_offline(true).await;
    page.replace_text("#f-title", "Charge the lamp overnight")
        .await;
    page.commit().await;
    wait_for_status(&page, "offline — 1 change pending").await;
    page.client
        .switch_to_window(right.clone())
        .await
        .expect("to the second tab");
    wait_for_status(&page, "offline — 1 change pending").await;
    page.replace_text("#f-title", "Fill the bottles with water")
        .await;
    page.commit().await;
    wait_for_status(&page, "offline — 2 changes pending").await;
    page.client
        .switch_to_window(left.clone())
        .await
        .expect("to the first tab");
    wait_for_status(&page, "offline — 2 changes pending").await;

    // Both back online one right after the other: both try to replay the same queue.
    page.set_offline(false).await;
    page.client
        .switch_to_window(right.clone())
        .await
        .expect("to the second tab");
    page.set_offline(false).await;
    wait_for_status(&page, "all changes synced").await;
    page.client
        .switch_to_window(left)
        .await
        .expect("to the first tab");
    // An entry leaves the queue only once it committed: with the queue empty in both tabs,
    // nothing is left that could still be sent a second time.
    wait_for_status(&page, "all changes synced").await;

    for (id, title) in [
        (&first, "Charge the lamp overnight"),
        (&second, "Fill the bottles with water"),
    ] {
        let now = task_now(&api, id).await;
        assert_eq!(now["title"], title);
        assert_eq!(now["version"], 2, "{title}: committed exactly once");
        assert_eq!(updates_in_history(&api, id).await, 1, "{title}");
        // Not even a replayed duplicate: the tabs never sent the same entry twice.
        assert_eq!(
            logged_requests(ctx, mark, "update_task", Some(id), 1).await,
            1,
            "{title}: sent by one tab, once"
        );
    }
    page.close().await;
}
