//! What one user, or one request, may do, and what they may not: a room full of one user's
//! sockets, typing that repeats itself, typing on the board, a body that never ends, a
//! deleted task's contents lingering on the board, and the headers that keep browsers and
//! caches from mishandling what the server sends.

use std::time::{Duration, Instant};

use hero_core::auth::Role;
use serde_json::{json, Value};

use crate::harness::{join_room, token, unique_workspace, Api, Scene, Socket};
use crate::Ctx;

register! {
    Shared: [
        one_user_cannot_fill_a_room,
        repeated_typing_is_not_rebroadcast_and_the_board_refuses_it,
        a_huge_chunked_body_is_refused_before_it_is_read,
        responses_carry_security_headers,
        a_deleted_tasks_contents_leave_the_board,
    ],
}

pub async fn one_user_cannot_fill_a_room(ctx: &'static Ctx) {
    let scene = Scene::new(&ctx.server.base, "owner", "crowded").await;
    let hog = token("hog", Role::Viewer, &scene.workspace);
    let path = format!("/ws/tasks/{}?token={hog}", scene.task_id);
    // the e2e server caps a room at 8 sockets; the per-user cap (10) is higher, so a user
    // is held back by the connects-per-minute cap (30) as well: fill one socket at a time
    let mut held = Vec::new();
    let mut refused = None;
    for _ in 0..40 {
        let mut socket = Socket::open(&ctx.server.base, &path).await.unwrap();
        match socket.next_within(Duration::from_secs(10)).await {
            Some(Ok(message)) if message["type"] == "welcome" => held.push(socket),
            Some(Err(code)) => {
                refused = Some(code);
                if code == 4029 {
                    break;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
        // keep at most 4 open, so the room never fills: what stops the hog is its own cap
        if held.len() > 4 {
            held.remove(0).close().await;
        }
    }
    assert_eq!(refused, Some(4029), "the hog is refused on its own account");
    // someone else still gets in at once
    let (mut other, _) = scene.join(&ctx.server.base, "bystander").await;
    other.send_json(&json!({"type": "ping", "id": 1})).await;
    assert_eq!(other.expect("pong").await["id"], 1);
    other.close().await;
    for socket in held {
        socket.close().await;
    }
}

pub async fn repeated_typing_is_not_rebroadcast_and_the_board_refuses_it(ctx: &'static Ctx) {
    let scene = Scene::new(&ctx.server.base, "ana", "chatty").await;
    let (mut ana, _) = scene.join(&ctx.server.base, "ana").await;
    let (mut bob, _) = scene.join(&ctx.server.base, "bob").await;
    ana.expect("user_joined").await;
    for _ in 0..5 {
        ana.send_json(&json!({"type": "typing", "field": "title", "active": true}))
            .await;
    }
    let seen: Vec<Value> = bob
        .collect_for(Duration::from_millis(800))
        .await
        .into_iter()
        .filter(|m| m["type"] == "typing")
        .collect();
    assert_eq!(
        seen.len(),
        1,
        "five identical frames, one broadcast: {seen:?}"
    );
    let who = token("ana", Role::Member, &scene.workspace);
    let (mut board, _) = join_room(&ctx.server.base, "/ws/board", &who).await;
    for frame in [
        json!({"type": "typing", "field": "title", "active": true, "id": "t"}),
        json!({"type": "editing", "field": "title", "id": "e"}),
    ] {
        board.send_json(&frame).await;
        let error = board.expect("error").await;
        assert_eq!(error["code"], "wrong_room");
        assert_eq!(error["id"], frame["id"]);
    }
    for socket in [ana, bob, board] {
        socket.close().await;
    }
}

pub async fn a_huge_chunked_body_is_refused_before_it_is_read(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = Api::new(
        &ctx.server.base,
        Some(token("ana", Role::Member, &workspace)),
    );
    // 90 MB, sent in chunks with no Content-Length: the server must stop at 256 KiB.
    //
    // wrangler dev's proxy sometimes turns the early 413 into its own 503 ("Your worker
    // restarted mid-request"): it is still uploading when workerd answers and closes, and
    // reports the broken upload instead of the answer, or resets the connection before any
    // answer. That is the local proxy, not the Worker, so those two are retried (four times
    // at most: three 503s in a row happened once in a full run on a loaded machine);
    // anything else fails at once.
    const ATTEMPTS: usize = 5;
    for attempt in 1..=ATTEMPTS {
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = sent.clone();
        let chunks = futures::stream::iter((0..90 * 16).map(move |_| {
            counter.fetch_add(64 * 1024, std::sync::atomic::Ordering::Relaxed);
            Ok::<_, std::io::Error>(vec![b' '; 64 * 1024])
        }));
        let started = Instant::now();
        let answer = api
            .request(reqwest::Method::POST, "/api/tasks")
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await;
        let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            sent < 90 * 1024 * 1024,
            "the server read the whole body first"
        );
        let response = match answer {
            Ok(response) => response,
            Err(error) if attempt < ATTEMPTS => {
                println!("attempt {attempt}: no answer ({error}); again");
                continue;
            }
            Err(error) => panic!("no answer in {ATTEMPTS} attempts: {error}"),
        };
        let status = response.status().as_u16();
        // The server answers and closes while the upload is still going, so the kernel may
        // reset the connection before the answer's body arrives: the status line is the
        // answer, and the body is checked when it made it.
        let text = response.text().await.unwrap_or_default();
        if status == 503 && text.contains("restarted mid-request") && attempt < ATTEMPTS {
            println!("attempt {attempt}: wrangler dev's proxy answered 503; again");
            continue;
        }
        assert_eq!(status, 413, "{text}");
        if !text.is_empty() {
            let problem: Value = serde_json::from_str(&text).expect("problem+json");
            assert_eq!(problem["status"], 413, "{text}");
        }
        println!(
            "413 after {:?}, {} KiB offered of 92,160",
            started.elapsed(),
            sent / 1024
        );
        return;
    }
}

pub async fn responses_carry_security_headers(ctx: &'static Ctx) {
    let api = Api::new(
        &ctx.server.base,
        Some(token("ana", Role::Member, &unique_workspace())),
    );
    for reply in [
        api.get("/api/tasks").await.expect(200),
        api.get("/api/tasks/nope").await.expect_problem(404),
    ] {
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    }
    let page = Api::new(&ctx.server.base, None).get("/").await.expect(200);
    let csp = page
        .header("content-security-policy")
        .expect("a CSP on the UI");
    for directive in [
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("unsafe-inline") || !csp.contains("script-src 'unsafe-inline'"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(page.header("referrer-policy").is_some());
}

pub async fn a_deleted_tasks_contents_leave_the_board(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let who = token("ana", Role::Admin, &workspace);
    let api = Api::new(&ctx.server.base, Some(who.clone()));
    let (mut board, welcome) = join_room(&ctx.server.base, "/ws/board", &who).await;
    let since = welcome["seq"].as_u64().unwrap();
    let secret = api
        .create(json!({"title": "salary review", "description": "the numbers"}))
        .await;
    let kept = api.create(json!({"title": "lunch"})).await;
    let path = format!("/api/tasks/{}", secret["id"].as_str().unwrap());
    api.patch(&path, &json!({"status": "done"}), None)
        .await
        .expect(200);
    api.delete(&path, None).await.expect(204);
    board.expect("task_deleted").await;
    board.close().await;
    // a replay of the board's log keeps every seq, but nothing of the deleted task
    let (mut replay, welcome) =
        join_room(&ctx.server.base, &format!("/ws/board?since={since}"), &who).await;
    let replayed = welcome["replayed"].as_u64().unwrap();
    assert_eq!(replayed, 5, "created ×2, updated, status changed, deleted");
    let mut events = Vec::new();
    while (events.len() as u64) < replayed {
        let message = replay
            .next_within(Duration::from_secs(10))
            .await
            .unwrap()
            .unwrap();
        if message["seq"].is_u64() {
            events.push(message);
        }
    }
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (since + 1..=since + 5).collect::<Vec<_>>(),
        "seqs stay contiguous"
    );
    let text = serde_json::to_string(&events).unwrap();
    assert!(
        !text.contains("salary") && !text.contains("the numbers"),
        "{text}"
    );
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "task_redacted").count(),
        3,
        "{kinds:?}"
    );
    assert!(text.contains("lunch"), "the other task is untouched");
    assert_eq!(events.last().unwrap()["type"], "task_deleted");
    assert_eq!(kept["title"], "lunch");
    replay.close().await;
}
