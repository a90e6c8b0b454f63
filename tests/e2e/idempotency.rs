//! `Idempotency-Key` on the real server: a retry gets the first response and commits
//! nothing new, a different request under the same key is a 422, the same key used
//! concurrently commits once, a refused request is not remembered, and one user's keys mean
//! nothing to another.

use futures::future::join_all;
use hero_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{token, unique_workspace, Api, Reply};
use crate::Ctx;

register! {
    Shared: [
        a_retry_gets_the_first_response_and_commits_nothing,
        a_different_request_under_the_same_key_is_refused,
        the_same_key_at_the_same_time_commits_once,
        a_refused_request_is_not_remembered,
        keys_belong_to_one_user_in_one_workspace,
        a_malformed_key_is_a_400,
        one_key_is_one_request_across_every_target,
    ],
    // It writes claims into the dev server's D1 from outside (wrangler d1 execute).
    Exclusive: [a_claim_whose_writer_died_is_released_in_time],
}

const REPLAYED: &str = "idempotent-replayed";

fn user(ctx: &Ctx, name: &str, workspace: &str) -> Api {
    Api::new(&ctx.server.base, Some(token(name, Role::Member, workspace)))
}

fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn keyed(
    api: &Api,
    method: Method,
    path: &str,
    key: &str,
    body: Option<&Value>,
    if_match: Option<&str>,
) -> Reply {
    let mut request = api.request(method, path).header("Idempotency-Key", key);
    if let Some(body) = body {
        request = request.json(body);
    }
    if let Some(version) = if_match {
        request = request.header("If-Match", version);
    }
    api.send(request).await
}

async fn history_len(api: &Api, task_path: &str) -> usize {
    api.get(&format!("{task_path}/activity"))
        .await
        .expect(200)
        .body["activity"]
        .as_array()
        .unwrap()
        .len()
}

pub async fn a_retry_gets_the_first_response_and_commits_nothing(ctx: &'static Ctx) {
    let api = user(ctx, "ana", &unique_workspace());
    let key = new_key();
    let body = json!({"title": "Ship it", "tags": ["launch"]});

    let first = keyed(&api, Method::POST, "/api/tasks", &key, Some(&body), None)
        .await
        .expect(201);
    assert_eq!(first.header(REPLAYED), None);
    let again = keyed(&api, Method::POST, "/api/tasks", &key, Some(&body), None)
        .await
        .expect(201);
    assert_eq!(again.header(REPLAYED), Some("true"));
    assert_eq!(again.body, first.body, "the same task, as first answered");
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(again.header("location"), first.header("location"));
    let listed = api.get("/api/tasks").await.expect(200);
    assert_eq!(
        listed.body["tasks"].as_array().unwrap().len(),
        1,
        "one task"
    );

    let path = first.header("location").unwrap().to_owned();
    let patch_key = new_key();
    let patch = json!({"status": "in_progress"});
    let patched = keyed(
        &api,
        Method::PATCH,
        &path,
        &patch_key,
        Some(&patch),
        Some("\"1\""),
    )
    .await
    .expect(200);
    assert_eq!(patched.body["version"], 2);
    // A later write by someone else does not change what the retry answers.
    api.patch(&path, &json!({"title": "Ship it now"}), None)
        .await
        .expect(200);
    let retried = keyed(
        &api,
        Method::PATCH,
        &path,
        &patch_key,
        Some(&patch),
        Some("\"1\""),
    )
    .await
    .expect(200);
    assert_eq!(retried.header(REPLAYED), Some("true"));
    assert_eq!(retried.body, patched.body);
    assert_eq!(retried.header("etag"), Some("\"2\""));
    let now = api.get(&path).await.expect(200);
    assert_eq!(now.body["version"], 3, "the retry committed nothing");
    assert_eq!(history_len(&api, &path).await, 3, "created, two updates");

    let delete_key = new_key();
    keyed(&api, Method::DELETE, &path, &delete_key, None, None)
        .await
        .expect(204);
    let deleted_again = keyed(&api, Method::DELETE, &path, &delete_key, None, None)
        .await
        .expect(204);
    assert_eq!(deleted_again.header(REPLAYED), Some("true"), "not a 404");
}

