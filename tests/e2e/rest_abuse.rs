//! What a hostile client tries on the REST API and the token path, inside every documented
//! limit (issue 23): error bodies it can blow up, text that displays as something else,
//! JSON that two parsers read differently, ids that leak other tenants' activity, a token
//! that has expired but is still within the clock-skew leeway, and HEAD.

use std::time::Duration;

use hero_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{join_room, token, token_with_secret, unique_workspace, Api, Socket};
use crate::harness::{Scene, TEST_SECRET};
use crate::Ctx;

register! {
    Shared: [
        a_body_of_many_unknown_fields_gets_a_bounded_422,
        task_text_refuses_bidi_controls_and_invisible_values,
        tags_are_nfc_and_refuse_zero_width_characters,
        duplicate_keys_are_refused_in_bodies_and_frames,
        head_answers_wherever_get_does,
        activity_ids_count_one_workspace_only,
        an_expired_token_is_refused_before_the_upgrade,
        a_refresh_refuses_an_expired_token_and_never_shortens_a_socket,
    ],
}

fn member(ctx: &Ctx) -> (Api, String) {
    let workspace = unique_workspace();
    let api = Api::new(
        &ctx.server.base,
        Some(token("ana", Role::Member, &workspace)),
    );
    (api, workspace)
}

/// A raw JSON body (one serde_json would never write: repeated keys, 27,000 fields).
async fn send_raw(api: &Api, method: Method, path: &str, body: String) -> crate::harness::Reply {
    api.send(
        api.request(method, path)
            .header("Content-Type", "application/json")
            .body(body),
    )
    .await
}

/// 27,000 unknown fields in a 259 KB body, and one unknown name of 10,000 characters: a
/// short 422 that lists about 20 of them, says how many more there are, and cuts the long
/// name (it used to be a 1.18 MB echo of the body).
pub async fn a_body_of_many_unknown_fields_gets_a_bounded_422(ctx: &'static Ctx) {
    let (api, _) = member(ctx);
    // 27,000 distinct four-character names: "a" and three base-36 digits.
    let digit = |d: u32| char::from_digit(d, 36).unwrap();
    let name = |n: u32| {
        format!(
            "a{}{}{}",
            digit(n / 1296),
            digit(n / 36 % 36),
            digit(n % 36)
        )
    };
    let mut fields: Vec<String> = (0..27_000).map(|n| format!("\"{}\":0", name(n))).collect();
    fields.push(format!("\"{}\":0", "n".repeat(10_000)));
    let body = format!("{{\"title\":\"t\",{}}}", fields.join(","));
    assert!(
        body.len() > 250_000 && body.len() < 256 * 1024,
        "{}",
        body.len()
    );

    let reply = send_raw(&api, Method::POST, "/api/tasks", body)
        .await
        .expect_problem(422);
    assert!(reply.text.len() < 8 * 1024, "{} bytes", reply.text.len());
    let errors = reply.body["errors"].as_array().expect("errors");
    assert!((1..=21).contains(&errors.len()), "{} errors", errors.len());
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(detail.contains("27001"), "{detail}");
    assert!(detail.contains("and 26981 more"), "{detail}");
    for error in errors {
        let field = error["field"].as_str().unwrap();
        assert!(field.chars().count() <= 65, "{} characters", field.len());
    }
    // A long name alone is cut too.
    let long = json!({ "n".repeat(10_000): 1 });
    let reply = api
        .patch(&format!("/api/tasks/{}", uuid::Uuid::new_v4()), &long, None)
        .await;
    assert!(reply.text.len() < 2048, "{}", reply.text);
}

