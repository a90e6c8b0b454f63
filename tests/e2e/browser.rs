//! The web UI in real headless Chromium (Debian's chromium + chromedriver, driven over
//! WebDriver with fantoccini) against the real dev server.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hero_core::auth::Role;
use serde_json::{json, Value};

use crate::harness::{token, unique_workspace, Api};
use crate::Ctx;

register! {
    // Chromium is heavy on a 2-core machine, and one test restarts the server under the page.
    Exclusive: [
        two_people_edit_one_task,
        rest_changes_appear_on_the_dashboard,
        hostile_titles_render_as_text,
        the_ui_is_labelled_and_fits_a_phone,
        the_page_reconnects_after_a_server_restart,
        the_board_shows_who_is_viewing_each_task,
    ],
}

const PATIENCE: Duration = Duration::from_secs(20);

/// One chromedriver for the whole run; each page is its own browser session and profile.
static CHROMEDRIVER: Mutex<Option<(Child, u16)>> = Mutex::new(None);

fn chromedriver_port() -> u16 {
    let mut driver = CHROMEDRIVER.lock().unwrap();
    if let Some((_, port)) = driver.as_ref() {
        return *port;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian chromium-driver) is installed by make test's set-up");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    *driver = Some((child, port));
    port
}

/// Stops chromedriver (called once the suite is done).
pub fn stop_chromedriver() {
    if let Some((mut child, _)) = CHROMEDRIVER.lock().unwrap().take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

pub fn artifacts_dir() -> PathBuf {
    let dir = hero_testkit::wrangler::project_root().join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("test-artifacts dir");
    dir
}

/// A browser tab on the app, with waiting helpers. (`offline.rs` drives it too.)
pub(crate) struct Page {
    pub(crate) client: Client,
    base: String,
    profile: PathBuf,
}

impl Page {
    pub(crate) async fn open(base: &str, width: u32, height: u32) -> Page {
        let profile = std::env::temp_dir().join(format!("hero-chromium-{}", uuid::Uuid::new_v4()));
        Page::open_profile(base, width, height, profile).await
    }

    /// A browser on this profile directory: a fresh one, or the one a closed browser left
    /// (its IndexedDB, service worker and caches, as after quitting and starting Chromium).
    pub(crate) async fn open_profile(
        base: &str,
        width: u32,
        height: u32,
        profile: PathBuf,
    ) -> Page {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--window-size={width},{height}"),
                ]
            }),
        );
        // The console, for console_errors().
        capabilities.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        let client = ClientBuilder::native()
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", chromedriver_port()))
            .await
            .expect("a chromium session");
        Page {
            client,
            base: base.to_owned(),
            profile,
        }
    }

    /// A desktop page signed in as `name` (`role`) on task `id`'s page, connected.
    pub(crate) async fn on_task(
        base: &str,
        name: &str,
        role: &str,
        workspace: &str,
        id: &str,
    ) -> Page {
        let page = Page::open(base, 1200, 900).await;
        page.sign_in(name, role, workspace).await;
        page.goto(&format!("/#/tasks/{id}")).await;
        page.live().await;
        page
    }

    pub(crate) async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{}", self.base, path))
            .await
            .expect("navigate");
    }

    pub(crate) async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .expect("script runs")
    }

    /// Polls a JS expression until it is truthy.
    pub(crate) async fn wait_until(&self, expression: &str, what: &str) {
        let script = format!("return Boolean({expression});");
        let deadline = Instant::now() + PATIENCE;
        loop {
            if self.js(&script, vec![]).await == json!(true) {
                return;
            }
            if Instant::now() > deadline {
                let body = self.js("return document.body.innerText;", vec![]).await;
                panic!(
                    "timed out waiting for {what}; page text:\n{}",
                    body.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
            vec![json!(css)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let element = self.client.find(Locator::Css(css)).await.expect(css);
        element.click().await.expect("focus");
        element.send_keys(text).await.expect("type");
    }

    pub(crate) async fn replace_text(&self, css: &str, text: &str) {
        let element = self.client.find(Locator::Css(css)).await.expect(css);
        element.clear().await.expect("clear");
        element.click().await.expect("focus");
        element.send_keys(text).await.expect("type");
    }

    /// Waits until the description (`#f-description`) is bound to the live shared text.
    pub(crate) async fn description_live(&self) {
        self.wait_until(
            "document.getElementById('f-description')?.dataset.shared === 'live' && !document.getElementById('f-description').readOnly",
            "the description bound to the live shared text",
        )
        .await;
    }

    /// The description textarea's value.
    pub(crate) async fn description(&self) -> String {
        self.js(
            "return document.getElementById('f-description').value;",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Focuses the description with the caret at `at` (UTF-16 units; -1 for the end).
    pub(crate) async fn caret_at(&self, at: i64) {
        self.js(
            "const e = document.getElementById('f-description'); e.focus(); const n = arguments[0] < 0 ? e.value.length : arguments[0]; e.setSelectionRange(n, n);",
            vec![json!(at)],
        )
        .await;
    }

    /// Types into whatever has focus, key by key, as a person does (the caret stays where it is).
    pub(crate) async fn type_here(&self, text: &str) {
        self.client
            .active_element()
            .await
            .expect("a focused element")
            .send_keys(text)
            .await
            .expect("type");
    }

    /// Leaves the focused field, as a person moving on does: a text field saves on blur.
    pub(crate) async fn commit(&self) {
        self.js("document.activeElement?.blur();", vec![]).await;
    }

    pub(crate) async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .expect(css)
            .click()
            .await
            .expect("click");
    }

    pub(crate) async fn select(&self, css: &str, value: &str) {
        self.js(
            "const e = document.querySelector(arguments[0]); e.focus(); e.value = arguments[1]; \
             e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![json!(css), json!(value)],
        )
        .await;
    }

    /// Signs in with the dev sign-in form as `name`.
    pub(crate) async fn sign_in(&self, name: &str, role: &str, workspace: &str) {
        self.goto("/").await;
        self.wait_until(
            "!document.getElementById('dev-signin').hidden",
            "the dev sign-in form",
        )
        .await;
        self.type_into("#dev-name", name).await;
        self.select("#dev-role", role).await;
        self.replace_text("#dev-workspace", workspace).await;
        self.click("#dev-signin button[type=submit]").await;
        self.wait_until(
            "!document.getElementById('dashboard-view').hidden",
            "the dashboard",
        )
        .await;
    }

    pub(crate) async fn live(&self) {
        self.wait_until(
            "document.getElementById('connection').dataset.status === 'open'",
            "a live connection",
        )
        .await;
    }

    pub(crate) async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(artifacts_dir().join(name), png).expect("write screenshot");
    }

    pub(crate) async fn close(self) {
        let _ = self.client.close().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }

    /// Quits the browser and keeps its profile, for `open_profile` to start it again.
    pub(crate) async fn quit_keeping_profile(self) -> PathBuf {
        let _ = self.client.close().await;
        self.profile
    }

    /// Switches the current tab's network off or on with Chromium's own network emulation
    /// (DevTools `Network.emulateNetworkConditions`, through chromedriver's CDP passthrough):
    /// requests fail as offline, `navigator.onLine` follows, and the page hears `offline` /
    /// `online`. The server keeps running. Per tab: each tab is switched by itself.
    pub(crate) async fn set_offline(&self, offline: bool) {
        self.cdp("Network.enable", json!({})).await;
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
        )
        .await;
        let expected = if offline { "false" } else { "true" };
        self.wait_until(
            &format!("String(navigator.onLine) === '{expected}'"),
            "navigator.onLine to follow the emulation",
        )
        .await;
    }

    /// One DevTools command on the current tab (`POST /session/{id}/goog/cdp/execute`).
    pub(crate) async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.chromedriver("goog/cdp/execute", json!({"cmd": cmd, "params": params}))
            .await
    }

    /// A chromedriver command of this session that WebDriver has no call for.
    async fn chromedriver(&self, command: &str, body: Value) -> Value {
        let session = self
            .client
            .session_id()
            .await
            .expect("session id")
            .expect("a session");
        let url = format!(
            "http://127.0.0.1:{}/session/{session}/{command}",
            chromedriver_port()
        );
        let reply = reqwest::Client::new()
            .post(url)
            .json(&body)
            .send()
            .await
            .expect("chromedriver answers");
        assert!(reply.status().is_success(), "{command}: {}", reply.status());
        reply.json().await.expect("JSON from chromedriver")
    }

    /// What the page logged as an error since the last call (every tab of this browser):
    /// `console.error`, uncaught exceptions, failed loads (a 404 for /favicon.ico is one),
    /// CSP violations. Read from chromedriver's log of the browser's console
    /// (`goog:loggingPrefs`), which each call empties.
    pub(crate) async fn console_errors(&self) -> Vec<String> {
        let log = self
            .chromedriver("se/log", json!({"type": "browser"}))
            .await;
        log["value"]
            .as_array()
            .expect("log entries")
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Fails the test if the page logged an error since the last look.
    pub(crate) async fn no_console_errors(&self, when: &str) {
        let errors = self.console_errors().await;
        assert!(errors.is_empty(), "console errors {when}: {errors:#?}");
    }

    /// Waits until the service worker controls the page, so it can be reloaded offline.
    pub(crate) async fn wait_for_offline_shell(&self) {
        self.wait_until(
            "navigator.serviceWorker && navigator.serviceWorker.controller",
            "the service worker to control the page",
        )
        .await;
    }
}

/// Polls REST until the task's description is `expected` (the room's flush to D1, at most
/// 2 s after the last edit), and returns the task.
pub(crate) async fn description_becomes(api: &Api, id: &str, expected: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(6);
    loop {
        let task = api.get(&format!("/api/tasks/{id}")).await.expect(200).body;
        if task["description"] == expected {
            return task;
        }
        assert!(
            Instant::now() < deadline,
            "REST still has {:?}, not {expected:?}",
            task["description"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) fn member_api(ctx: &Ctx, user: &str, workspace: &str) -> Api {
    Api::new(&ctx.server.base, Some(token(user, Role::Member, workspace)))
}

pub async fn two_people_edit_one_task(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = member_api(ctx, "setup", &workspace);
    let task = api
        .create(json!({"title": "Plan the launch", "description": "first draft"}))
        .await;
    let id = task["id"].as_str().unwrap();

    let ana = Page::on_task(&ctx.server.base, "Ana", "member", &workspace, id).await;
    let bob = Page::on_task(&ctx.server.base, "Bob", "member", &workspace, id).await;
    ana.description_live().await;
    bob.description_live().await;

    // each sees the other's avatar, with initials
    ana.wait_until(
        "document.querySelector('#presence [data-user-id=\"bob\"]')",
        "Bob's avatar in Ana's view",
    )
    .await;
    bob.wait_until(
        "document.querySelector('#presence [data-user-id=\"ana\"]')",
        "Ana's avatar in Bob's view",
    )
    .await;
    assert_eq!(
        ana.text("#presence [data-user-id=\"bob\"] .avatar").await,
        "BO"
    );

    // typing shows up
    ana.caret_at(-1).await;
    ana.type_here(" and more").await;
    bob.wait_until(
        "document.getElementById('typing').textContent.includes('Ana is typing')",
        "Ana is typing…",
    )
    .await;
    bob.wait_until(
        "document.querySelector('#presence [data-user-id=\"ana\"] .editing')?.textContent.includes('editing description')",
        "Ana is editing description",
    )
    .await;
    // The description is shared: Bob sees it as she types, with no Save
    bob.wait_until(
        "document.getElementById('f-description').value === 'first draft and more'",
        "Ana's edit in Bob's form",
    )
    .await;
    ana.screenshot("task-view.png").await;

    // both edit the title; Bob's saves first (on blur); Ana's save hits the conflict prompt
    ana.replace_text("#f-title", "Ana's title").await;
    bob.replace_text("#f-title", "Bob's title").await;
    bob.commit().await;
    bob.wait_until(
        "document.getElementById('task-notice').textContent === 'Saved.'",
        "Bob's save",
    )
    .await;
    ana.wait_until(
        "document.getElementById('task-notice').textContent.includes('Bob changed')",
        "the notice of Bob's change",
    )
    .await;
    ana.commit().await;
    ana.wait_until(
        "!document.getElementById('conflict').hidden",
        "the conflict prompt",
    )
    .await;
    let prompt = ana.text("#conflict-text").await;
    assert!(
        prompt.contains("Changed by Bob while you were editing"),
        "{prompt}"
    );
    // One set of actions (a pair per field), the values as text, no "Saving…" beside it.
    assert_eq!(
        ana.js(
            "return [document.getElementById('conflict-actions').hidden,                      document.querySelectorAll('#conflict button:not([hidden])').length - document.querySelectorAll('#conflict-actions button').length,                      document.querySelectorAll('#conflict input, #conflict textarea, #conflict select').length];",
            vec![]
        )
        .await,
        json!([true, 2, 0])
    );
    assert_ne!(ana.text("#task-notice").await, "Saving…");
    ana.screenshot("conflict.png").await;
    // keeping hers wins, on top of Bob's version
    ana.click("#conflict-fields [data-field='title'] .choose-mine")
        .await;
    ana.wait_until(
        "document.getElementById('conflict').hidden",
        "the prompt to close",
    )
    .await;
    // The title as she chose it, and the shared text as the room flushes it (≤ 2 s after
    // the last keystroke, so it may still be on its way).
    let now = description_becomes(&api, id, "first draft and more").await;
    assert_eq!(now["title"], "Ana's title");
    bob.wait_until("document.getElementById('f-title').value === \"Ana's title\" || document.getElementById('task-notice').textContent.includes('Ana changed')", "Ana's reapplied title reaching Bob").await;

    ana.close().await;
    bob.close().await;
}

pub async fn rest_changes_appear_on_the_dashboard(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = member_api(ctx, "outsider", &workspace);
    api.create(json!({"title": "Already there", "priority": "high", "tags": ["ops"]}))
        .await;
    let page = Page::open(&ctx.server.base, 1200, 900).await;
    page.sign_in("Dana", "admin", &workspace).await;
    page.live().await;
    page.wait_until(
        "document.querySelectorAll('#task-list .task-item').length === 1",
        "the existing task",
    )
    .await;
    page.wait_until(
        "document.querySelector('[data-stat=\"Total\"] .stat-value')?.textContent === '1'",
        "analytics total 1",
    )
    .await;

    let created = api
        .create(json!({"title": "Made over REST", "due_date": "2030-01-01"}))
        .await;
    page.wait_until(
        "[...document.querySelectorAll('#task-list .task-title')].some(e => e.textContent === 'Made over REST')",
        "the REST-created task",
    )
    .await;
    page.wait_until(
        "document.querySelector('[data-stat=\"Total\"] .stat-value')?.textContent === '2'",
        "analytics total 2",
    )
    .await;
    api.patch(
        &format!("/api/tasks/{}", created["id"].as_str().unwrap()),
        &json!({"status": "done"}),
        None,
    )
    .await
    .expect(200);
    page.wait_until(
        "document.querySelector('[data-stat=\"Done\"] .stat-value')?.textContent === '1'",
        "analytics done 1",
    )
    .await;

    // filters and search narrow the list
    page.type_into("#filter-q", "rest").await;
    page.wait_until(
        "document.querySelectorAll('#task-list .task-item').length === 1",
        "the search result",
    )
    .await;
    page.replace_text("#filter-q", "").await;
    page.select("#filter-status", "done").await;
    page.wait_until(
        "document.querySelectorAll('#task-list .task-item').length === 1 && document.querySelector('#task-list .task-item').dataset.status === 'done'",
        "the status filter",
    )
    .await;
    page.select("#filter-status", "").await;
    page.wait_until(
        "document.querySelectorAll('#task-list .task-item').length === 2",
        "both tasks again",
    )
    .await;

    // creating from the dashboard
    page.type_into("#new-title", "Made in the browser").await;
    page.click("#create-form button[type=submit]").await;
    page.wait_until(
        "[...document.querySelectorAll('#task-list .task-title')].some(e => e.textContent === 'Made in the browser')",
        "the created task",
    )
    .await;
    page.screenshot("dashboard.png").await;
    page.close().await;
}

pub async fn hostile_titles_render_as_text(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = member_api(ctx, "mallory", &workspace);
    let hostile = "<img src=x onerror=alert(1)>";
    let task = api
        .create(json!({"title": hostile, "tags": ["<b>bold</b>"]}))
        .await;
    let page = Page::open(&ctx.server.base, 1200, 900).await;
    page.sign_in("Victim", "viewer", &workspace).await;
    page.wait_until(
        "document.querySelector('#task-list .task-title')",
        "the task",
    )
    .await;
    assert_eq!(page.text("#task-list .task-title").await, hostile);
    assert_eq!(
        page.js(
            "return document.querySelectorAll('#task-list img, #task-list b').length;",
            vec![]
        )
        .await,
        0
    );
    page.goto(&format!("/#/tasks/{}", task["id"].as_str().unwrap()))
        .await;
    page.wait_until(
        "document.getElementById('f-title').value.length > 0",
        "the task form",
    )
    .await;
    assert_eq!(page.text("#task-heading").await, hostile);
    assert_eq!(
        page.js(
            "return document.querySelectorAll('main img:not(.avatar)').length;",
            vec![]
        )
        .await,
        0
    );
    page.close().await;
}

pub async fn the_ui_is_labelled_and_fits_a_phone(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let page = Page::open(&ctx.server.base, 390, 844).await;
    page.sign_in("Pat", "member", &workspace).await;
    let api = member_api(ctx, "pat", &workspace);
    let task = api
        .create(json!({"title": "A fairly long task title that has to wrap on a phone screen"}))
        .await;
    page.wait_until(
        "document.querySelectorAll('#task-list .task-item').length === 1",
        "the task",
    )
    .await;
    let unlabelled = page
        .js(
            "return [...document.querySelectorAll('input, select, textarea')].filter(e => e.labels.length === 0).map(e => e.id);",
            vec![],
        )
        .await;
    assert_eq!(unlabelled, json!([]), "every control has a label");
    let overflow = page
        .js(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await;
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "no horizontal scroll at phone width ({overflow})"
    );
    page.screenshot("dashboard-phone.png").await;
    page.goto(&format!("/#/tasks/{}", task["id"].as_str().unwrap()))
        .await;
    page.live().await;
    let overflow = page
        .js(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await;
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "no horizontal scroll on the task view ({overflow})"
    );
    // keyboard: Tab moves focus to a visible control with a focus outline
    page.client
        .active_element()
        .await
        .expect("active")
        .send_keys("\u{E004}")
        .await
        .expect("tab");
    let outline = page
        .js("const e = document.activeElement; return e && e !== document.body ? getComputedStyle(e).outlineStyle : 'none';", vec![])
        .await;
    assert_ne!(outline, json!("none"), "focus is visible");
    page.screenshot("task-phone.png").await;
    page.close().await;
}

/// Runs alone: it kills and restarts the dev server under the open page.
pub async fn the_page_reconnects_after_a_server_restart(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = member_api(ctx, "ops", &workspace);
    let task = api.create(json!({"title": "Survives restarts"})).await;
    let id = task["id"].as_str().unwrap();
    let page = Page::on_task(&ctx.server.base, "Rae", "member", &workspace, id).await;

    ctx.server.kill();
    page.wait_until(
        "['reconnecting', 'offline'].includes(document.getElementById('connection').dataset.status)",
        "the badge to show the outage",
    )
    .await;
    ctx.server.restart();
    api.patch(
        &format!("/api/tasks/{id}"),
        &json!({"title": "Changed while you were away"}),
        None,
    )
    .await
    .expect(200);
    page.live().await;
    page.wait_until(
        "document.getElementById('f-title').value === 'Changed while you were away'",
        "the missed change after reconnecting",
    )
    .await;
    page.close().await;
}

/// The dashboard's cards show who is in each task's room (the board's `task_presence`), and
/// nobody once they have left and the grace period (PRESENCE_GRACE_MS, 1.5 s here) is over.
pub async fn the_board_shows_who_is_viewing_each_task(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = member_api(ctx, "setup", &workspace);
    let watched = api
        .create(json!({"title": "Everyone is looking at this"}))
        .await;
    let quiet = api
        .create(json!({"title": "Nobody is looking at this"}))
        .await;
    let id = watched["id"].as_str().unwrap();
    let card = format!("#task-list .task-item[data-task-id=\"{id}\"] .card-presence");

    let carol = Page::open(&ctx.server.base, 1200, 900).await;
    carol.sign_in("Carol", "member", &workspace).await;
    carol.live().await;
    carol
        .wait_until(
            "document.querySelectorAll('#task-list .task-item').length === 2",
            "both tasks on Carol's dashboard",
        )
        .await;
    assert_eq!(
        carol
            .js(
                "return document.querySelectorAll('.card-presence').length;",
                vec![]
            )
            .await,
        0,
        "nobody is in any task yet"
    );

    let ana = Page::on_task(&ctx.server.base, "Ana", "member", &workspace, id).await;
    let bob = Page::on_task(&ctx.server.base, "Bob", "member", &workspace, id).await;

    carol
        .wait_until(
            &format!(
                "document.querySelector('{card} [data-user-id=\"ana\"]') && document.querySelector('{card} [data-user-id=\"bob\"]')"
            ),
            "Ana's and Bob's avatars on the task's card",
        )
        .await;
    assert_eq!(
        carol
            .text(&format!("{card} [data-user-id=\"ana\"] .avatar"))
            .await,
        "AN"
    );
    assert_eq!(
        carol
            .text(&format!("{card} [data-user-id=\"bob\"] .avatar"))
            .await,
        "BO"
    );
    let quiet_id = quiet["id"].as_str().unwrap();
    assert_eq!(
        carol
            .js(
                &format!("return document.querySelectorAll('[data-task-id=\"{quiet_id}\"] .card-presence [data-user-id]').length;"),
                vec![]
            )
            .await,
        0,
        "the other task's card shows nobody"
    );
    carol.screenshot("dashboard-presence.png").await;

    // Ana goes back to the dashboard (she leaves the task's room); Bob closes his browser.
    ana.goto("/#/").await;
    bob.close().await;
    carol
        .wait_until(
            &format!("!document.querySelector('{card}')"),
            "the card to show nobody once the grace period is over",
        )
        .await;
    ana.close().await;
    carol.close().await;
}
