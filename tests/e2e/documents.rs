//! The shared description (`/ws/tasks/{id}/doc`) against the real server, with Yjs peers
//! (yrs, UTF-16 offsets, encoding v1) speaking y-protocols over real sockets: concurrent
//! typing converges and D1 follows; the document is made from D1 once; a REST write reaches
//! editors as an edit and a write of another field is not refused for someone's typing;
//! the limit holds; every bad input gets its documented answer; a crash loses nothing any
//! client saw.

use std::time::Duration;

use hero_core::auth::Role;
use hero_core::protocol::close;
use serde_json::{json, Value};
use yrs::{Text, Transact};

use crate::harness::{token, unique_workspace, Api, DocPeer, Heard, Scene};
use crate::Ctx;

register! {
    Shared: [
        two_editors_type_at_once_and_converge_and_d1_follows,
        the_document_is_made_from_the_description_once,
        a_rest_patch_reaches_editors_as_an_edit_and_other_fields_are_not_refused,
        the_text_stays_within_its_limit_under_concurrent_pastes,
        bad_input_gets_its_answer_and_the_document_is_unchanged,
        awareness_is_relayed_kept_to_its_owner_and_ended_on_close,
        a_viewer_reads_but_cannot_write,
        the_checks_before_the_upgrade_are_the_rooms,
        a_burst_of_typing_is_one_activity_entry,
    ],
    // Kills the server.
    Exclusive: [a_room_killed_mid_typing_loses_nothing_anyone_saw],
}

const SETTLE: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(10);

async fn description(api: &Api, task_id: &str) -> Value {
    api.get(&format!("/api/tasks/{task_id}"))
        .await
        .expect(200)
        .body
}