/// Bidi controls anywhere, and values that are nothing but invisible characters, are
/// refused in the title, the tags and the assignee; an invisible joiner inside a title
/// (as in an emoji sequence) is fine.
pub async fn task_text_refuses_bidi_controls_and_invisible_values(ctx: &'static Ctx) {
    let (api, _) = member(ctx);
    let refused = [
        json!({"title": "Invoice \u{202e}fdp.exe"}),
        json!({"title": "\u{2066}hidden\u{2069}"}),
        json!({"title": "a\u{200f}b"}),
        json!({"title": "\u{200b}\u{200b}"}),
        json!({"title": "\u{feff}\u{2060}"}),
        json!({"title": "t", "tags": ["\u{061c}ok"]}),
        json!({"title": "t", "assignee_id": "bob\u{202d}"}),
        json!({"title": "t", "assignee_id": "\u{200c}"}),
    ];
    for body in &refused {
        let reply = api.post("/api/tasks", body).await.expect_problem(422);
        let field = reply.body["errors"][0]["field"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            ["title", "tags", "assignee_id"].contains(&field.as_str()),
            "{body}: {}",
            reply.text
        );
    }
    let task = api
        .create(json!({"title": "👩\u{200d}💻 fix the build"}))
        .await;
    assert_eq!(task["title"], "👩\u{200d}💻 fix the build");
    let path = format!("/api/tasks/{}", task["id"].as_str().unwrap());
    api.patch(&path, &json!({"title": "x\u{202e}y"}), None)
        .await
        .expect_problem(422);
    let listed = api.get("/api/tasks").await.expect(200);
    assert_eq!(listed.body["tasks"].as_array().unwrap().len(), 1);
}

/// `café` in NFC and in NFD is one tag (stored in NFC), and a zero-width character in a
/// tag is refused rather than making `urgent` two tags.
pub async fn tags_are_nfc_and_refuse_zero_width_characters(ctx: &'static Ctx) {
    let (api, _) = member(ctx);
    let task = api
        .create(json!({"title": "t", "tags": ["caf\u{e9}", "cafe\u{301}", "urgent"]}))
        .await;
    assert_eq!(task["tags"], json!(["caf\u{e9}", "urgent"]));
    let path = format!("/api/tasks/{}", task["id"].as_str().unwrap());
    for tag in [
        "urgent\u{200b}",
        "ur\u{200d}gent",
        "\u{feff}urgent",
        "ur\u{2060}gent",
    ] {
        let reply = api
            .patch(&path, &json!({"tags": ["urgent", tag]}), None)
            .await
            .expect_problem(422);
        assert_eq!(reply.body["errors"][0]["field"], "tags", "{tag:?}");
    }
    let patched = api
        .patch(&path, &json!({"tags": ["cafe\u{301}"]}), None)
        .await
        .expect(200);
    assert_eq!(patched.body["tags"], json!(["caf\u{e9}"]));
    let found = api.get("/api/tasks?tag=caf%C3%A9").await.expect(200);
    assert_eq!(found.body["tasks"].as_array().unwrap().len(), 1);
}

