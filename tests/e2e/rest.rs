//! The REST API against the real dev server: every status code, paging, If-Match, roles and
//! workspace isolation.

use std::collections::HashSet;

use hero_core::auth::Role;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{token, token_with_secret, unique_workspace, Api, TEST_SECRET};
use crate::Ctx;

register! {
    Shared: [
        health_needs_no_token,
        create_returns_location_and_etag,
        bad_bodies_get_clear_problems,
        validation_names_every_bad_field,
        unknown_routes_and_methods,
        unknown_and_malformed_ids_are_404,
        tokens_are_required_and_verified,
        roles_limit_writes_and_deletes,
        if_match_guards_patch_and_delete,
        concurrent_if_match_writers_one_wins,
        concurrent_writers_without_if_match_all_apply,
        merge_patch_semantics,
        pagination_is_stable_across_pages,
        list_filters,
        workspaces_are_isolated,
        analytics_counts,
        openapi_matches_the_routes,
        dev_sign_in_is_loopback_only,
    ],
}

fn api_as(ctx: &Ctx, user: &str, role: Role, workspace: &str) -> Api {
    Api::new(&ctx.server.base, Some(token(user, role, workspace)))
}

/// A member in a workspace of its own.
fn fresh_member(ctx: &Ctx) -> (Api, String) {
    let workspace = unique_workspace();
    (api_as(ctx, "ana", Role::Member, &workspace), workspace)
}

fn task_path(task: &Value) -> String {
    format!("/api/tasks/{}", task["id"].as_str().expect("task id"))
}

pub async fn health_needs_no_token(ctx: &'static Ctx) {
    let reply = Api::new(&ctx.server.base, None)
        .get("/healthz")
        .await
        .expect(200);
    assert_eq!(reply.body["status"], "ok");
}

pub async fn create_returns_location_and_etag(ctx: &'static Ctx) {
    let (api, workspace) = fresh_member(ctx);
    let reply = api
        .post(
            "/api/tasks",
            &json!({"title": "  Ship it  ", "priority": "high", "tags": ["release"], "due_date": "2030-01-02"}),
        )
        .await
        .expect(201);
    let task = reply.body.clone();
    assert_eq!(task["title"], "Ship it", "title is trimmed");
    assert_eq!(task["status"], "todo");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["version"], 1);
    assert_eq!(task["workspace_id"], workspace.as_str());
    assert_eq!(task["created_by"], "ana");
    assert!(task["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(reply.header("etag"), Some("\"1\""));
    let location = reply
        .header("location")
        .expect("Location header")
        .to_owned();
    assert_eq!(location, task_path(&task));

    let fetched = api.get(&location).await.expect(200);
    assert_eq!(fetched.body, task);
    assert_eq!(fetched.header("etag"), Some("\"1\""));
}

pub async fn bad_bodies_get_clear_problems(ctx: &'static Ctx) {
    let (api, _) = fresh_member(ctx);
    // malformed JSON → 400
    let reply = api
        .send(
            api.request(Method::POST, "/api/tasks")
                .header("content-type", "application/json")
                .body("{\"title\": "),
        )
        .await
        .expect_problem(400);
    assert!(reply.body["detail"].as_str().unwrap().contains("JSON"));
    // wrong content type → 415
    api.send(
        api.request(Method::POST, "/api/tasks")
            .header("content-type", "text/plain")
            .body("{\"title\": \"x\"}"),
    )
    .await
    .expect_problem(415);
    // no content type at all → 415
    api.send(
        api.request(Method::POST, "/api/tasks")
            .body("{\"title\": \"x\"}"),
    )
    .await
    .expect_problem(415);
    // over 256 KiB → 413
    let huge = json!({"title": "x", "description": "d".repeat(260 * 1024)});
    api.post("/api/tasks", &huge).await.expect_problem(413);
    // a JSON body that is not an object → 422
    api.post("/api/tasks", &json!(["title"]))
        .await
        .expect_problem(422);
    // nothing was created by any of that
    let list = api.get("/api/tasks").await.expect(200);
    assert_eq!(list.body["tasks"].as_array().unwrap().len(), 0);
}