/// Polls the task until its description is `expected` (D1 follows within seconds).
async fn wait_for_d1(api: &Api, task_id: &str, expected: &str) -> Value {
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let task = description(api, task_id).await;
        if task["description"] == expected {
            return task;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "D1 has {:?}, not {expected:?}",
            task["description"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn member(scene: &Scene, user: &str) -> String {
    token(user, Role::Member, &scene.workspace)
}

pub async fn two_editors_type_at_once_and_converge_and_d1_follows(ctx: &'static Ctx) {
    let base = &ctx.server.base;
    let scene = Scene::new(base, "ana", "typed together").await;
    let mut ana = DocPeer::synced(base, &scene.task_id, &member(&scene, "ana"), 101).await;
    let mut bo = DocPeer::synced(base, &scene.task_id, &member(&scene, "bo"), 202).await;
    // Both type at once, keystroke by keystroke: Ana at the start, Bo at the end, neither
    // waiting to hear the other.
    for (at, (a, b)) in "Hello".chars().zip(" world".chars()).enumerate() {
        ana.type_at(at as u32, &a.to_string()).await;
        bo.append(&b.to_string()).await;
    }
    bo.append("d").await;
    ana.pump(SETTLE).await;
    bo.pump(SETTLE).await;
    let converged = ana.text();
    assert_eq!(converged, bo.text(), "both hold the same text");
    assert!(converged.starts_with("Hello"), "{converged:?}");
    let mut letters: Vec<char> = converged.chars().collect();
    letters.sort_unstable();
    let mut typed: Vec<char> = "Hello world".chars().collect();
    typed.sort_unstable();
    assert_eq!(letters, typed, "every keystroke, once: {converged:?}");
    // D1 follows within seconds of the pause, through the normal write path.
    let mut room = scene.join(base, "cy").await.0;
    let task = wait_for_d1(&scene.api, &scene.task_id, &converged).await;
    assert!(task["version"].as_i64().unwrap() > 1);
    let updated = room.expect("task_updated").await;
    assert_eq!(updated["task"]["description"], converged);
    assert_eq!(updated["changed"], json!(["description"]));
}

pub async fn the_document_is_made_from_the_description_once(ctx: &'static Ctx) {
    let base = &ctx.server.base;
    let workspace = unique_workspace();
    let api = Api::new(base, Some(token("ana", Role::Member, &workspace)));
    let task = api
        .create(json!({"title": "seeded", "description": "from D1"}))
        .await;
    let id = task["id"].as_str().unwrap();
    let who = token("ana", Role::Member, &workspace);
    let first = DocPeer::synced(base, id, &who, 11).await;
    assert_eq!(first.text(), "from D1");
    first.close().await;
    // Opened again, by someone else, after the first left: made once, never twice.
    let again = DocPeer::synced(base, id, &who, 12).await;
    assert_eq!(again.text(), "from D1", "not seeded a second time");
}

pub async fn a_rest_patch_reaches_editors_as_an_edit_and_other_fields_are_not_refused(
    ctx: &'static Ctx,
) {
    let base = &ctx.server.base;
    let scene = Scene::new(base, "ana", "patched").await;
    let path = format!("/api/tasks/{}", scene.task_id);
    let before = description(&scene.api, &scene.task_id).await;
    let version_read = before["version"].as_i64().unwrap().to_string();
    let mut ana = DocPeer::synced(base, &scene.task_id, &member(&scene, "ana"), 31).await;
    ana.append("typed live").await;
    ana.pump(SETTLE).await;
    wait_for_d1(&scene.api, &scene.task_id, "typed live").await;
    // A PATCH of another field with the version read before the typing: no 412.
    let title = scene
        .api
        .patch(
            &path,
            &json!({"title": "renamed"}),
            Some(&format!("\"{version_read}\"")),
        )
        .await
        .expect(200);
    assert_eq!(title.body["title"], "renamed");
    assert_eq!(title.body["description"], "typed live", "the typing stays");
    // A PATCH of the description reaches the editor as an edit.
    scene
        .api
        .patch(
            &path,
            &json!({"description": "typed live, then patched"}),
            None,
        )
        .await
        .expect(200);
    ana.wait_for_text("typed live, then patched", LONG).await;
    // The description with a stale If-Match is still refused: it is a real clash.
    scene
        .api
        .patch(
            &path,
            &json!({"description": "x"}),
            Some(&format!("\"{version_read}\"")),
        )
        .await
        .expect_problem(412);
}

pub async fn the_text_stays_within_its_limit_under_concurrent_pastes(ctx: &'static Ctx) {
    let base = &ctx.server.base;
    let scene = Scene::new(base, "ana", "long").await;
    let mut ana = DocPeer::synced(base, &scene.task_id, &member(&scene, "ana"), 41).await;
    let mut bo = DocPeer::synced(base, &scene.task_id, &member(&scene, "bo"), 42).await;
    ana.append(&"a".repeat(6_000)).await;
    bo.append(&"😀".repeat(6_000)).await;
    for _ in 0..3 {
        ana.pump(SETTLE).await;
        bo.pump(SETTLE).await;
    }
    assert_eq!(ana.text(), bo.text(), "both converge on the room's cut");
    assert_eq!(ana.text().chars().count(), 10_000);
    let stored = wait_for_d1(&scene.api, &scene.task_id, &ana.text()).await;
    assert_eq!(
        stored["description"].as_str().unwrap().chars().count(),
        10_000
    );
}

pub async fn bad_input_gets_its_answer_and_the_document_is_unchanged(ctx: &'static Ctx) {
    let base = &ctx.server.base;
    let scene = Scene::new(base, "ana", "guarded").await;
    let mut ana = DocPeer::synced(base, &scene.task_id, &member(&scene, "ana"), 51).await;
    ana.append("kept").await;
    ana.pump(SETTLE).await;
    // Another root type.
    let other = yrs::Doc::with_client_id(667);
    let title = other.get_or_insert_text("title");
    let another_root = {
        let mut txn = other.transact_mut();
        title.insert(&mut txn, 0, "evil");
        txn.encode_update_v1()
    };
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "another root",
            hero_core::doc::wire::update(&another_root),
            close::UPDATE_REFUSED,
        ),
        ("not a message", vec![0, 9, 9], close::INVALID_PAYLOAD),
        (
            "a broken update",
            hero_core::doc::wire::update(&[5, 5, 5]),
            close::INVALID_PAYLOAD,
        ),
        ("over the size cap", vec![0; 300 * 1024], close::TOO_BIG),
        (
            "an awareness state over its cap",
            DocPeer::awareness(668, &format!("{{\"x\":\"{}\"}}", "a".repeat(3_000))),
            close::TOO_BIG,
        ),
    ];
    for (what, frame, code) in cases {
        let mut hostile = DocPeer::synced(base, &scene.task_id, &member(&scene, "eve"), 666).await;
        hostile.send(frame).await;
        hostile.pump(LONG).await;
        assert_eq!(hostile.closed, Some(code), "{what}: {:?}", hostile.heard);
    }
    // A text frame.
    let mut texter = DocPeer::synced(base, &scene.task_id, &member(&scene, "eve"), 669).await;
    texter.send_text("hello").await;
    assert_eq!(texter.wait_for_close(LONG).await, close::UNSUPPORTED);
    // A flood: closed (1008) rather than dropped, so nothing diverges.
    let mut flood = DocPeer::synced(base, &scene.task_id, &member(&scene, "eve"), 670).await;
    for _ in 0..400 {
        flood.send(vec![3]).await;
    }
    assert_eq!(flood.wait_for_close(LONG).await, close::POLICY);
    // Through all of it the document is what Ana typed, and she is still connected.
    ana.append("!").await;
    ana.pump(SETTLE).await;
    let fresh = DocPeer::synced(base, &scene.task_id, &member(&scene, "bo"), 52).await;
    assert_eq!(fresh.text(), "kept!");
    assert!(ana.closed.is_none(), "{:?}", ana.heard);
    let log = ctx.server.log();
    for code in [
        close::UPDATE_REFUSED,
        close::INVALID_PAYLOAD,
        close::TOO_BIG,
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains("\"event\":\"closed\"")
                    && l.contains(&format!("\"code\":{code}"))),
            "one log line for {code}"
        );
    }
}