/// A repeated key is a 400 in a REST body (a proxy that reads the first one would see
/// another request) and an error frame on a socket; nothing is written.
pub async fn duplicate_keys_are_refused_in_bodies_and_frames(ctx: &'static Ctx) {
    let scene = Scene::new(&ctx.server.base, "ana", "original").await;
    let api = &scene.api;
    let reply = send_raw(
        api,
        Method::POST,
        "/api/tasks",
        r#"{"title":"shown","title":"stored"}"#.into(),
    )
    .await
    .expect_problem(400);
    assert!(reply.body["detail"].as_str().unwrap().contains("title"));
    let path = format!("/api/tasks/{}", scene.task_id);
    send_raw(
        api,
        Method::PATCH,
        &path,
        r#"{"tags":["a"],"status":"done","status":"todo"}"#.into(),
    )
    .await
    .expect_problem(400);
    // Nested objects count too, and a long repeated key is not echoed whole.
    let long = "k".repeat(5_000);
    let reply = send_raw(
        api,
        Method::PATCH,
        &path,
        format!(r#"{{"x":{{"{long}":1,"{long}":2}}}}"#),
    )
    .await
    .expect_problem(400);
    assert!(reply.text.len() < 2048, "{}", reply.text.len());
    let task = api.get(&path).await.expect(200);
    assert_eq!(
        (task.body["title"].as_str(), task.body["version"].as_i64()),
        (Some("original"), Some(1))
    );
    let listed = api.get("/api/tasks").await.expect(200);
    assert_eq!(listed.body["tasks"].as_array().unwrap().len(), 1);

    let (mut socket, _) = scene.join(&ctx.server.base, "ana").await;
    socket.send_text(r#"{"type":"ping","id":1,"id":2}"#).await;
    let answer = socket
        .next_within(Duration::from_secs(10))
        .await
        .expect("an answer")
        .expect("the socket stays open");
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(answer["code"], "bad_message", "{answer}");
    socket.send_text(r#"{"type":"ping","id":3}"#).await;
    assert_eq!(socket.expect("pong").await["id"], 3);
    socket.close().await;
}

/// HEAD gets what GET gets, status and headers, without a body (RFC 9110), on every GET
/// route; and the 405 of another method lists HEAD beside GET.
pub async fn head_answers_wherever_get_does(ctx: &'static Ctx) {
    let (api, _) = member(ctx);
    let task = api.create(json!({"title": "headed"})).await;
    let id = task["id"].as_str().unwrap();
    let missing = uuid::Uuid::new_v4();
    for (path, status) in [
        ("/healthz".to_owned(), 200),
        ("/api/openapi.json".to_owned(), 200),
        ("/api/dev/config".to_owned(), 200),
        ("/api/tasks".to_owned(), 200),
        (format!("/api/tasks/{id}"), 200),
        (format!("/api/tasks/{id}/activity"), 200),
        ("/api/analytics".to_owned(), 200),
        (format!("/api/tasks/{missing}"), 404),
        ("/ws/board".to_owned(), 426),
    ] {
        let get = api.get(&path).await;
        let head = api.send(api.request(Method::HEAD, &path)).await;
        assert_eq!(get.status.as_u16(), status, "GET {path}: {}", get.text);
        assert_eq!(head.status, get.status, "HEAD {path}");
        assert!(head.text.is_empty(), "HEAD {path} has a body");
        for name in ["content-type", "etag", "cache-control", "allow"] {
            assert_eq!(head.header(name), get.header(name), "HEAD {path}: {name}");
        }
    }
    let anonymous = Api::new(&ctx.server.base, None);
    let head = anonymous
        .send(anonymous.request(Method::HEAD, "/api/tasks"))
        .await;
    assert_eq!(head.status.as_u16(), 401);
    assert!(head.header("www-authenticate").is_some());
    let reply = api
        .send(api.request(Method::PUT, &format!("/api/tasks/{id}")))
        .await
        .expect_problem(405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD, PATCH, DELETE"));
}

/// An activity entry's id (and cursor) numbers one workspace's changes, so it says
/// nothing about how much anyone else writes: three changes here are 3, 2 and 1 however
/// many other workspaces wrote in between, and paging by them works.
pub async fn activity_ids_count_one_workspace_only(ctx: &'static Ctx) {
    let (api, _) = member(ctx);
    let (elsewhere, _) = member(ctx);
    let task = api.create(json!({"title": "counted"})).await;
    let path = format!("/api/tasks/{}", task["id"].as_str().unwrap());
    for n in 0..3 {
        elsewhere
            .create(json!({"title": format!("noise {n}")}))
            .await;
    }
    api.patch(&path, &json!({"status": "in_progress"}), None)
        .await
        .expect(200);
    elsewhere.create(json!({"title": "more noise"})).await;
    api.patch(&path, &json!({"priority": "high"}), None)
        .await
        .expect(200);

    let all = api.get(&format!("{path}/activity")).await.expect(200);
    let ids: Vec<i64> = all.body["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [3, 2, 1], "{}", all.text);
    let first = api
        .get(&format!("{path}/activity?limit=1"))
        .await
        .expect(200);
    assert_eq!(first.body["next_cursor"], "3");
    let second = api
        .get(&format!("{path}/activity?limit=1&cursor=3"))
        .await
        .expect(200);
    assert_eq!(second.body["activity"][0]["id"], 2);
    assert_eq!(second.body["activity"][0]["changed"], json!(["status"]));
    let last = api
        .get(&format!("{path}/activity?cursor=2"))
        .await
        .expect(200);
    assert_eq!(last.body["activity"][0]["kind"], "created");
    assert_eq!(last.body["next_cursor"], Value::Null);
}

/// A token that has expired, but only by less than the clock-skew leeway, is refused with
/// a 401 before any upgrade: the task's room, its document and the board.
pub async fn an_expired_token_is_refused_before_the_upgrade(ctx: &'static Ctx) {
    let (api, workspace) = member(ctx);
    let task = api.create(json!({"title": "sealed"})).await;
    let id = task["id"].as_str().unwrap();
    let expired = token_with_secret(
        TEST_SECRET.as_bytes(),
        "ana",
        Role::Member,
        &workspace,
        chrono::Duration::seconds(-5),
    );
    for room in [
        format!("/ws/tasks/{id}"),
        format!("/ws/tasks/{id}/doc"),
        "/ws/board".to_owned(),
    ] {
        let refused = Socket::open(&ctx.server.base, &format!("{room}?token={expired}")).await;
        assert_eq!(refused.err(), Some(401), "{room}");
        let protocols = format!("hero-tasks.v1, bearer.{expired}");
        let refused = Socket::open_with_protocols(&ctx.server.base, &room, &protocols).await;
        assert_eq!(refused.err(), Some(401), "{room} (subprotocol)");
    }
    // The plain HTTP answer says why.
    let reply = Api::new(&ctx.server.base, Some(expired))
        .get(&format!("/ws/tasks/{id}"))
        .await
        .expect_problem(401);
    assert!(reply.body["detail"].as_str().unwrap().contains("expired"));
}

/// A refresh with a token that has expired (within the leeway) gets `bad_token` and
/// changes nothing; one that would end sooner than the socket's current token is
/// acknowledged but keeps the later end: the socket outlives the shorter token.
pub async fn a_refresh_refuses_an_expired_token_and_never_shortens_a_socket(ctx: &'static Ctx) {
    let (api, workspace) = member(ctx);
    let task = api.create(json!({"title": "long session"})).await;
    let id = task["id"].as_str().unwrap();
    let hour = token("ana", Role::Member, &workspace);
    let (mut socket, _) = join_room(&ctx.server.base, &format!("/ws/tasks/{id}"), &hour).await;
    let minted = |seconds| {
        token_with_secret(
            TEST_SECRET.as_bytes(),
            "ana",
            Role::Member,
            &workspace,
            chrono::Duration::seconds(seconds),
        )
    };
    socket
        .send_json(&json!({"type": "auth", "token": minted(-5), "id": 1}))
        .await;
    let error = socket.expect("error").await;
    assert_eq!(
        (error["code"].as_str(), error["id"].as_i64()),
        (Some("bad_token"), Some(1)),
        "{error}"
    );
    socket
        .send_json(&json!({"type": "auth", "token": minted(2), "id": 2}))
        .await;
    assert_eq!(socket.expect("ack").await["id"], 2);
    // Past the short token's end, the socket still holds the hour it had.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    socket.send_json(&json!({"type": "ping", "id": 3})).await;
    let answer = socket
        .next_within(Duration::from_secs(10))
        .await
        .expect("an answer");
    assert_eq!(answer.map(|m| m["type"].clone()), Ok(json!("pong")));
    socket.close().await;
}
