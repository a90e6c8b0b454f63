//! The React example (examples/react, built by `make example` into public/examples/react/ and
//! served at /examples/react/) in real headless Chromium, two people on one task: each sees
//! the other's avatar, "is typing" and what they are editing, an edit saved on one side
//! shows on the other, and two people typing in the shared description at once converge. The example runs React's development build under StrictMode, and a
//! counter put in front of `WebSocket` before the page loads checks that each room still
//! gets exactly one socket.

use fantoccini::Locator;
use serde_json::json;

use crate::browser::{description_becomes, member_api, Page};
use crate::harness::unique_workspace;
use crate::Ctx;

register! {
    // Chromium is heavy on a 2-core machine.
    Exclusive: [two_people_on_one_task_in_the_react_example],
}

const EXAMPLE: &str = "/examples/react/";

/// Counts the sockets the page opens, by path, from before any of its scripts runs.
const COUNT_SOCKETS: &str = r"
  window.__sockets = {};
  const Real = window.WebSocket;
  window.WebSocket = class extends Real {
    constructor(url, protocols) {
      super(url, protocols);
      const path = new URL(url).pathname;
      window.__sockets[path] = (window.__sockets[path] || 0) + 1;
    }
  };
";

/// A page on the example, signed in with its dev sign-in form, sockets counted.
async fn example_page(ctx: &Ctx, name: &str, workspace: &str) -> Page {
    let page = Page::open(&ctx.server.base, 1200, 900).await;
    page.cdp("Page.enable", json!({})).await;
    page.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": COUNT_SOCKETS }),
    )
    .await;
    page.goto(EXAMPLE).await;
    page.wait_until(
        "document.getElementById('dev-signin')",
        "the example's sign-in form",
    )
    .await;
    page.type_into("#dev-name", name).await;
    page.replace_text("#dev-workspace", workspace).await;
    page.click("#dev-signin button[type=submit]").await;
    page.wait_until(
        "document.getElementById('task-list') && document.getElementById('connection').dataset.status === 'open'",
        "the example's live board",
    )
    .await;
    page
}

/// Opens a task in the example and waits until its room is live, its form is filled and
/// its description is bound to the live shared text.
async fn open_task(page: &Page, id: &str, title: &str) {
    page.goto(&format!("{EXAMPLE}#/tasks/{id}")).await;
    page.wait_until(
        &format!(
            "document.getElementById('connection').dataset.status === 'open' && document.getElementById('f-title')?.value === {}",
            json!(title)
        ),
        "the task, live",
    )
    .await;
    page.wait_until(
        "document.getElementById('f-description')?.dataset.shared === 'live' && !document.getElementById('f-description').readOnly",
        "the shared description, live",
    )
    .await;
}

/// Replaces the text of an input the way a person does: select it all, type over it.
async fn type_over(page: &Page, css: &str, text: &str) {
    let element = page.client.find(Locator::Css(css)).await.expect(css);
    element.click().await.expect("focus");
    page.js(
        "document.querySelector(arguments[0]).select();",
        vec![json!(css)],
    )
    .await;
    element.send_keys(text).await.expect("type");
}

pub async fn two_people_on_one_task_in_the_react_example(ctx: &'static Ctx) {
    let built = hero_testkit::wrangler::project_root().join("public/examples/react/app.js");
    assert!(
        built.exists(),
        "the example is not built: make example (make e2e does)"
    );
    let workspace = unique_workspace();
    let api = member_api(ctx, "setup", &workspace);
    let task = api
        .create(json!({"title": "Plan the launch", "description": "first draft"}))
        .await;
    let id = task["id"].as_str().unwrap();

    let ana = example_page(ctx, "Ana", &workspace).await;
    let bob = example_page(ctx, "Bob", &workspace).await;
    open_task(&ana, id, "Plan the launch").await;
    open_task(&bob, id, "Plan the launch").await;

    // Presence: each sees the other's avatar, with initials.
    ana.wait_until(
        "document.querySelector('#presence [data-user-id=\"bob\"] .avatar')",
        "Bob's avatar in Ana's view",
    )
    .await;
    bob.wait_until(
        "document.querySelector('#presence [data-user-id=\"ana\"] .avatar')",
        "Ana's avatar in Bob's view",
    )
    .await;
    assert_eq!(
        ana.text("#presence [data-user-id=\"bob\"] .avatar").await,
        "BO"
    );
    assert_eq!(
        bob.text("#presence [data-user-id=\"ana\"] .avatar").await,
        "AN"
    );

    // "Is typing", and what she is editing.
    ana.caret_at(-1).await;
    ana.type_here(" and more").await;
    bob.wait_until(
        "document.getElementById('typing').textContent.includes('Ana is typing in description')",
        "Ana is typing in description…",
    )
    .await;
    bob.wait_until(
        "document.querySelector('[data-hint-for=\"description\"]').textContent.includes('Ana is editing this')",
        "Ana is editing the description",
    )
    .await;
    ana.screenshot("react-example-task.png").await;

    // An edit on one side shows on the other: the title (saved on Enter), and the status
    // (saved as it changes).
    type_over(&ana, "#f-title", "Launch plan, v2\u{E007}").await;
    bob.wait_until(
        "document.getElementById('f-title').value === 'Launch plan, v2'",
        "Ana's title in Bob's view",
    )
    .await;
    bob.click("#f-status option[value=\"in_progress\"]").await;
    ana.wait_until(
        "document.getElementById('f-status').value === 'in_progress'",
        "Bob's status in Ana's view",
    )
    .await;
    // Ana's description is shared: Bob has it as she typed it, with no Save.
    bob.wait_until(
        "document.getElementById('f-description').value === 'first draft and more'",
        "Ana's description in Bob's view",
    )
    .await;

    // Both type in the description at once, Ana at the start and Bob at the end: both end
    // with the same text holding every keystroke, each burst in one piece.
    ana.caret_at(0).await;
    bob.caret_at(-1).await;
    for (a, b) in [("Ana: ", " (Bob"), ("our ", " was"), ("plan. ", " here)")] {
        tokio::join!(ana.type_here(a), bob.type_here(b));
    }
    let expected = "Ana: our plan. first draft and more (Bob was here)";
    let same = format!(
        "document.getElementById('f-description').value === {}",
        json!(expected)
    );
    ana.wait_until(&same, "both edits in Ana's view").await;
    bob.wait_until(&same, "both edits in Bob's view").await;
    let now = description_becomes(&api, id, expected).await;
    assert_eq!(now["title"], "Launch plan, v2");
    assert_eq!(now["status"], "in_progress");
    assert!(
        ana.js("return !document.getElementById('conflict');", vec![])
            .await
            .as_bool()
            .unwrap(),
        "no conflict to settle"
    );

    // Under StrictMode, in React's development build: one socket per room, never two.
    let sockets = ana.js("return window.__sockets;", vec![]).await;
    assert_eq!(sockets[format!("/ws/tasks/{id}")], 1, "{sockets}");
    assert_eq!(sockets[format!("/ws/tasks/{id}/doc")], 1, "{sockets}");
    assert_eq!(sockets["/ws/board"], 1, "{sockets}");

    ana.close().await;
    bob.close().await;
}