pub async fn awareness_is_relayed_kept_to_its_owner_and_ended_on_close(ctx: &'static Ctx) {
    let base = &ctx.server.base;
    let scene = Scene::new(base, "ana", "aware").await;
    let mut ana = DocPeer::synced(base, &scene.task_id, &member(&scene, "ana"), 61).await;
    let mut bo = DocPeer::synced(base, &scene.task_id, &member(&scene, "bo"), 62).await;
    ana.send(DocPeer::awareness(61, r#"{"user":{"name":"Ana"}}"#))
        .await;
    bo.pump(SETTLE).await;
    assert!(
        bo.heard.contains(&Heard::Awareness(vec![(
            61,
            r#"{"user":{"name":"Ana"}}"#.into()
        )])),
        "{:?}",
        bo.heard
    );
    // A newcomer gets everyone's state on connect.
    let mut cy = DocPeer::synced(base, &scene.task_id, &member(&scene, "cy"), 63).await;
    assert!(cy
        .heard
        .iter()
        .any(|h| matches!(h, Heard::Awareness(states) if states.iter().any(|(id, _)| *id == 61))));
    // Bo cannot speak for Ana's client id.
    bo.send(DocPeer::awareness(61, r#"{"user":{"name":"Eve"}}"#))
        .await;
    assert_eq!(bo.wait_for_close(LONG).await, close::NOT_YOURS);
    // Ana leaves: the others hear her state end.
    ana.close().await;
    cy.pump(Duration::from_secs(1)).await;
    assert!(
        cy.heard
            .contains(&Heard::Awareness(vec![(61, "null".into())])),
        "{:?}",
        cy.heard
    );
}

pub async fn a_viewer_reads_but_cannot_write(ctx: &'static Ctx) {
    let base = &ctx.server.base;
    let scene = Scene::new(base, "ana", "watched").await;
    let mut ana = DocPeer::synced(base, &scene.task_id, &member(&scene, "ana"), 71).await;
    let viewer_token = token("vic", Role::Viewer, &scene.workspace);
    let mut vic = DocPeer::synced(base, &scene.task_id, &viewer_token, 72).await;
    ana.append("live for all").await;
    vic.wait_for_text("live for all", LONG).await;
    vic.append(" graffiti").await;
    vic.pump(SETTLE).await;
    assert!(
        vic.heard
            .iter()
            .any(|h| matches!(h, Heard::Denied(reason) if reason.contains("viewers"))),
        "{:?}",
        vic.heard
    );
    assert!(vic.closed.is_none(), "a viewer stays to watch");
    ana.pump(SETTLE).await;
    assert_eq!(
        ana.text(),
        "live for all",
        "the viewer's edit was not applied"
    );
}

pub async fn the_checks_before_the_upgrade_are_the_rooms(ctx: &'static Ctx) {
    let base = &ctx.server.base;
    let scene = Scene::new(base, "ana", "checked").await;
    let who = member(&scene, "ana");
    let refused = |result: Result<DocPeer, u16>| result.err();
    assert_eq!(
        refused(DocPeer::connect(base, &scene.task_id, "nope", 1).await),
        Some(401)
    );
    assert_eq!(
        refused(DocPeer::connect(base, "not-a-task", &who, 1).await),
        Some(404)
    );
    let stranger = token("ana", Role::Member, &unique_workspace());
    assert_eq!(
        refused(DocPeer::connect(base, &scene.task_id, &stranger, 1).await),
        Some(404),
        "another workspace's task is not found"
    );
    let plain = scene
        .api
        .get(&format!("/ws/tasks/{}/doc", scene.task_id))
        .await;
    plain.expect_problem(426);
    // The browser's way: the bearer subprotocol beside ours, which the server selects.
    let (_, selected) = crate::harness::Socket::open_with_protocols(
        base,
        &format!("/ws/tasks/{}/doc", scene.task_id),
        &format!("hero-tasks.doc.v1, bearer.{who}"),
    )
    .await
    .expect("the upgrade is accepted");
    assert_eq!(selected.as_deref(), Some("hero-tasks.doc.v1"));
}

pub async fn a_burst_of_typing_is_one_activity_entry(ctx: &'static Ctx) {
    let base = &ctx.server.base;
    let scene = Scene::new(base, "ana", "bursty").await;
    let mut ana = DocPeer::synced(base, &scene.task_id, &member(&scene, "ana"), 81).await;
    let mut bo = DocPeer::synced(base, &scene.task_id, &member(&scene, "bo"), 82).await;
    ana.append("one").await;
    ana.pump(SETTLE).await;
    wait_for_d1(&scene.api, &scene.task_id, "one").await;
    bo.pump(SETTLE).await;
    bo.append(" two").await;
    bo.pump(SETTLE).await;
    wait_for_d1(&scene.api, &scene.task_id, "one two").await;
    let activity = scene
        .api
        .get(&format!("/api/tasks/{}/activity", scene.task_id))
        .await
        .expect(200)
        .body;
    let entries = activity["activity"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "the burst and the create: {activity}");
    let burst = &entries[0];
    assert_eq!(burst["actor"]["name"], "ANA and BO", "{burst}");
    let editors: Vec<&str> = burst["editors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(editors, ["ana", "bo"]);
}

pub async fn a_room_killed_mid_typing_loses_nothing_anyone_saw(ctx: &'static Ctx) {
    let base = &ctx.server.base;
    let scene = Scene::new(base, "ana", "crash").await;
    let mut ana = DocPeer::synced(base, &scene.task_id, &member(&scene, "ana"), 91).await;
    let mut bo = DocPeer::synced(base, &scene.task_id, &member(&scene, "bo"), 92).await;
    for word in ["never ", "lose ", "a ", "word"] {
        ana.append(word).await;
    }
    // What Bo has seen, the server relayed: it was stored first.
    bo.wait_for_text("never lose a word", LONG).await;
    ctx.server.kill();
    ctx.server.restart();
    let fresh = DocPeer::synced(base, &scene.task_id, &member(&scene, "cy"), 93).await;
    assert_eq!(fresh.text(), "never lose a word");
}