pub async fn validation_names_every_bad_field(ctx: &'static Ctx) {
    let (api, _) = fresh_member(ctx);
    let reply = api
        .post(
            "/api/tasks",
            &json!({
                "title": "   ",
                "status": "finished",
                "priority": "urgent",
                "due_date": "tomorrow",
                "tags": ["x".repeat(33)],
                "description": "d".repeat(10_001),
                "owner": "bob"
            }),
        )
        .await
        .expect_problem(422);
    let fields: HashSet<&str> = reply.body["errors"]
        .as_array()
        .expect("errors array")
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    let expected: HashSet<&str> = [
        "title",
        "status",
        "priority",
        "due_date",
        "tags",
        "description",
        "owner",
    ]
    .into();
    assert_eq!(fields, expected, "{}", reply.text);
    // missing title on create
    let reply = api.post("/api/tasks", &json!({})).await.expect_problem(422);
    assert_eq!(reply.body["errors"][0]["field"], "title");
    // too many tags, and a patch that nulls a required field
    let tags: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    api.post("/api/tasks", &json!({"title": "x", "tags": tags}))
        .await
        .expect_problem(422);
    let task = api.create(json!({"title": "ok"})).await;
    let reply = api
        .patch(&task_path(&task), &json!({"title": null}), None)
        .await
        .expect_problem(422);
    assert_eq!(reply.body["errors"][0]["field"], "title");
    let reply = api
        .patch(&task_path(&task), &json!({"id": "other"}), None)
        .await
        .expect_problem(422);
    assert_eq!(reply.body["errors"][0]["message"], "unknown field");
    // bad list parameters
    for query in [
        "limit=0",
        "limit=201",
        "limit=x",
        "status=nope",
        "cursor=garbage",
    ] {
        api.get(&format!("/api/tasks?{query}"))
            .await
            .expect_problem(422);
    }
}