pub async fn a_different_request_under_the_same_key_is_refused(ctx: &'static Ctx) {
    let api = user(ctx, "ana", &unique_workspace());
    let key = new_key();
    keyed(
        &api,
        Method::POST,
        "/api/tasks",
        &key,
        Some(&json!({"title": "A"})),
        None,
    )
    .await
    .expect(201);
    let other = keyed(
        &api,
        Method::POST,
        "/api/tasks",
        &key,
        Some(&json!({"title": "B"})),
        None,
    )
    .await
    .expect_problem(422);
    assert_eq!(
        other.body["type"],
        "https://hero-tasks.dev/problems/idempotency-key-reused"
    );
    // The same key on another method or path is another request too.
    let task = api.create(json!({"title": "C"})).await;
    let path = format!("/api/tasks/{}", task["id"].as_str().unwrap());
    keyed(
        &api,
        Method::PATCH,
        &path,
        &key,
        Some(&json!({"title": "A"})),
        None,
    )
    .await
    .expect_problem(422);
    assert_eq!(api.get(&path).await.expect(200).body["title"], "C");
    let listed = api.get("/api/tasks").await.expect(200);
    assert_eq!(listed.body["tasks"].as_array().unwrap().len(), 2);
}

pub async fn the_same_key_at_the_same_time_commits_once(ctx: &'static Ctx) {
    let api = user(ctx, "ana", &unique_workspace());

    // Eight PATCHes with one key, at once: one commit; the others are told the key is in
    // use (409, Retry-After) or, once it committed, get its response.
    let task = api.create(json!({"title": "Hot"})).await;
    let path = format!("/api/tasks/{}", task["id"].as_str().unwrap());
    let key = new_key();
    let patch = json!({"description": "once"});
    let replies =
        join_all((0..8).map(|_| keyed(&api, Method::PATCH, &path, &key, Some(&patch), None))).await;
    let mut fresh = 0;
    for reply in &replies {
        match reply.status.as_u16() {
            200 if reply.header(REPLAYED).is_none() => fresh += 1,
            200 => assert_eq!(reply.body["version"], 2, "a replay of the one commit"),
            409 => {
                assert_eq!(
                    reply.body["type"],
                    "https://hero-tasks.dev/problems/idempotency-key-in-use"
                );
                assert_eq!(reply.header("retry-after"), Some("1"));
            }
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert_eq!(fresh, 1, "exactly one request made the write");
    assert_eq!(api.get(&path).await.expect(200).body["version"], 2);
    assert_eq!(history_len(&api, &path).await, 2);

    // Eight creates with one key, at once: one task.
    let key = new_key();
    let body = json!({"title": "Only once"});
    let replies =
        join_all((0..8).map(|_| keyed(&api, Method::POST, "/api/tasks", &key, Some(&body), None)))
            .await;
    let mut ids = std::collections::HashSet::new();
    for reply in &replies {
        match reply.status.as_u16() {
            201 => {
                ids.insert(reply.body["id"].as_str().unwrap().to_owned());
            }
            409 => {}
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert_eq!(ids.len(), 1, "every 201 names the same task");
    let titles: Vec<Value> = api.get("/api/tasks").await.expect(200).body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].clone())
        .filter(|t| t == "Only once")
        .collect();
    assert_eq!(titles.len(), 1, "one task created");
}

pub async fn a_refused_request_is_not_remembered(ctx: &'static Ctx) {
    let api = user(ctx, "ana", &unique_workspace());
    let task = api.create(json!({"title": "Guarded"})).await;
    let path = format!("/api/tasks/{}", task["id"].as_str().unwrap());
    api.patch(&path, &json!({"title": "Moved on"}), None)
        .await
        .expect(200);
    let key = new_key();
    let stale = keyed(
        &api,
        Method::PATCH,
        &path,
        &key,
        Some(&json!({"title": "Mine"})),
        Some("\"1\""),
    )
    .await
    .expect_problem(412);
    assert_eq!(stale.body["current"]["version"], 2);
    // The same key again, now against the current version: decided afresh and committed.
    let merged = keyed(
        &api,
        Method::PATCH,
        &path,
        &key,
        Some(&json!({"title": "Mine"})),
        Some("\"2\""),
    )
    .await
    .expect(200);
    assert_eq!(merged.header(REPLAYED), None);
    assert_eq!(merged.body["title"], "Mine");
}

pub async fn keys_belong_to_one_user_in_one_workspace(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", &workspace);
    let bob = user(ctx, "bob", &workspace);
    let key = new_key();
    let body = json!({"title": "Same words"});
    let first = keyed(&ana, Method::POST, "/api/tasks", &key, Some(&body), None)
        .await
        .expect(201);
    // Bob's request with Ana's key is his own: a new task, not her replay.
    let bobs = keyed(&bob, Method::POST, "/api/tasks", &key, Some(&body), None)
        .await
        .expect(201);
    assert_eq!(bobs.header(REPLAYED), None);
    assert_ne!(bobs.body["id"], first.body["id"]);
    assert_eq!(bobs.body["created_by"], "bob");
    // So is a different body from him under it.
    keyed(
        &bob,
        Method::POST,
        "/api/tasks",
        &key,
        Some(&json!({"title": "x"})),
        None,
    )
    .await
    .expect_problem(422);
    // Ana in another workspace: her key there is a new one.
    let elsewhere = user(ctx, "ana", &unique_workspace());
    let there = keyed(
        &elsewhere,
        Method::POST,
        "/api/tasks",
        &key,
        Some(&body),
        None,
    )
    .await
    .expect(201);
    assert_eq!(there.header(REPLAYED), None);
    assert_ne!(there.body["id"], first.body["id"]);
    let listed = ana.get("/api/tasks").await.expect(200);
    assert_eq!(listed.body["tasks"].as_array().unwrap().len(), 2);
}

pub async fn a_malformed_key_is_a_400(ctx: &'static Ctx) {
    let api = user(ctx, "ana", &unique_workspace());
    for bad in ["tab\there", &"k".repeat(256)] {
        let reply = keyed(
            &api,
            Method::POST,
            "/api/tasks",
            bad,
            Some(&json!({"title": "t"})),
            None,
        )
        .await
        .expect_problem(400);
        assert!(
            reply.body["detail"]
                .as_str()
                .unwrap()
                .contains("Idempotency-Key"),
            "{}",
            reply.body
        );
    }
    let listed = api.get("/api/tasks").await.expect(200);
    assert!(
        listed.body["tasks"].as_array().unwrap().is_empty(),
        "nothing created"
    );
}

/// What one use of a key did: committed fresh, or was refused as in use (409) or reused
/// for another request (422). Anything else fails the test.
fn outcome(reply: &Reply) -> &'static str {
    let problem = reply.body["type"].as_str().unwrap_or_default();
    match reply.status.as_u16() {
        200 | 201 if reply.header(REPLAYED).is_none() => "committed",
        409 if problem.ends_with("/idempotency-key-in-use") => {
            assert_eq!(reply.header("retry-after"), Some("1"));
            "in use"
        }
        422 if problem.ends_with("/idempotency-key-reused") => "reused",
        other => panic!("unexpected {other}: {}", reply.text),
    }
}

/// One key, sent at once to PATCH task X, PATCH task Y and a create: exactly one of the
/// three commits, in every trial; the others are told the key is in use (409) or, once the
/// first committed, that it was used for another request (422). Then the committed one's
/// retry gets its replay, and the others, sent again, are 422s. Several trials, since it
/// is a race.
pub async fn one_key_is_one_request_across_every_target(ctx: &'static Ctx) {
    let api = user(ctx, "ana", &unique_workspace());
    for trial in 0..8 {
        let x = api.create(json!({"title": format!("x{trial}")})).await;
        let y = api.create(json!({"title": format!("y{trial}")})).await;
        let targets = [
            (
                Method::PATCH,
                format!("/api/tasks/{}", x["id"].as_str().unwrap()),
            ),
            (
                Method::PATCH,
                format!("/api/tasks/{}", y["id"].as_str().unwrap()),
            ),
            (Method::POST, "/api/tasks".to_owned()),
        ];
        let bodies = [
            json!({"title": format!("x{trial} keyed")}),
            json!({"title": format!("y{trial} keyed")}),
            json!({"title": format!("new{trial} keyed")}),
        ];
        let key = new_key();
        let replies = join_all(targets.iter().zip(&bodies).map(|((method, path), body)| {
            keyed(&api, method.clone(), path, &key, Some(body), None)
        }))
        .await;
        let outcomes: Vec<&str> = replies.iter().map(outcome).collect();
        let winners: Vec<usize> = (0..3).filter(|i| outcomes[*i] == "committed").collect();
        assert_eq!(winners.len(), 1, "trial {trial}: {outcomes:?}");

        // What D1 holds agrees: one write, the winner's.
        let x_now = api.get(&targets[0].1).await.expect(200).body;
        let y_now = api.get(&targets[1].1).await.expect(200).body;
        let created = api.get("/api/tasks?limit=200").await.expect(200).body["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["title"] == bodies[2]["title"])
            .count();
        let written = [x_now["version"] == 2, y_now["version"] == 2, created == 1];
        assert_eq!(
            written.iter().filter(|w| **w).count(),
            1,
            "trial {trial}: {written:?}"
        );
        assert!(written[winners[0]], "trial {trial}: the winner's write");

        // Later: the winner's retry is its replay, the others are 422s.
        for (index, ((method, path), body)) in targets.iter().zip(&bodies).enumerate() {
            let again = keyed(&api, method.clone(), path, &key, Some(body), None).await;
            if index == winners[0] {
                assert_eq!(again.status, replies[index].status, "trial {trial}");
                assert_eq!(again.header(REPLAYED), Some("true"), "trial {trial}");
                assert_eq!(again.body, replies[index].body, "trial {trial}");
            } else {
                assert_eq!(outcome(&again), "reused", "trial {trial}: {}", again.text);
            }
        }
    }
}

/// A claim whose writer died (it never committed and never let go) holds its key for a
/// bounded time: a claim made just now is a 409, one ten minutes old (well past the
/// lifetime) is taken over by the next request, which commits. Written into D1 from outside, as a writer that
/// died would have left it.
pub async fn a_claim_whose_writer_died_is_released_in_time(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = user(ctx, "ana", &workspace);
    let stamp = |ago: i64| {
        let at = chrono::Utc::now() - chrono::Duration::seconds(ago);
        hero_core::task::format_timestamp(at)
    };
    let (fresh, stale) = (new_key(), new_key());
    let claim = |key: &str, at: String| {
        format!(
            "INSERT INTO idempotency_keys (workspace_id, user_id, key, fingerprint, status, \
             created_at, claim) VALUES ('{workspace}', 'ana', '{key}', 'dead-writer', 0, \
             '{at}', 'dead-claim');"
        )
    };
    ctx.server.d1_execute(&format!(
        "{} {}",
        claim(&fresh, stamp(1)),
        claim(&stale, stamp(600))
    ));
    let body = json!({"title": "after a crash"});
    let held = keyed(&api, Method::POST, "/api/tasks", &fresh, Some(&body), None).await;
    assert_eq!(outcome(&held), "in use");
    let taken = keyed(&api, Method::POST, "/api/tasks", &stale, Some(&body), None)
        .await
        .expect(201);
    assert_eq!(taken.header(REPLAYED), None);
    let again = keyed(&api, Method::POST, "/api/tasks", &stale, Some(&body), None)
        .await
        .expect(201);
    assert_eq!(again.header(REPLAYED), Some("true"));
    assert_eq!(again.body["id"], taken.body["id"]);
}
