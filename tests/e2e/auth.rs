//! Today's Supabase tokens: ES256 and RS256 from the project's JWKS (a local stand-in,
//! `harness::Jwks`), rotation and revocation, a JWKS that is down, the checks on issuer,
//! audience and lifetime, algorithm confusion, the token in the subprotocol header instead
//! of the URL, a socket refreshing its token in place, and names and avatars made safe.

use std::time::{Duration, Instant};

use hero_core::auth::Role;
use serde_json::{json, Value};

use crate::harness::{
    raw_token, token, token_with_secret, unique_workspace, Api, Socket, TEST_SECRET,
};
use crate::Ctx;

register! {
    Shared: [
        es256_and_rs256_tokens_work_on_rest_and_ws,
        a_new_key_works_and_the_old_one_until_its_tokens_expire,
        a_revoked_key_stops_working,
        algorithm_confusion_fails,
        issuer_audience_lifetime_and_dev_tokens_are_checked,
        the_token_travels_in_the_subprotocol_header,
        a_socket_refreshes_its_token_in_place,
        names_and_avatars_from_metadata_are_made_safe,
    ],
    // It restarts the server, so that nothing is cached when the JWKS is down.
    Exclusive: [a_jwks_that_is_down_with_nothing_cached_is_503],
}

/// A kid no other test uses, so tests can rotate and revoke side by side.
fn kid(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

/// Retries `GET /api/tasks` with `token` until it answers `status` or `wait` passes; returns
/// how long that took.
async fn until_status(ctx: &Ctx, token: &str, status: u16, wait: Duration) -> Duration {
    let api = Api::new(&ctx.server.base, Some(token.to_owned()));
    let started = Instant::now();
    loop {
        let reply = api.get("/api/tasks").await;
        if reply.status.as_u16() == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < wait,
            "still {} after {wait:?}: {}",
            reply.status,
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn es256_and_rs256_tokens_work_on_rest_and_ws(ctx: &'static Ctx) {
    let jwks = &ctx.server.jwks;
    let workspace = unique_workspace();
    let (ec, rsa) = (kid("ec"), kid("rsa"));
    jwks.add_es256(&ec, 11);
    jwks.add_rs256(&rsa, "a");
    for key in [&ec, &rsa] {
        let token = jwks.token(key, "sam", &workspace, 600);
        until_status(ctx, &token, 200, Duration::from_secs(8)).await;
        let api = Api::new(&ctx.server.base, Some(token.clone()));
        let task = api
            .create(json!({"title": format!("signed with {key}")}))
            .await;
        let id = task["id"].as_str().unwrap();
        let (mut socket, selected) = Socket::open_with_protocols(
            &ctx.server.base,
            &format!("/ws/tasks/{id}"),
            &format!("hero-tasks.v1, bearer.{token}"),
        )
        .await
        .expect("the upgrade is accepted");
        assert_eq!(selected.as_deref(), Some("hero-tasks.v1"));
        let welcome = socket.expect("welcome").await;
        assert_eq!(welcome["user"]["id"], "sam");
        assert_eq!(welcome["protocol"], 2);
        socket.close().await;
    }
}

pub async fn a_new_key_works_and_the_old_one_until_its_tokens_expire(ctx: &'static Ctx) {
    let jwks = &ctx.server.jwks;
    let workspace = unique_workspace();
    let (old, new) = (kid("old"), kid("new"));
    jwks.add_es256(&old, 21);
    let before = jwks.token(&old, "ana", &workspace, 600);
    until_status(ctx, &before, 200, Duration::from_secs(8)).await;
    // rotation: the project signs with a new key and keeps the old one published
    jwks.add_es256(&new, 22);
    let after = jwks.token(&new, "ana", &workspace, 600);
    let took = until_status(ctx, &after, 200, Duration::from_secs(8)).await;
    println!("a rotated key was accepted after {took:?}");
    assert!(
        took < Duration::from_secs(6),
        "unknown kids are refetched within 5 s"
    );
    Api::new(&ctx.server.base, Some(before))
        .get("/api/tasks")
        .await
        .expect(200);
    // an old-key token that has expired stays refused, whatever the key
    let mut claims = jwks.claims("ana", &workspace, 600);
    claims["exp"] = json!(chrono::Utc::now().timestamp() - 120);
    let expired = jwks.sign_raw(&old, json!({}), &claims);
    Api::new(&ctx.server.base, Some(expired))
        .get("/api/tasks")
        .await
        .expect_problem(401);
}

pub async fn a_revoked_key_stops_working(ctx: &'static Ctx) {
    let jwks = &ctx.server.jwks;
    let workspace = unique_workspace();
    let stolen = kid("stolen");
    jwks.add_rs256(&stolen, "b");
    let token = jwks.token(&stolen, "eve", &workspace, 600);
    until_status(ctx, &token, 200, Duration::from_secs(8)).await;
    jwks.revoke(&stolen);
    // the server keeps a JWKS for JWKS_CACHE_SECS (2 s here, at most 10 minutes)
    let took = until_status(ctx, &token, 401, Duration::from_secs(10)).await;
    println!("a revoked key was refused after {took:?}");
}

pub async fn algorithm_confusion_fails(ctx: &'static Ctx) {
    let jwks = &ctx.server.jwks;
    let workspace = unique_workspace();
    let (ec, rsa) = (kid("ec"), kid("rsa"));
    jwks.add_es256(&ec, 31);
    jwks.add_rs256(&rsa, "a");
    until_status(
        ctx,
        &jwks.token(&ec, "x", &workspace, 600),
        200,
        Duration::from_secs(8),
    )
    .await;
    until_status(
        ctx,
        &jwks.token(&rsa, "x", &workspace, 600),
        200,
        Duration::from_secs(8),
    )
    .await;
    let claims = jwks.claims("mallory", &workspace, 600);
    // the public key of the ES256 kid as an HS256 "secret"
    let jwks_doc: Value = reqwest::get(format!("{}/auth/v1/.well-known/jwks.json", jwks.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public = jwks_doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == ec.as_str())
        .unwrap()
        .to_string();
    let header = |alg: &str, kid: &str| json!({"alg": alg, "kid": kid, "typ": "JWT"});
    let cases = [
        (
            "HS256 keyed with the public key",
            raw_token(&header("HS256", &ec), &claims, Some(public.as_bytes())),
        ),
        ("alg none", raw_token(&header("none", &ec), &claims, None)),
        (
            "an ES256 header on the RSA key",
            jwks.sign_raw(&ec, header("ES256", &rsa), &claims),
        ),
        (
            "an RS256 header on the EC key",
            jwks.sign_raw(&rsa, header("RS256", &ec), &claims),
        ),
        (
            "RS256 signed, but named ES256",
            jwks.sign_raw(&rsa, header("ES256", &rsa), &claims),
        ),
    ];
    for (case, bad) in cases {
        let reply = Api::new(&ctx.server.base, Some(bad.clone()))
            .get("/api/tasks")
            .await;
        assert_eq!(reply.status.as_u16(), 401, "{case}: {}", reply.text);
        assert!(
            !reply.text.contains(&bad),
            "{case}: the body echoes the token"
        );
    }
}

pub async fn issuer_audience_lifetime_and_dev_tokens_are_checked(ctx: &'static Ctx) {
    let jwks = &ctx.server.jwks;
    let workspace = unique_workspace();
    let ec = kid("rules");
    jwks.add_es256(&ec, 41);
    let valid = jwks.claims("ana", &workspace, 600);
    until_status(
        ctx,
        &jwks.sign_raw(&ec, json!({}), &valid),
        200,
        Duration::from_secs(8),
    )
    .await;
    let with = |change: Value| {
        let mut claims = valid.clone();
        for (name, value) in change.as_object().unwrap() {
            claims[name] = value.clone();
        }
        claims
    };
    let hs256 = json!({"alg": "HS256", "typ": "JWT"});
    let secret = TEST_SECRET.as_bytes();
    let cases = [
        (
            "another issuer",
            jwks.sign_raw(
                &ec,
                json!({}),
                &with(json!({"iss": "https://evil.example/auth/v1"})),
            ),
        ),
        (
            "no audience",
            jwks.sign_raw(&ec, json!({}), &with(json!({"aud": null}))),
        ),
        (
            "another audience",
            jwks.sign_raw(&ec, json!({}), &with(json!({"aud": "anon"}))),
        ),
        (
            "expires in the year 9999",
            jwks.sign_raw(&ec, json!({}), &with(json!({"exp": 253_402_300_799_i64}))),
        ),
        (
            "HS256 from another issuer",
            raw_token(
                &hs256,
                &with(json!({"iss": "https://evil.example/auth/v1"})),
                Some(secret),
            ),
        ),
        (
            "HS256 with no issuer",
            raw_token(&hs256, &with(json!({"iss": null})), Some(secret)),
        ),
    ];
    for (case, bad) in cases {
        let reply = Api::new(&ctx.server.base, Some(bad))
            .get("/api/tasks")
            .await;
        assert_eq!(reply.status.as_u16(), 401, "{case}: {}", reply.text);
    }
    // HS256 with the project's issuer is the legacy path, and still works
    let legacy = raw_token(&hs256, &valid, Some(secret));
    Api::new(&ctx.server.base, Some(legacy))
        .get("/api/tasks")
        .await
        .expect(200);
    // a development token works on a loopback host only
    let dev = token("ana", Role::Member, &workspace);
    let api = Api::new(&ctx.server.base, Some(dev));
    api.get("/api/tasks").await.expect(200);
    let elsewhere = api
        .send(
            api.request(reqwest::Method::GET, "/api/tasks")
                .header("host", "tasks.example.com"),
        )
        .await;
    assert_eq!(elsewhere.status.as_u16(), 401, "{}", elsewhere.text);
    assert!(
        elsewhere.text.contains("development tokens"),
        "{}",
        elsewhere.text
    );
}

pub async fn the_token_travels_in_the_subprotocol_header(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let who = token("ana", Role::Member, &workspace);
    let api = Api::new(&ctx.server.base, Some(who.clone()));
    let task = api.create(json!({"title": "no token in the URL"})).await;
    let id = task["id"].as_str().unwrap();
    let (mut socket, selected) = Socket::open_with_protocols(
        &ctx.server.base,
        "/ws/board",
        &format!("hero-tasks.v1, bearer.{who}"),
    )
    .await
    .expect("accepted");
    assert_eq!(
        selected.as_deref(),
        Some("hero-tasks.v1"),
        "never the token"
    );
    socket.expect("welcome").await;
    socket.close().await;
    // a bearer subprotocol without ours is not a token source; a forged one is a 401
    let refused = Socket::open_with_protocols(
        &ctx.server.base,
        &format!("/ws/tasks/{id}"),
        &format!("bearer.{who}"),
    )
    .await;
    assert_eq!(refused.err(), Some(401));
    let forged = Socket::open_with_protocols(
        &ctx.server.base,
        &format!("/ws/tasks/{id}"),
        &format!("hero-tasks.v1, bearer.{who}x"),
    )
    .await;
    assert_eq!(forged.err(), Some(401));
    // ?token= still works for old clients
    let mut old = Socket::open(&ctx.server.base, &format!("/ws/tasks/{id}?token={who}"))
        .await
        .unwrap();
    old.expect("welcome").await;
    old.close().await;
}

pub async fn a_socket_refreshes_its_token_in_place(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let api = Api::new(
        &ctx.server.base,
        Some(token("ana", Role::Member, &workspace)),
    );
    let task = api.create(json!({"title": "long session"})).await;
    let id = task["id"].as_str().unwrap();
    let short = token_with_secret(
        TEST_SECRET.as_bytes(),
        "ana",
        Role::Member,
        &workspace,
        chrono::Duration::seconds(3),
    );
    let mut socket = Socket::open(&ctx.server.base, &format!("/ws/tasks/{id}?token={short}"))
        .await
        .unwrap();
    socket.expect("welcome").await;
    // a token that does not verify is refused, and the socket stays
    socket
        .send_json(&json!({"type": "auth", "token": "not.a.token", "id": 1}))
        .await;
    let error = socket.expect("error").await;
    assert_eq!(
        (error["code"].as_str(), error["id"].as_i64()),
        (Some("bad_token"), Some(1))
    );
    // a fresh token for the same user and workspace moves the expiry
    let fresh = token("ana", Role::Member, &workspace);
    socket
        .send_json(&json!({"type": "auth", "token": fresh, "id": 2}))
        .await;
    assert_eq!(socket.expect("ack").await["id"], 2);
    tokio::time::sleep(Duration::from_secs(4)).await;
    socket.send_json(&json!({"type": "ping", "id": 3})).await;
    assert_eq!(
        socket.expect("pong").await["id"],
        3,
        "still open past the first token's expiry"
    );
    // the project's own tokens refresh too (the room verifies with the JWKS)
    let jwks = &ctx.server.jwks;
    let ec = kid("refresh");
    jwks.add_es256(&ec, 51);
    let es = jwks.token(&ec, "ana", &workspace, 600);
    until_status(ctx, &es, 200, Duration::from_secs(8)).await;
    socket
        .send_json(&json!({"type": "auth", "token": es, "id": 4}))
        .await;
    assert_eq!(socket.expect("ack").await["id"], 4);
    // another user's token closes the socket with 4003
    let bob = token("bob", Role::Member, &workspace);
    socket
        .send_json(&json!({"type": "auth", "token": bob, "id": 5}))
        .await;
    assert_eq!(socket.expect("error").await["code"], "token_mismatch");
    assert_eq!(socket.expect_close().await, 4003);
}

pub async fn names_and_avatars_from_metadata_are_made_safe(ctx: &'static Ctx) {
    let jwks = &ctx.server.jwks;
    let workspace = unique_workspace();
    let ec = kid("names");
    jwks.add_es256(&ec, 61);
    let mut claims = jwks.claims("mona", &workspace, 600);
    claims["user_metadata"] = json!({
        "full_name": format!("\u{202E}Mona{}", "a".repeat(300)),
        "avatar_url": "http://tracker.example/pixel.gif"
    });
    let token = jwks.sign_raw(&ec, json!({}), &claims);
    until_status(ctx, &token, 200, Duration::from_secs(8)).await;
    let (board, welcome) = crate::harness::join_room(&ctx.server.base, "/ws/board", &token).await;
    let name = welcome["user"]["name"].as_str().unwrap();
    assert!(name.starts_with("Mona"), "{name}");
    assert_eq!(name.chars().count(), 100);
    assert_eq!(
        welcome["user"]["avatar_url"],
        Value::Null,
        "only https avatars"
    );
    board.close().await;
    claims["user_metadata"] = json!({"avatar_url": "https://cdn.example.com/m.png"});
    claims["email"] = json!("mona.lisa@example.com");
    let token = jwks.sign_raw(&ec, json!({}), &claims);
    let (board, welcome) = crate::harness::join_room(&ctx.server.base, "/ws/board", &token).await;
    assert_eq!(
        welcome["user"]["name"], "mona.lisa",
        "the email's local part"
    );
    assert_eq!(
        welcome["user"]["avatar_url"],
        "https://cdn.example.com/m.png"
    );
    board.close().await;
}

pub async fn a_jwks_that_is_down_with_nothing_cached_is_503(ctx: &'static Ctx) {
    let jwks = &ctx.server.jwks;
    let workspace = unique_workspace();
    let ec = kid("down");
    jwks.add_es256(&ec, 71);
    let token = jwks.token(&ec, "ana", &workspace, 600);
    jwks.set_down(true);
    ctx.server.restart(); // fresh isolates: no JWKS cached anywhere
    let api = Api::new(&ctx.server.base, Some(token.clone()));
    let reply = api.get("/api/tasks").await.expect_problem(503);
    assert!(reply.header("retry-after").is_some());
    assert!(!reply.text.contains(&token));
    // development and legacy HS256 tokens need no JWKS and keep working
    Api::new(
        &ctx.server.base,
        Some(crate::harness::token("ana", Role::Member, &workspace)),
    )
    .get("/api/tasks")
    .await
    .expect(200);
    jwks.set_down(false);
    until_status(ctx, &token, 200, Duration::from_secs(8)).await;
}
