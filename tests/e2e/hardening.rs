//! Hardening against the real dev server: forged tokens on REST and WebSocket, abusive
//! WebSocket clients next to a well-behaved one whose latency is measured, and a crash in
//! the middle of a stream of writes.

use std::time::{Duration, Instant};

use hero_core::auth::Role;
use serde_json::{json, Value};

use crate::harness::{
    join_room, raw_token, token, unique_workspace, Api, Scene, Socket, TEST_SECRET,
};
use crate::Ctx;

register! {
    Shared: [
        forged_and_broken_tokens_are_refused_everywhere,
        abusive_frames_get_errors_and_bystanders_keep_up,
        a_flood_is_limited_and_bystanders_keep_up,
        connection_churn_leaves_presence_right,
        a_client_that_never_reads_does_not_hold_up_others,
    ],
    Exclusive: [a_crash_mid_stream_loses_no_acknowledged_write],
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Valid claims for the server's project (so each case fails only by what it breaks).
fn claims(ctx: &Ctx, workspace: &str) -> Value {
    json!({
        "sub": "mallory",
        "iss": ctx.server.jwks.issuer(),
        "aud": "authenticated",
        "exp": now() + 600,
        "iat": now(),
        "app_metadata": {"workspace_id": workspace}
    })
}

/// Every kind of bad token is a 401 on REST and on the WebSocket upgrade, and no error body
/// echoes the token.
pub async fn forged_and_broken_tokens_are_refused_everywhere(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let owner = Api::new(
        &ctx.server.base,
        Some(token("owner", Role::Member, &workspace)),
    );
    let task = owner.create(json!({"title": "guarded"})).await;
    let task_id = task["id"].as_str().unwrap();
    let secret = TEST_SECRET.as_bytes();
    let hs256 = json!({"alg": "HS256", "typ": "JWT"});
    let mut no_sub = claims(ctx, &workspace);
    no_sub.as_object_mut().unwrap().remove("sub");
    let mut not_yet = claims(ctx, &workspace);
    not_yet["nbf"] = json!(now() + 3600);
    let mut expired = claims(ctx, &workspace);
    expired["exp"] = json!(now() - 3600);
    let valid = raw_token(&hs256, &claims(ctx, &workspace), Some(secret));
    let mut forged = valid.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let cases: Vec<(&str, String)> = vec![
        ("forged signature", forged),
        (
            "wrong secret",
            raw_token(
                &hs256,
                &claims(ctx, &workspace),
                Some(b"not-the-secret-not-the-secret-!!"),
            ),
        ),
        (
            "alg none",
            raw_token(&json!({"alg": "none"}), &claims(ctx, &workspace), None),
        ),
        (
            "alg none, signed",
            raw_token(
                &json!({"alg": "none"}),
                &claims(ctx, &workspace),
                Some(secret),
            ),
        ),
        (
            "RS256 header",
            raw_token(
                &json!({"alg": "RS256"}),
                &claims(ctx, &workspace),
                Some(secret),
            ),
        ),
        (
            "HS384 header",
            raw_token(
                &json!({"alg": "HS384"}),
                &claims(ctx, &workspace),
                Some(secret),
            ),
        ),
        ("expired", raw_token(&hs256, &expired, Some(secret))),
        ("not yet valid", raw_token(&hs256, &not_yet, Some(secret))),
        ("missing sub", raw_token(&hs256, &no_sub, Some(secret))),
    ];
    for (case, bad) in &cases {
        let api = Api::new(&ctx.server.base, Some(bad.clone()));
        for reply in [
            api.get("/api/tasks").await,
            api.get(&format!("/api/tasks/{task_id}")).await,
            api.post("/api/tasks", &json!({"title": "x"})).await,
            api.patch(
                &format!("/api/tasks/{task_id}"),
                &json!({"title": "x"}),
                None,
            )
            .await,
            api.delete(&format!("/api/tasks/{task_id}"), None).await,
        ] {
            let reply = reply.expect_problem(401);
            assert!(
                !reply.text.contains(bad.as_str()),
                "{case}: the body echoes the token"
            );
        }
        for path in [
            format!("/ws/tasks/{task_id}?token={bad}"),
            format!("/ws/board?token={bad}"),
        ] {
            assert_eq!(
                Socket::open(&ctx.server.base, &path).await.err(),
                Some(401),
                "{case}: {path}"
            );
        }
    }
    // the control: the same claims, properly signed, work
    Api::new(&ctx.server.base, Some(valid))
        .get("/api/tasks")
        .await
        .expect(200);
    let still = owner
        .get(&format!("/api/tasks/{task_id}"))
        .await
        .expect(200);
    assert_eq!(still.body["version"], 1, "no forged write landed");
}

/// Measures a bystander's ping round trips while `abuse` runs, and checks it never waits
/// long: a bad client must not disturb the others.
struct Bystander {
    socket: Socket,
    worst: Duration,
    samples: usize,
}

impl Bystander {
    async fn join(ctx: &Ctx, workspace: &str, task_id: &str) -> Bystander {
        let who = token("bystander", Role::Member, workspace);
        let (socket, _) = join_room(&ctx.server.base, &format!("/ws/tasks/{task_id}"), &who).await;
        Bystander {
            socket,
            worst: Duration::ZERO,
            samples: 0,
        }
    }

    async fn ping(&mut self) {
        let started = Instant::now();
        self.samples += 1;
        self.socket
            .send_json(&json!({"type": "ping", "id": self.samples}))
            .await;
        loop {
            let message = self.socket.expect("pong").await;
            if message["id"] == self.samples {
                break;
            }
        }
        self.worst = self.worst.max(started.elapsed());
    }

    fn assert_undisturbed(&self, what: &str) {
        println!(
            "bystander during {what}: {} pings, worst round trip {:?}",
            self.samples, self.worst
        );
        assert!(self.samples > 0);
        assert!(
            self.worst < Duration::from_secs(3),
            "{what}: a bystander waited {:?}",
            self.worst
        );
    }
}

async fn abuser(ctx: &Ctx, workspace: &str, task_id: &str, name: &str) -> Socket {
    let who = token(name, Role::Member, workspace);
    join_room(&ctx.server.base, &format!("/ws/tasks/{task_id}"), &who)
        .await
        .0
}

pub async fn abusive_frames_get_errors_and_bystanders_keep_up(ctx: &'static Ctx) {
    let Scene {
        workspace, task_id, ..
    } = Scene::new(&ctx.server.base, "owner", "abuse").await;
    let mut bystander = Bystander::join(ctx, &workspace, &task_id).await;

    // not JSON, binary, deeply nested
    let mut bad = abuser(ctx, &workspace, &task_id, "garbler").await;
    bad.send_text("\u{0}\u{1}garbage").await;
    assert_eq!(bad.expect("error").await["code"], "bad_json");
    bystander.ping().await;
    bad.send_binary(vec![0xff; 64]).await;
    assert_eq!(bad.expect("error").await["code"], "binary_unsupported");
    let deep = format!("{}{}", "[".repeat(900), "]".repeat(900));
    bad.send_text(&deep).await;
    assert_eq!(
        bad.expect("error").await["code"],
        "bad_json",
        "nesting beyond serde's limit"
    );
    bystander.ping().await;

    // a 1 MB frame closes that socket with 1009
    bad.send_text(&"x".repeat(1_000_000)).await;
    assert_eq!(bad.expect_close().await, 1009);
    bystander.ping().await;
    bystander.assert_undisturbed("garbage frames");
}

pub async fn a_flood_is_limited_and_bystanders_keep_up(ctx: &'static Ctx) {
    let Scene {
        workspace, task_id, ..
    } = Scene::new(&ctx.server.base, "owner", "flood").await;
    let mut bystander = Bystander::join(ctx, &workspace, &task_id).await;
    let mut flooder = abuser(ctx, &workspace, &task_id, "flooder").await;
    let flood = tokio::spawn(async move {
        let mut sent = 0;
        for i in 0..5000 {
            if !flooder
                .try_send_json(&json!({"type": "ping", "id": i}))
                .await
            {
                break;
            }
            sent += 1;
        }
        let mut limited = false;
        let mut closed = None;
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            match flooder.next_within(Duration::from_secs(2)).await {
                Some(Ok(message)) => limited |= message["code"] == "rate_limited",
                Some(Err(code)) => {
                    closed = Some(code);
                    break;
                }
                None => break,
            }
        }
        (sent, limited, closed)
    });
    for _ in 0..10 {
        bystander.ping().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (sent, limited, closed) = flood.await.unwrap();
    println!("flood: sent {sent}, rate_limited seen: {limited}, closed: {closed:?}");
    assert!(limited, "the flooder was told it is rate limited");
    assert!(closed.is_none() || closed == Some(1008), "{closed:?}");
    bystander.ping().await;
    bystander.assert_undisturbed("a 5,000-message flood");
}

pub async fn connection_churn_leaves_presence_right(ctx: &'static Ctx) {
    let Scene {
        workspace, task_id, ..
    } = Scene::new(&ctx.server.base, "owner", "churn").await;
    let mut bystander = Bystander::join(ctx, &workspace, &task_id).await;
    let started = Instant::now();
    let mut welcomed = 0;
    let mut full = 0;
    // Many clients come and go, four connects each: one user connecting 200 times a
    // minute would be refused (4029), which `one_user_cannot_fill_a_room` covers.
    for round in 0..50 {
        let churner = token(&format!("churner-{round}"), Role::Member, &workspace);
        let mut batch = Vec::new();
        for _ in 0..4 {
            let base = ctx.server.base.clone();
            let path = format!("/ws/tasks/{task_id}?token={churner}");
            batch.push(tokio::spawn(async move {
                let mut socket = Socket::open(&base, &path).await.unwrap();
                let first = socket.next_within(Duration::from_secs(10)).await;
                socket.close().await;
                first
            }));
        }
        for handle in batch {
            match handle.await.unwrap() {
                Some(Ok(message)) if message["type"] == "welcome" => welcomed += 1,
                Some(Err(1013)) => full += 1,
                other => panic!("churn connection got {other:?}"),
            }
        }
        if round % 10 == 0 {
            bystander.ping().await;
        }
    }
    println!(
        "churn: 200 connects in {:?} ({welcomed} welcomed, {full} room full)",
        started.elapsed()
    );
    assert_eq!(welcomed + full, 200);
    bystander.assert_undisturbed("connection churn");
    // once the churner's grace period is over, only the bystander is present
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let who = token("late", Role::Member, &workspace);
        let (mut probe, welcome) = {
            let mut socket = Socket::open(
                &ctx.server.base,
                &format!("/ws/tasks/{task_id}?token={who}"),
            )
            .await
            .unwrap();
            let welcome = socket.expect("welcome").await;
            (socket, welcome)
        };
        let users: Vec<String> = welcome["presence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["user"]["id"].as_str().unwrap().to_owned())
            .collect();
        probe.send_text("{}").await;
        probe.close().await;
        if users == ["bystander", "late"] {
            break;
        }
        assert!(Instant::now() < deadline, "presence after churn: {users:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub async fn a_client_that_never_reads_does_not_hold_up_others(ctx: &'static Ctx) {
    let Scene {
        workspace,
        api,
        task_id,
    } = Scene::new(&ctx.server.base, "owner", "slow reader").await;
    let mut bystander = Bystander::join(ctx, &workspace, &task_id).await;
    let sleeper = abuser(ctx, &workspace, &task_id, "sleeper").await; // never read again
    let big = "d".repeat(9_000);
    let path = format!("/api/tasks/{task_id}");
    let mut received = 0;
    for i in 0..60 {
        api.patch(&path, &json!({"description": format!("{i}{big}")}), None)
            .await
            .expect(200);
        let event = bystander.socket.expect("task_updated").await;
        assert!(event["task"]["description"]
            .as_str()
            .unwrap()
            .starts_with(&i.to_string()));
        received += 1;
    }
    assert_eq!(received, 60, "the bystander got every event");
    bystander.ping().await;
    bystander.assert_undisturbed("a client that never reads");
    drop(sleeper);
}

/// Kill -9 in the middle of a stream of writes, restart on the same state: every write that
/// got a 2xx is there, every task's history matches its version (nothing half-written, no
/// orphan events), and a client resumes without a gap.
pub async fn a_crash_mid_stream_loses_no_acknowledged_write(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = Api::new(
        &ctx.server.base,
        Some(token("writer", Role::Member, &workspace)),
    );
    let watched = api.create(json!({"title": "watched"})).await;
    let watched_id = watched["id"].as_str().unwrap().to_owned();
    let who = token("watcher", Role::Member, &workspace);
    let mut watcher = Socket::open(
        &ctx.server.base,
        &format!("/ws/tasks/{watched_id}?token={who}"),
    )
    .await
    .unwrap();
    let mut last_seq = watcher.expect("welcome").await["seq"].as_u64().unwrap();

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..3 {
        let api = api.clone();
        let stop = stop.clone();
        let watched_id = watched_id.clone();
        writers.push(tokio::spawn(async move {
            let mut acknowledged: Vec<(String, i64)> = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let request = if i % 2 == 0 {
                    api.request(reqwest::Method::POST, "/api/tasks")
                        .json(&json!({"title": format!("w{w}-{i}")}))
                } else {
                    api.request(reqwest::Method::PATCH, &format!("/api/tasks/{watched_id}"))
                        .json(&json!({"description": format!("w{w}-{i}")}))
                };
                match request.timeout(Duration::from_secs(5)).send().await {
                    Ok(response) if response.status().is_success() => {
                        let task: Value = response.json().await.unwrap_or(Value::Null);
                        if let (Some(id), Some(version)) =
                            (task["id"].as_str(), task["version"].as_i64())
                        {
                            acknowledged.push((id.to_owned(), version));
                        }
                    }
                    _ => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
            acknowledged
        }));
    }
    // let the watcher follow along until the crash
    let crash_at = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < crash_at {
        if let Some(Ok(message)) = watcher.next_within(Duration::from_millis(100)).await {
            if let Some(seq) = message["seq"].as_u64() {
                assert_eq!(seq, last_seq + 1, "live events are contiguous");
                last_seq = seq;
            }
        }
    }
    ctx.server.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    ctx.server.restart();
    assert!(
        acknowledged.len() > 5,
        "the writers got going ({})",
        acknowledged.len()
    );

    // every acknowledged write is there
    let mut highest: std::collections::HashMap<String, i64> = Default::default();
    for (id, version) in &acknowledged {
        let entry = highest.entry(id.clone()).or_default();
        *entry = (*entry).max(*version);
    }
    for (id, version) in &highest {
        let task = api.get(&format!("/api/tasks/{id}")).await.expect(200).body;
        assert!(
            task["version"].as_i64().unwrap() >= *version,
            "task {id} lost an acknowledged write"
        );
        // its history has exactly one record per version: nothing half-written, no orphans
        let history = api
            .get(&format!("/api/tasks/{id}/activity?limit=200"))
            .await
            .expect(200)
            .body;
        let mut versions: Vec<i64> = history["activity"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["version"].as_i64().unwrap())
            .collect();
        versions.sort_unstable();
        let expected: Vec<i64> = (1..=task["version"].as_i64().unwrap()).collect();
        assert_eq!(
            versions, expected,
            "task {id}: history and version disagree"
        );
    }
    // the watcher resumes from its last seq: no gap, no repeat (or an explicit resync)
    let mut resumed = Socket::open(
        &ctx.server.base,
        &format!("/ws/tasks/{watched_id}?token={who}&since={last_seq}"),
    )
    .await
    .unwrap();
    let welcome = resumed.expect("welcome").await;
    if welcome["resumed"] == true {
        let replayed = welcome["replayed"].as_u64().unwrap();
        let mut seq = last_seq;
        for _ in 0..replayed {
            let message = loop {
                let message = resumed
                    .next_within(Duration::from_secs(10))
                    .await
                    .unwrap()
                    .unwrap();
                if message["seq"].is_u64() {
                    break message;
                }
            };
            assert_eq!(message["seq"].as_u64().unwrap(), seq + 1);
            seq += 1;
        }
        assert_eq!(seq, welcome["seq"].as_u64().unwrap());
    } else {
        resumed.expect("resync").await;
    }
    let final_task = api
        .get(&format!("/api/tasks/{watched_id}"))
        .await
        .expect(200)
        .body;
    let history = api
        .get(&format!("/api/tasks/{watched_id}/activity?limit=200"))
        .await
        .expect(200)
        .body;
    assert_eq!(history["activity"][0]["version"], final_task["version"]);
}
