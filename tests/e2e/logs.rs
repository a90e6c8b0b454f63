//! Structured logs from the real dev server: one JSON object per line, tied to requests by
//! id from the Worker through the rooms, with room events, and never a token.

use std::time::{Duration, Instant};

use hero_core::auth::Role;
use serde_json::{json, Value};

use crate::harness::{token, unique_workspace, Api, Scene, Socket};
use crate::Ctx;

register! {
    Shared: [
        a_request_id_ties_the_response_to_worker_and_room_logs,
        rate_limited_clients_leave_a_room_event,
        no_log_line_carries_a_token,
    ],
}

/// The worker's JSON log lines so far. wrangler dev prints console.warn / console.error
/// output behind a coloured "▲ [WARNING]" marker, so the object is taken from the first `{`
/// to the last `}`; wrangler's own lines are skipped.
fn json_lines(ctx: &Ctx) -> Vec<Value> {
    ctx.server
        .log()
        .lines()
        .filter_map(|line| {
            let start = line.find("{\"")?;
            let end = line.rfind('}')?;
            serde_json::from_str(line.get(start..=end)?).ok()
        })
        .collect()
}

/// Waits until `found` holds for the log lines, and returns the matching ones.
async fn wait_for_lines(ctx: &Ctx, what: &str, found: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines: Vec<Value> = json_lines(ctx)
            .into_iter()
            .filter(|line| found(line))
            .collect();
        if !lines.is_empty() {
            return lines;
        }
        if Instant::now() > deadline {
            let log = ctx.server.log();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            panic!(
                "no log line for {what}; the log ends with:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn a_request_id_ties_the_response_to_worker_and_room_logs(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = Api::new(
        &ctx.server.base,
        Some(token("ana", Role::Member, &workspace)),
    );
    let reply = api
        .post("/api/tasks", &json!({"title": "traced"}))
        .await
        .expect(201);
    let request_id = reply
        .header("x-request-id")
        .expect("X-Request-Id header")
        .to_owned();
    let task_id = reply.body["id"].as_str().unwrap().to_owned();

    let lines = wait_for_lines(ctx, "the request", |l| {
        l["request_id"] == request_id.as_str() && l["msg"] == "request"
    })
    .await;
    let request = &lines[0];
    assert_eq!(request["level"], "info");
    assert_eq!(request["route"], "create_task");
    assert_eq!(request["status"], 201);
    assert_eq!(request["user_id"], "ana");
    assert!(request["duration_ms"].is_u64());
    // A create reaches the board; an update goes through the task's room, which tells the
    // board in turn: the id follows the request into every room it reaches.
    let rooms_of = |request_id: String| async move {
        wait_for_lines(ctx, "the rooms", |l| {
            l["request_id"] == request_id.as_str() && l["room"].is_string()
        })
        .await
        .iter()
        .map(|l| l["room"].as_str().unwrap().to_owned())
        .collect::<Vec<String>>()
    };
    let rooms = rooms_of(request_id).await;
    assert!(rooms.contains(&format!("board:{workspace}")), "{rooms:?}");
    let patched = api
        .patch(
            &format!("/api/tasks/{task_id}"),
            &json!({"title": "traced again"}),
            None,
        )
        .await
        .expect(200);
    let patch_id = patched.header("x-request-id").unwrap().to_owned();
    let task_room = format!("task:{workspace}:{task_id}");
    let board = format!("board:{workspace}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rooms = rooms_of(patch_id.clone()).await;
        if rooms.contains(&task_room) && rooms.contains(&board) {
            break;
        }
        assert!(Instant::now() < deadline, "{rooms:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // an error's body names its request id, and so does its log line
    let missing = api
        .get(&format!("/api/tasks/{}", uuid::Uuid::new_v4()))
        .await
        .expect_problem(404);
    let id = missing.header("x-request-id").unwrap().to_owned();
    assert_eq!(missing.body["request_id"], id.as_str());
    let lines = wait_for_lines(ctx, "the 404", |l| l["request_id"] == id.as_str()).await;
    assert_eq!(lines[0]["status"], 404);
    assert_eq!(lines[0]["route"], "get_task");
}

pub async fn rate_limited_clients_leave_a_room_event(ctx: &'static Ctx) {
    let scene = Scene::new(&ctx.server.base, "flooder", "noisy").await;
    let task_id = scene.task_id.clone();
    let (mut socket, _) = scene.join(&ctx.server.base, "flooder").await;
    for i in 0..15 {
        socket.send_json(&json!({"type": "ping", "id": i})).await;
    }
    socket.expect("error").await;
    let room = format!("task:{}:{task_id}", scene.workspace);
    let lines = wait_for_lines(ctx, "rate_limited", |l| {
        l["event"] == "rate_limited" && l["room"] == room.as_str()
    })
    .await;
    assert_eq!(lines[0]["level"], "warn");
    assert_eq!(lines[0]["user_id"], "flooder");
    assert!(lines[0]["connection_id"].is_string());
    let connected = wait_for_lines(ctx, "connected", |l| {
        l["event"] == "connected" && l["room"] == room.as_str()
    })
    .await;
    assert_eq!(connected[0]["user_id"], "flooder");
    socket.close().await;
    wait_for_lines(ctx, "disconnected", |l| {
        l["event"] == "disconnected" && l["room"] == room.as_str()
    })
    .await;
}

pub async fn no_log_line_carries_a_token(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let secret_token = token("quiet", Role::Member, &workspace);
    let api = Api::new(&ctx.server.base, Some(secret_token.clone()));
    let task_id = api.create(json!({"title": "hush"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    api.get("/api/tasks").await.expect(200);
    let mut socket = Socket::open(
        &ctx.server.base,
        &format!("/ws/tasks/{task_id}?token={secret_token}"),
    )
    .await
    .unwrap();
    socket.expect("welcome").await;
    socket.close().await;
    let forged = format!("{secret_token}x");
    Api::new(&ctx.server.base, Some(forged.clone()))
        .get("/api/tasks")
        .await
        .expect_problem(401);
    assert_eq!(
        Socket::open(&ctx.server.base, &format!("/ws/board?token={forged}"))
            .await
            .err(),
        Some(401)
    );
    // let the lines land, then look at everything the server printed, ours and wrangler's
    wait_for_lines(ctx, "the last request", |l| {
        l["status"] == 401 && l["route"] == "board_socket"
    })
    .await;
    let log = ctx.server.log();
    assert!(!log.contains(&secret_token), "a token reached the logs");
    // no JWT at all, from any test: every token starts with a base64url JSON header
    assert!(!log.contains("eyJhbGciOi"), "a JWT reached the logs");
}