pub async fn unknown_routes_and_methods(ctx: &'static Ctx) {
    let (api, _) = fresh_member(ctx);
    api.get("/api/nothing-here").await.expect_problem(404);
    api.get("/api/tasks/a/b").await.expect_problem(404);
    let reply = api
        .send(api.request(Method::PUT, "/api/tasks"))
        .await
        .expect_problem(405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD, POST"));
    let reply = api
        .send(api.request(Method::POST, "/api/analytics"))
        .await
        .expect_problem(405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    let task = api.create(json!({"title": "t"})).await;
    let reply = api
        .send(api.request(Method::PUT, &task_path(&task)))
        .await
        .expect_problem(405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD, PATCH, DELETE"));
}

pub async fn unknown_and_malformed_ids_are_404(ctx: &'static Ctx) {
    let (api, _) = fresh_member(ctx);
    let unknown = format!("/api/tasks/{}", uuid::Uuid::new_v4());
    api.get(&unknown).await.expect_problem(404);
    api.patch(&unknown, &json!({"title": "x"}), None)
        .await
        .expect_problem(404);
    api.delete(&unknown, None).await.expect_problem(404);
    api.get("/api/tasks/'%20OR%201=1--")
        .await
        .expect_problem(404);
}

pub async fn tokens_are_required_and_verified(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let base = &ctx.server.base;
    let cases = [
        ("missing", None),
        ("garbage", Some("not.a.jwt".to_owned())),
        (
            "wrong secret",
            Some(token_with_secret(
                b"some-other-secret-some-other-secret!",
                "ana",
                Role::Admin,
                &workspace,
                chrono::Duration::hours(1),
            )),
        ),
        (
            "expired",
            Some(token_with_secret(
                TEST_SECRET.as_bytes(),
                "ana",
                Role::Admin,
                &workspace,
                chrono::Duration::minutes(-5),
            )),
        ),
    ];
    for (case, token) in cases {
        let api = Api::new(base, token.clone());
        let reply = api.get("/api/tasks").await.expect_problem(401);
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(challenge.starts_with("Bearer"), "{case}: {challenge}");
        if let Some(token) = token {
            assert!(
                !reply.text.contains(&token),
                "{case}: the body echoes the token"
            );
        }
        api.post("/api/tasks", &json!({"title": "x"}))
            .await
            .expect_problem(401);
    }
    // The same token works when it is valid.
    let api = api_as(ctx, "ana", Role::Member, &workspace);
    api.get("/api/tasks").await.expect(200);
}

pub async fn roles_limit_writes_and_deletes(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = api_as(ctx, "ana", Role::Member, &workspace);
    let bob = api_as(ctx, "bob", Role::Member, &workspace);
    let viewer = api_as(ctx, "vic", Role::Viewer, &workspace);
    let admin = api_as(ctx, "ada", Role::Admin, &workspace);

    let task = ana.create(json!({"title": "ana's"})).await;
    let path = task_path(&task);

    // a viewer reads, but every write is 403
    viewer.get(&path).await.expect(200);
    viewer.get("/api/tasks").await.expect(200);
    viewer.get("/api/analytics").await.expect(200);
    viewer
        .post("/api/tasks", &json!({"title": "x"}))
        .await
        .expect_problem(403);
    viewer
        .patch(&path, &json!({"title": "x"}), None)
        .await
        .expect_problem(403);
    viewer.delete(&path, None).await.expect_problem(403);

    // another member edits but cannot delete what it did not create
    bob.patch(&path, &json!({"status": "in_progress"}), None)
        .await
        .expect(200);
    bob.delete(&path, None).await.expect_problem(403);
    // the creator can, and so can an admin
    let bobs = bob.create(json!({"title": "bob's"})).await;
    bob.delete(&task_path(&bobs), None).await.expect(204);
    admin.delete(&path, None).await.expect(204);
    ana.get(&path).await.expect_problem(404);
    ana.delete(&path, None).await.expect_problem(404);
}

pub async fn if_match_guards_patch_and_delete(ctx: &'static Ctx) {
    let (api, _) = fresh_member(ctx);
    let task = api.create(json!({"title": "v1"})).await;
    let path = task_path(&task);

    let reply = api
        .patch(&path, &json!({"title": "v2"}), Some("\"1\""))
        .await
        .expect(200);
    assert_eq!(reply.body["version"], 2);
    assert_eq!(reply.header("etag"), Some("\"2\""));

    // stale → 412 with the current task, and nothing changes
    let reply = api
        .patch(&path, &json!({"title": "stale write"}), Some("\"1\""))
        .await
        .expect_problem(412);
    assert_eq!(reply.body["current"]["title"], "v2");
    assert_eq!(reply.body["current"]["version"], 2);
    assert_eq!(reply.header("etag"), Some("\"2\""));
    let now = api.get(&path).await.expect(200);
    assert_eq!(now.body["title"], "v2");
    assert_eq!(now.body["version"], 2);

    // a malformed If-Match is a 400, not a silent mismatch
    api.patch(&path, &json!({"title": "x"}), Some("2"))
        .await
        .expect_problem(400);
    // `*` matches any version
    api.patch(&path, &json!({"title": "v3"}), Some("*"))
        .await
        .expect(200);
    // a patch that changes nothing keeps the version
    let same = api
        .patch(&path, &json!({"title": "v3"}), Some("\"3\""))
        .await
        .expect(200);
    assert_eq!(same.body["version"], 3);

    api.delete(&path, Some("\"2\"")).await.expect_problem(412);
    api.get(&path).await.expect(200);
    api.delete(&path, Some("\"3\"")).await.expect(204);
    api.get(&path).await.expect_problem(404);
}

pub async fn concurrent_if_match_writers_one_wins(ctx: &'static Ctx) {
    let (api, _) = fresh_member(ctx);
    for round in 0..3 {
        let task = api.create(json!({"title": format!("race {round}")})).await;
        let path = task_path(&task);
        let writers = (0..4).map(|i| {
            let api = api.clone();
            let path = path.clone();
            tokio::spawn(async move {
                api.patch(
                    &path,
                    &json!({"description": format!("writer {i}")}),
                    Some("\"1\""),
                )
                .await
                .status
                .as_u16()
            })
        });
        let mut statuses = Vec::new();
        for writer in writers {
            statuses.push(writer.await.unwrap());
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412, 412, 412], "round {round}");
        let now = api.get(&path).await.expect(200);
        assert_eq!(now.body["version"], 2, "exactly one write landed");
    }
}

pub async fn concurrent_writers_without_if_match_all_apply(ctx: &'static Ctx) {
    let (api, _) = fresh_member(ctx);
    let task = api.create(json!({"title": "busy"})).await;
    let path = task_path(&task);
    let writers: Vec<_> = (0..5)
        .map(|i| {
            let api = api.clone();
            let path = path.clone();
            tokio::spawn(async move {
                api.patch(&path, &json!({"tags": [format!("w{i}")]}), None)
                    .await
                    .status
                    .as_u16()
            })
        })
        .collect();
    for writer in writers {
        assert_eq!(writer.await.unwrap(), 200);
    }
    let now = api.get(&path).await.expect(200);
    assert_eq!(
        now.body["version"], 6,
        "every write bumped the version once: {}",
        now.text
    );
}

pub async fn merge_patch_semantics(ctx: &'static Ctx) {
    let (api, _) = fresh_member(ctx);
    let task = api
        .create(json!({"title": "t", "assignee_id": "bob", "due_date": "2030-05-06", "tags": ["a", "b"], "description": "keep"}))
        .await;
    let path = task_path(&task);
    let reply = api
        .send(
            api.request(Method::PATCH, &path)
                .header("content-type", "application/merge-patch+json")
                .body(r#"{"assignee_id": null, "tags": ["c"], "status": "done"}"#),
        )
        .await
        .expect(200);
    let task = reply.body;
    assert_eq!(task["assignee_id"], Value::Null, "null clears");
    assert_eq!(task["tags"], json!(["c"]), "arrays are replaced");
    assert_eq!(task["description"], "keep", "absent fields are kept");
    assert_eq!(task["due_date"], "2030-05-06");
    assert_eq!(task["status"], "done");
    assert!(task["completed_at"].is_string());
}

pub async fn pagination_is_stable_across_pages(ctx: &'static Ctx) {
    let (api, _) = fresh_member(ctx);
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(api.create(json!({"title": format!("task {i}")})).await["id"].clone());
    }
    let mut seen: Vec<Value> = Vec::new();
    let mut path = "/api/tasks?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let reply = api.get(&path).await.expect(200);
        pages += 1;
        let tasks = reply.body["tasks"].as_array().unwrap().clone();
        assert!(tasks.len() <= 3);
        seen.extend(tasks.iter().map(|t| t["id"].clone()));
        if pages == 1 {
            // a task created mid-paging sorts first, so it cannot shift the later pages
            api.create(json!({"title": "late arrival"})).await;
        }
        match reply.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/tasks?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let unique: HashSet<String> = seen.iter().map(|v| v.to_string()).collect();
    assert_eq!(unique.len(), seen.len(), "no task twice");
    created.reverse();
    assert_eq!(seen, created, "newest first, every task once");
    // default limit is 50
    let reply = api.get("/api/tasks").await.expect(200);
    assert_eq!(reply.body["tasks"].as_array().unwrap().len(), 8);
    assert_eq!(reply.body["next_cursor"], Value::Null);
}

pub async fn list_filters(ctx: &'static Ctx) {
    let (api, _) = fresh_member(ctx);
    api.create(json!({"title": "Fix login bug", "status": "in_progress", "assignee_id": "bob", "tags": ["auth", "bug"]})).await;
    api.create(json!({"title": "Write docs", "description": "about the 100% LOGIN flow", "tags": ["docs"]})).await;
    api.create(json!({"title": "Plan", "status": "done", "assignee_id": "ana"}))
        .await;
    let titles = |reply: crate::harness::Reply| -> Vec<String> {
        let mut titles: Vec<String> = reply.body["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_owned())
            .collect();
        titles.sort();
        titles
    };
    assert_eq!(
        titles(api.get("/api/tasks?status=in_progress").await.expect(200)),
        ["Fix login bug"]
    );
    assert_eq!(
        titles(api.get("/api/tasks?assignee=ana").await.expect(200)),
        ["Plan"]
    );
    assert_eq!(
        titles(api.get("/api/tasks?tag=docs").await.expect(200)),
        ["Write docs"]
    );
    assert_eq!(
        titles(api.get("/api/tasks?q=login").await.expect(200)),
        ["Fix login bug", "Write docs"]
    );
    assert_eq!(
        titles(api.get("/api/tasks?q=100%25").await.expect(200)),
        ["Write docs"]
    );
    assert!(
        titles(api.get("/api/tasks?q=%25%25%25x").await.expect(200)).is_empty(),
        "% is literal"
    );
    // long searches work too (D1 would refuse a LIKE pattern this long)
    let long = "login ".repeat(30);
    assert!(titles(
        api.get(&format!("/api/tasks?q={}", long.trim().replace(' ', "%20")))
            .await
            .expect(200)
    )
    .is_empty());
    assert_eq!(
        titles(
            api.get("/api/tasks?tag=bug&status=in_progress&assignee=bob")
                .await
                .expect(200)
        ),
        ["Fix login bug"]
    );
}

pub async fn workspaces_are_isolated(ctx: &'static Ctx) {
    let (ours, _) = fresh_member(ctx);
    let theirs = api_as(ctx, "ana", Role::Admin, &unique_workspace());
    let task = ours.create(json!({"title": "private"})).await;
    let path = task_path(&task);
    theirs.get(&path).await.expect_problem(404);
    theirs
        .patch(&path, &json!({"title": "hijacked"}), None)
        .await
        .expect_problem(404);
    theirs
        .patch(&path, &json!({"title": "hijacked"}), Some("\"1\""))
        .await
        .expect_problem(404);
    theirs.delete(&path, None).await.expect_problem(404);
    let list = theirs.get("/api/tasks").await.expect(200);
    assert_eq!(list.body["tasks"], json!([]));
    assert_eq!(
        theirs.get("/api/analytics").await.expect(200).body["total"],
        0
    );
    let still = ours.get(&path).await.expect(200);
    assert_eq!(still.body["title"], "private");
    assert_eq!(still.body["version"], 1);
}

pub async fn analytics_counts(ctx: &'static Ctx) {
    let (api, _) = fresh_member(ctx);
    api.create(json!({"title": "late", "due_date": "2000-01-01"}))
        .await;
    api.create(json!({"title": "late but done", "due_date": "2000-01-01", "status": "done"}))
        .await;
    api.create(json!({"title": "future", "due_date": "2999-01-01", "priority": "critical"}))
        .await;
    let task = api
        .create(json!({"title": "finished now", "status": "in_review"}))
        .await;
    api.patch(&task_path(&task), &json!({"status": "done"}), None)
        .await
        .expect(200);
    let report = api.get("/api/analytics").await.expect(200).body;
    assert_eq!(report["total"], 4);
    assert_eq!(report["by_status"]["todo"], 2);
    assert_eq!(report["by_status"]["done"], 2);
    assert_eq!(report["by_status"]["blocked"], 0);
    assert_eq!(report["by_priority"]["critical"], 1);
    assert_eq!(report["by_priority"]["medium"], 3);
    assert_eq!(report["overdue"], 1);
    assert_eq!(report["done_this_week"], 2);
}

/// Every operation in the OpenAPI document is served (not a 404/405 from the router), and
/// every route the server has is documented.
pub async fn openapi_matches_the_routes(ctx: &'static Ctx) {
    let (api, _) = fresh_member(ctx);
    let doc = api.get("/api/openapi.json").await.expect(200).body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let task = api.create(json!({"title": "probe"})).await;
    let id = task["id"].as_str().unwrap();
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = HashSet::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            if !["get", "post", "patch", "delete", "put"].contains(&method.as_str()) {
                continue;
            }
            documented.insert(format!("{} {}", method.to_uppercase(), path));
            assert!(
                operation["responses"].is_object(),
                "{method} {path} documents responses"
            );
            let concrete = path.replace("{id}", id);
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let reply = api
                .send(
                    api.request(method.clone(), &concrete)
                        .json(&json!({"title": "probe"})),
                )
                .await;
            let routed =
                !(reply.status == 405 || (reply.status == 404 && reply.text.contains("no route")));
            assert!(
                routed,
                "{method} {path} is documented but not served: {}",
                reply.text
            );
        }
    }
    let served = [
        "GET /healthz",
        "GET /api/openapi.json",
        "GET /api/tasks",
        "POST /api/tasks",
        "GET /api/tasks/{id}",
        "PATCH /api/tasks/{id}",
        "DELETE /api/tasks/{id}",
        "GET /api/analytics",
        "GET /api/tasks/{id}/activity",
        "GET /ws/tasks/{id}",
        "GET /ws/tasks/{id}/doc",
        "GET /ws/board",
        "GET /api/dev/config",
        "POST /api/dev/token",
    ];
    for route in served {
        assert!(
            documented.contains(route),
            "{route} is served but not documented"
        );
    }
}

/// The dev sign-in works on the loopback dev server (DEV_LOGIN is set for the suite) and is
/// a 404 for any request addressed to another host, as every deployed request would be.
pub async fn dev_sign_in_is_loopback_only(ctx: &'static Ctx) {
    let api = Api::new(&ctx.server.base, None);
    let config = api.get("/api/dev/config").await.expect(200);
    assert_eq!(config.body["dev_login"], true);
    let reply = api
        .post(
            "/api/dev/token",
            &json!({"name": "Ana Lee", "role": "viewer", "workspace": "w1"}),
        )
        .await
        .expect(200);
    assert_eq!(reply.body["user_id"], "ana-lee");
    let token = reply.body["token"].as_str().unwrap().to_owned();
    let viewer = Api::new(&ctx.server.base, Some(token));
    viewer.get("/api/tasks").await.expect(200);
    viewer
        .post("/api/tasks", &json!({"title": "x"}))
        .await
        .expect_problem(403);
    api.post("/api/dev/token", &json!({"name": "", "role": "owner"}))
        .await
        .expect_problem(422);

    let elsewhere = api
        .send(
            api.request(Method::POST, "/api/dev/token")
                .header("host", "tasks.example.com")
                .json(&json!({"name": "Mallory"})),
        )
        .await;
    assert_eq!(elsewhere.status.as_u16(), 404, "{}", elsewhere.text);
    let config = api
        .send(
            api.request(Method::GET, "/api/dev/config")
                .header("host", "tasks.example.com"),
        )
        .await;
    assert_eq!(config.body["dev_login"], false);
}
