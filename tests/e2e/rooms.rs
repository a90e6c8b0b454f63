//! Live rooms over real WebSockets against the real dev server: presence, typing, editing,
//! CRUD events in the task room and the board, resume, resync, limits and hibernation.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hero_core::auth::Role;
use serde_json::{json, Value};

use crate::harness::{
    join_room, token, token_with_secret, unique_workspace, Api, Socket, TEST_SECRET,
};
use crate::Ctx;

register! {
    Shared: [
        sockets_are_checked_before_the_upgrade,
        crud_events_reach_the_room_and_the_board,
        presence_is_per_user_with_a_grace_period,
        a_busy_room_merges_joins_and_leaves_into_one_diff,
        the_board_knows_who_is_in_each_task,
        typing_and_editing_expire,
        resume_replays_exactly_what_was_missed,
        resync_when_since_is_too_old_or_ahead,
        racing_if_match_writers_produce_one_event,
        viewers_watch_but_cannot_type,
        an_expiring_token_closes_the_socket_with_4001,
        bad_frames_get_errors_and_do_not_disturb_others,
        floods_are_rate_limited_then_closed,
        the_connection_cap_closes_with_1013,
        an_idle_room_still_serves_after_hibernation,
        activity_lists_who_changed_what,
    ],
    // It writes to the dev server's SQLite file from outside (wrangler d1 execute), which
    // fails with SQLITE_BUSY while other tests are writing; the others restart the server.
    Exclusive: [
        a_change_committed_without_notification_is_delivered_later,
        a_restarted_room_still_replays_and_takes_writes,
        a_restart_leaves_no_ghosts_in_a_room_or_on_the_board,
    ],
}

/// The limits the e2e server runs with (see `Server::launch`).
const GRACE: Duration = Duration::from_millis(1500);
const PRESENCE_BATCH_ABOVE: usize = 4;
const PRESENCE_GAP: Duration = Duration::from_millis(2000);
const LOG_SIZE: u64 = 10;
const MAX_CONNECTIONS: usize = 8;
const MAX_FRAME_BYTES: usize = 2048;

struct User {
    api: Api,
    token: String,
}

fn user(ctx: &Ctx, name: &str, role: Role, workspace: &str) -> User {
    let token = token(name, role, workspace);
    User {
        api: Api::new(&ctx.server.base, Some(token.clone())),
        token,
    }
}

async fn join_task(ctx: &Ctx, who: &User, task_id: &str, since: Option<u64>) -> (Socket, Value) {
    let room = match since {
        Some(since) => format!("/ws/tasks/{task_id}?since={since}"),
        None => format!("/ws/tasks/{task_id}"),
    };
    join_room(&ctx.server.base, &room, &who.token).await
}

async fn join_board(ctx: &Ctx, who: &User) -> (Socket, Value) {
    join_room(&ctx.server.base, "/ws/board", &who.token).await
}

/// `writer` retitles the task over REST, and `watcher` must see the new title: the room
/// still delivers after whatever the test did to it.
async fn retitle_and_watch(writer: &User, task_id: &str, title: &str, watcher: &mut Socket) {
    writer
        .api
        .patch(
            &format!("/api/tasks/{task_id}"),
            &json!({ "title": title }),
            None,
        )
        .await
        .expect(200);
    assert_eq!(watcher.expect("task_updated").await["task"]["title"], title);
}

fn id_of(task: &Value) -> String {
    task["id"].as_str().unwrap().to_owned()
}

pub async fn sockets_are_checked_before_the_upgrade(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let task = ana.api.create(json!({"title": "room"})).await;
    let base = &ctx.server.base;
    let bad = Socket::open(base, &format!("/ws/tasks/{}?token=nope", id_of(&task))).await;
    assert_eq!(bad.err(), Some(401));
    let expired = token_with_secret(
        TEST_SECRET.as_bytes(),
        "ana",
        Role::Member,
        &workspace,
        chrono::Duration::minutes(-5),
    );
    let refused = Socket::open(base, &format!("/ws/board?token={expired}")).await;
    assert_eq!(refused.err(), Some(401));
    let unknown = Socket::open(
        base,
        &format!("/ws/tasks/{}?token={}", uuid::Uuid::new_v4(), ana.token),
    )
    .await;
    assert_eq!(unknown.err(), Some(404));
    let stranger = user(ctx, "eve", Role::Admin, &unique_workspace());
    let other = Socket::open(
        base,
        &format!("/ws/tasks/{}?token={}", id_of(&task), stranger.token),
    )
    .await;
    assert_eq!(
        other.err(),
        Some(404),
        "another workspace's task is invisible"
    );
    let bad_since = Socket::open(
        base,
        &format!("/ws/tasks/{}?token={}&since=-1", id_of(&task), ana.token),
    )
    .await;
    assert_eq!(bad_since.err(), Some(400));
    // a plain GET is told to upgrade
    ana.api
        .get(&format!("/ws/tasks/{}", id_of(&task)))
        .await
        .expect_problem(426);
}

pub async fn crud_events_reach_the_room_and_the_board(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let (mut board, welcome) = join_board(ctx, &ana).await;
    assert_eq!(welcome["seq"], 0);
    assert_eq!(board.expect("analytics").await["analytics"]["total"], 0);

    let task = ana.api.create(json!({"title": "Live"})).await;
    let created = board.expect("task_created").await;
    assert_eq!(created["seq"], 1);
    assert_eq!(created["task"]["id"], task["id"]);
    assert_eq!(created["actor"]["id"], "ana");
    assert!(created["at"].is_string());
    assert_eq!(board.expect("analytics").await["analytics"]["total"], 1);

    let (mut room, welcome) = join_task(ctx, &ana, &id_of(&task), None).await;
    assert_eq!(
        welcome["seq"], 1,
        "the task room starts with the task's history"
    );
    assert_eq!(welcome["user"]["id"], "ana");
    let path = format!("/api/tasks/{}", id_of(&task));

    ana.api
        .patch(&path, &json!({"title": "Live!"}), None)
        .await
        .expect(200);
    for socket in [&mut room, &mut board] {
        let updated = socket.expect("task_updated").await;
        assert_eq!(updated["changed"], json!(["title"]));
        assert_eq!(updated["task"]["title"], "Live!");
    }

    ana.api
        .patch(&path, &json!({"status": "in_progress"}), None)
        .await
        .expect(200);
    let updated = room.expect("task_updated").await;
    let status = room.expect("task_status_changed").await;
    assert_eq!(
        status["seq"].as_u64().unwrap(),
        updated["seq"].as_u64().unwrap() + 1
    );
    assert_eq!(
        (status["from"].as_str(), status["to"].as_str()),
        (Some("todo"), Some("in_progress"))
    );
    board.expect("task_status_changed").await;

    // a refused transition changes nothing and sends nothing
    ana.api
        .patch(&path, &json!({"status": "done"}), None)
        .await
        .expect(200);
    room.expect("task_status_changed").await;
    let refused = ana
        .api
        .patch(&path, &json!({"status": "blocked"}), None)
        .await
        .expect_problem(422);
    assert!(refused.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("cannot move from done"));

    ana.api.delete(&path, None).await.expect(204);
    let deleted = room.expect("task_deleted").await;
    assert_eq!(deleted["task_id"], task["id"]);
    assert_eq!(
        room.expect_close().await,
        4004,
        "a deleted task's room closes"
    );
    board.expect("task_deleted").await;
    let report = board.expect("analytics").await;
    assert_eq!(report["analytics"]["total"], 0);
}

pub async fn presence_is_per_user_with_a_grace_period(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let bob = user(ctx, "bob", Role::Member, &workspace);
    let task = id_of(&ana.api.create(json!({"title": "presence"})).await);

    let (mut ana_tab1, _) = join_task(ctx, &ana, &task, None).await;
    let (mut bob_tab, welcome) = join_task(ctx, &bob, &task, None).await;
    let presence = welcome["presence"].as_array().unwrap();
    assert_eq!(presence.len(), 2);
    let joined = ana_tab1.expect("user_joined").await;
    assert_eq!(joined["user"]["id"], "bob");

    // a second tab of ana: a diff with ana's entry alone (two connections), not the
    // room's whole list, and no second user_joined
    let (ana_tab2, _) = join_task(ctx, &ana, &task, None).await;
    let update = bob_tab.expect("presence_diff").await;
    assert_eq!(update["leaves"], json!([]));
    let joins = update["joins"].as_array().unwrap();
    assert_eq!(joins.len(), 1, "{update}");
    assert_eq!(
        (
            joins[0]["user"]["id"].as_str(),
            joins[0]["connections"].as_u64()
        ),
        (Some("ana"), Some(2))
    );

    // closing one tab: the count goes back to one, ana is still here
    ana_tab2.close().await;
    let update = bob_tab.expect("presence_diff").await;
    let joins = update["joins"].as_array().unwrap();
    assert_eq!(
        (
            joins[0]["user"]["id"].as_str(),
            joins[0]["connections"].as_u64()
        ),
        (Some("ana"), Some(1))
    );

    // the last tab: user_left only after the grace period, exactly once
    let closed_at = Instant::now();
    ana_tab1.close().await;
    let left = bob_tab.expect("user_left").await;
    assert!(
        closed_at.elapsed() >= GRACE - Duration::from_millis(100),
        "user_left came too early"
    );
    assert_eq!(left["user_id"], "ana");
    let later = bob_tab.collect_for(GRACE).await;
    assert!(
        later.iter().all(|m| m["type"] != "user_left"),
        "user_left twice: {later:?}"
    );

    // a reconnect inside the grace period does not flicker
    let (ana_again, _) = join_task(ctx, &ana, &task, None).await;
    assert_eq!(bob_tab.expect("user_joined").await["user"]["id"], "ana");
    ana_again.close().await;
    let (ana_back, _) = join_task(ctx, &ana, &task, None).await;
    let quiet = bob_tab
        .collect_for(GRACE + Duration::from_millis(700))
        .await;
    assert!(
        quiet
            .iter()
            .all(|m| m["type"] != "user_left" && m["type"] != "user_joined"),
        "reconnect flickered: {quiet:?}"
    );
    ana_back.close().await;
    bob_tab.close().await;
}

/// Applies one presence message to a user → connections map; false for anything else.
fn apply_presence(present: &mut BTreeMap<String, u64>, message: &Value) -> bool {
    match message["type"].as_str() {
        Some("user_joined") => {
            let (user, connections) = presence_entry(message);
            present.insert(user, connections);
        }
        Some("user_left") => {
            present.remove(message["user_id"].as_str().unwrap());
        }
        Some("presence_diff") => {
            for joined in message["joins"].as_array().unwrap() {
                let (user, connections) = presence_entry(joined);
                present.insert(user, connections);
            }
            for left in message["leaves"].as_array().unwrap() {
                present.remove(left.as_str().unwrap());
            }
        }
        _ => return false,
    }
    true
}

/// A welcome's presence list as user → connections.
fn presence_of(welcome: &Value) -> BTreeMap<String, u64> {
    connections_by_user(&welcome["presence"])
}

/// Presence entries (`[{user, connections, …}]`) as user → connections.
fn connections_by_user(entries: &Value) -> BTreeMap<String, u64> {
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(presence_entry)
        .collect()
}

fn presence_entry(entry: &Value) -> (String, u64) {
    (
        entry["user"]["id"].as_str().unwrap().to_owned(),
        entry["connections"].as_u64().unwrap(),
    )
}

/// Past `ROOM_PRESENCE_BATCH_ABOVE` sockets a room holds presence back for a window and
/// sends what happened in it as one `presence_diff`: a join and a leave of the same tab
/// cancel out, two users' joins share a frame, and the welcome of anyone who joins later
/// (even resuming from an old `since`) carries the whole, correct list.
pub async fn a_busy_room_merges_joins_and_leaves_into_one_diff(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let users: Vec<User> = ["ana", "bob", "cat", "dan", "eve", "fay", "gus"]
        .iter()
        .map(|name| user(ctx, name, Role::Member, &workspace))
        .collect();
    let [ana, bob, cat, dan, eve, fay, gus] = &users[..] else {
        unreachable!()
    };
    let task = id_of(&ana.api.create(json!({"title": "busy"})).await);

    let (mut watcher, welcome) = join_task(ctx, ana, &task, None).await;
    let mut seen = presence_of(&welcome);
    let (_bob_tab, _) = join_task(ctx, bob, &task, None).await;
    let (cat_tab, _) = join_task(ctx, cat, &task, None).await;
    // The fourth socket: the room is not busy yet, so this goes out at once and opens the
    // window the next ones land in.
    let (_dan_tab, _) = join_task(ctx, dan, &task, None).await;
    let window_opened = Instant::now();
    let (_eve_tab, _) = join_task(ctx, eve, &task, None).await;
    let (bob_second_tab, _) = join_task(ctx, bob, &task, None).await;
    let (_fay_tab, _) = join_task(ctx, fay, &task, None).await;
    bob_second_tab.close().await;
    assert!(
        window_opened.elapsed() < PRESENCE_GAP,
        "the joins took longer than the window; the test cannot tell what was merged"
    );

    // Raw frames, until the window's diff is out.
    let mut frames = Vec::new();
    while let Some(Ok(frame)) = watcher.next_frame_within(PRESENCE_GAP * 2).await {
        let is_window_diff = frame["type"] == "presence_diff"
            && frame["joins"]
                .as_array()
                .is_some_and(|joins| joins.iter().any(|j| j["user"]["id"] == "fay"));
        frames.push(frame);
        if is_window_diff {
            break;
        }
    }
    let presence_frames: Vec<&Value> = frames
        .iter()
        .filter(|frame| frame["type"] != "analytics")
        .collect();
    for frame in &presence_frames {
        assert!(apply_presence(&mut seen, frame), "not presence: {frame}");
    }
    let diff = presence_frames.last().expect("the window's diff");
    let joined = connections_by_user(&diff["joins"]);
    assert_eq!(
        joined,
        BTreeMap::from([
            ("bob".to_owned(), 1),
            ("eve".to_owned(), 1),
            ("fay".to_owned(), 1)
        ]),
        "eve's and fay's joins and bob's second tab coming and going, in one frame: {diff}"
    );
    assert!(
        presence_frames.iter().all(|f| f["type"] != "user_joined"
            || !["eve", "fay"].contains(&f["user"]["id"].as_str().unwrap())),
        "joins in a busy room are not sent one by one: {presence_frames:?}"
    );

    // A leave: cat's last tab goes; after the grace period the watcher hears of it (in a
    // diff if the room is still inside a window, else as `user_left`).
    cat_tab.close().await;
    while seen.contains_key("cat") {
        match watcher.next_within(GRACE + PRESENCE_GAP * 2).await {
            Some(Ok(message)) => assert!(apply_presence(&mut seen, &message), "{message}"),
            other => panic!("no leave for cat: {other:?}"),
        }
    }
    let expected: BTreeMap<String, u64> = ["ana", "bob", "dan", "eve", "fay"]
        .iter()
        .map(|name| (name.to_string(), 1))
        .collect();
    assert_eq!(seen, expected, "the diffs add up to the room");

    // Someone resuming from an old `since` gets the whole list in `welcome`.
    let (_gus_tab, welcome) = join_task(ctx, gus, &task, Some(0)).await;
    let mut with_gus = expected.clone();
    with_gus.insert("gus".to_owned(), 1);
    assert_eq!(presence_of(&welcome), with_gus);
    assert!(users.len() > PRESENCE_BATCH_ABOVE);
}

/// The board hears from each task room who is there: users, not tabs, with the same grace
/// period for leaving, in `task_presence` messages and in its `welcome`.
pub async fn the_board_knows_who_is_in_each_task(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let bob = user(ctx, "bob", Role::Member, &workspace);
    let cat = user(ctx, "cat", Role::Viewer, &workspace);
    let task = id_of(&ana.api.create(json!({"title": "watched"})).await);
    let (mut board, welcome) = join_board(ctx, &cat).await;
    assert_eq!(welcome["task_presence"], json!({}), "nobody anywhere yet");

    let (ana_tab, _) = join_task(ctx, &ana, &task, None).await;
    let first = board.expect("task_presence").await;
    assert_eq!(first["task_id"], task);
    assert_eq!(viewer_ids(&first["users"]), ["ana"]);
    let (bob_tab, _) = join_task(ctx, &bob, &task, None).await;
    assert_eq!(
        viewer_ids(&board.expect("task_presence").await["users"]),
        ["ana", "bob"]
    );
    // a second tab is not news for the board
    let (ana_second, _) = join_task(ctx, &ana, &task, None).await;
    ana_second.close().await;
    let quiet = board.collect_for(Duration::from_millis(500)).await;
    assert!(
        quiet.iter().all(|m| m["type"] != "task_presence"),
        "a tab is not a user: {quiet:?}"
    );
    // a board that connects now is told in its welcome
    let (late_board, late) = join_board(ctx, &cat).await;
    assert_eq!(viewer_ids(&late["task_presence"][&task]), ["ana", "bob"]);
    late_board.close().await;

    // both leave: after the grace period, nobody (and not before it)
    let left_at = Instant::now();
    ana_tab.close().await;
    bob_tab.close().await;
    loop {
        let message = board.expect("task_presence").await;
        assert!(
            left_at.elapsed() >= GRACE - Duration::from_millis(100),
            "the board let someone go before the grace period: {message}"
        );
        if viewer_ids(&message["users"]).is_empty() {
            break;
        }
    }
    let (_, after) = join_board(ctx, &cat).await;
    assert_eq!(after["task_presence"], json!({}), "no ghosts");
}

pub async fn typing_and_editing_expire(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let bob = user(ctx, "bob", Role::Member, &workspace);
    let task = id_of(&ana.api.create(json!({"title": "typing"})).await);
    let (mut ana_socket, _) = join_task(ctx, &ana, &task, None).await;
    let (mut bob_socket, _) = join_task(ctx, &bob, &task, None).await;

    ana_socket
        .send_json(&json!({"type": "typing", "field": "description", "active": true, "id": 1}))
        .await;
    assert_eq!(ana_socket.expect("ack").await["id"], 1);
    let typing = bob_socket.expect("typing").await;
    assert_eq!(
        (typing["user_id"].as_str(), typing["active"].as_bool()),
        (Some("ana"), Some(true))
    );
    // ana goes quiet: it ends by itself
    let stopped = bob_socket.expect("typing").await;
    assert_eq!(stopped["active"], false);
    assert_eq!(stopped["field"], "description");

    ana_socket
        .send_json(&json!({"type": "editing", "field": "title"}))
        .await;
    let editing = bob_socket.expect("editing").await;
    assert_eq!(
        (editing["user_id"].as_str(), editing["field"].as_str()),
        (Some("ana"), Some("title"))
    );
    // a newcomer sees it in the presence list
    let carol = user(ctx, "carol", Role::Member, &workspace);
    let (carol_socket, welcome) = join_task(ctx, &carol, &task, None).await;
    let entry = welcome["presence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["user"]["id"] == "ana")
        .unwrap()
        .clone();
    assert_eq!(entry["editing"], json!(["title"]));
    // leaving clears it
    ana_socket.close().await;
    let cleared = bob_socket.expect("editing").await;
    assert_eq!(cleared["field"], Value::Null);
    carol_socket.close().await;
    bob_socket.close().await;
}

pub async fn resume_replays_exactly_what_was_missed(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let task = ana.api.create(json!({"title": "resume"})).await;
    let path = format!("/api/tasks/{}", id_of(&task));
    let (socket, welcome) = join_task(ctx, &ana, &id_of(&task), None).await;
    let last_seen = welcome["seq"].as_u64().unwrap();
    socket.close().await;

    for i in 0..3 {
        ana.api
            .patch(&path, &json!({"description": format!("edit {i}")}), None)
            .await
            .expect(200);
    }
    let (mut socket, welcome) = join_task(ctx, &ana, &id_of(&task), Some(last_seen)).await;
    assert_eq!(welcome["resumed"], true);
    assert_eq!(welcome["replayed"], 3);
    assert_eq!(welcome["seq"], last_seen + 3);
    // The replay is one `batch` frame (a client unpacks it like live events).
    let replay = socket
        .next_frame_within(Duration::from_secs(10))
        .await
        .expect("the replay")
        .expect("open");
    assert_eq!(replay["type"], "batch", "{replay}");
    let seqs: Vec<u64> = replay["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| {
            assert_eq!(event["type"], "task_updated");
            event["seq"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(seqs, [last_seen + 1, last_seen + 2, last_seen + 3]);
    // then live, with no duplicate
    ana.api
        .patch(&path, &json!({"description": "live"}), None)
        .await
        .expect(200);
    let live = socket.expect("task_updated").await;
    assert_eq!(live["seq"], last_seen + 4);
    assert_eq!(live["task"]["description"], "live");

    // resuming from the current seq replays nothing
    let (socket2, welcome) = join_task(ctx, &ana, &id_of(&task), Some(last_seen + 4)).await;
    assert_eq!(
        (welcome["resumed"].as_bool(), welcome["replayed"].as_u64()),
        (Some(true), Some(0))
    );
    socket2.close().await;
    socket.close().await;
}

pub async fn resync_when_since_is_too_old_or_ahead(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let task = ana.api.create(json!({"title": "long history"})).await;
    let path = format!("/api/tasks/{}", id_of(&task));
    for i in 0..LOG_SIZE + 3 {
        ana.api
            .patch(&path, &json!({"description": format!("edit {i}")}), None)
            .await
            .expect(200);
    }
    let (mut socket, welcome) = join_task(ctx, &ana, &id_of(&task), Some(1)).await;
    assert_eq!(welcome["resumed"], false);
    let resync = socket.expect("resync").await;
    assert_eq!(resync["seq"], welcome["seq"]);
    assert!(resync["reason"]
        .as_str()
        .unwrap()
        .contains("no longer kept"));
    socket.close().await;

    let ahead = welcome["seq"].as_u64().unwrap() + 100;
    let (mut socket, _) = join_task(ctx, &ana, &id_of(&task), Some(ahead)).await;
    assert!(socket.expect("resync").await["reason"]
        .as_str()
        .unwrap()
        .contains("ahead"));
    socket.close().await;
}

pub async fn racing_if_match_writers_produce_one_event(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let bob = user(ctx, "bob", Role::Member, &workspace);
    let task = ana.api.create(json!({"title": "race"})).await;
    let path = format!("/api/tasks/{}", id_of(&task));
    let (mut socket, _) = join_task(ctx, &ana, &id_of(&task), None).await;
    let (ana_patch, bob_patch) = (json!({"title": "ana wins"}), json!({"title": "bob wins"}));
    let (a, b) = tokio::join!(
        ana.api.patch(&path, &ana_patch, Some("\"1\"")),
        bob.api.patch(&path, &bob_patch, Some("\"1\""))
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412]);
    let winner = if a.status == 200 { a.body } else { b.body };
    let event = socket.expect("task_updated").await;
    assert_eq!(event["task"]["title"], winner["title"]);
    let more = socket.collect_for(Duration::from_millis(800)).await;
    assert!(
        more.iter().all(|m| m["type"] != "task_updated"),
        "the losing write sent an event: {more:?}"
    );
    socket.close().await;
}

pub async fn viewers_watch_but_cannot_type(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let vic = user(ctx, "vic", Role::Viewer, &workspace);
    let task = id_of(&ana.api.create(json!({"title": "watch"})).await);
    let (mut viewer, welcome) = join_task(ctx, &vic, &task, None).await;
    assert_eq!(welcome["user"]["id"], "vic");
    viewer
        .send_json(&json!({"type": "typing", "field": "title", "active": true, "id": "t1"}))
        .await;
    let error = viewer.expect("error").await;
    assert_eq!(
        (error["code"].as_str(), error["id"].as_str()),
        (Some("forbidden"), Some("t1"))
    );
    viewer
        .send_json(&json!({"type": "editing", "field": "title", "id": 2}))
        .await;
    assert_eq!(viewer.expect("error").await["id"], 2);
    // and still sees changes
    retitle_and_watch(&ana, &task, "seen", &mut viewer).await;
    viewer.close().await;
}

pub async fn an_expiring_token_closes_the_socket_with_4001(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let task = id_of(&ana.api.create(json!({"title": "expiry"})).await);
    let short = token_with_secret(
        TEST_SECRET.as_bytes(),
        "ana",
        Role::Member,
        &workspace,
        chrono::Duration::seconds(3),
    );
    let path = format!("/ws/tasks/{task}?token={short}");
    let mut socket = Socket::open(&ctx.server.base, &path)
        .await
        .expect("token still valid");
    socket.expect("welcome").await;
    let started = Instant::now();
    assert_eq!(socket.expect_close().await, 4001);
    assert!(started.elapsed() < Duration::from_secs(9));
}

pub async fn bad_frames_get_errors_and_do_not_disturb_others(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let bob = user(ctx, "bob", Role::Member, &workspace);
    let task = id_of(&ana.api.create(json!({"title": "frames"})).await);
    let (mut bad, _) = join_task(ctx, &ana, &task, None).await;
    let (mut good, _) = join_task(ctx, &bob, &task, None).await;

    let cases = [
        ("this is not json", "bad_json"),
        (r#"{"type":"dance"}"#, "unknown_type"),
        (r#"{"type":"typing","field":"title"}"#, "bad_message"),
        (r#"{"type":"typing","field":"colour","active":true}"#, "bad_field"),
        ("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "bad_message"),
    ];
    for (frame, code) in cases {
        bad.send_text(frame).await;
        assert_eq!(bad.expect("error").await["code"], code, "{frame}");
    }
    bad.send_binary(vec![1, 2, 3]).await;
    assert_eq!(bad.expect("error").await["code"], "binary_unsupported");
    // the room still works for everyone
    good.send_json(&json!({"type": "ping", "id": "still-alive"}))
        .await;
    assert_eq!(good.expect("pong").await["id"], "still-alive");
    // an oversized frame closes only that socket
    bad.send_text(&format!(
        "{{\"type\":\"ping\",\"id\":\"{}\"}}",
        "x".repeat(MAX_FRAME_BYTES)
    ))
    .await;
    assert_eq!(bad.expect_close().await, 1009);
    retitle_and_watch(&ana, &task, "after", &mut good).await;
    good.close().await;
}

pub async fn floods_are_rate_limited_then_closed(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let bob = user(ctx, "bob", Role::Member, &workspace);
    let task = id_of(&ana.api.create(json!({"title": "flood"})).await);
    let (mut flooder, _) = join_task(ctx, &ana, &task, None).await;
    let (mut calm, _) = join_task(ctx, &bob, &task, None).await;
    for i in 0..30 {
        flooder.send_json(&json!({"type": "ping", "id": i})).await;
    }
    assert_eq!(flooder.expect("error").await["code"], "rate_limited");
    // keep flooding, second after second: the connection is closed for policy
    let mut code = None;
    'flood: for _ in 0..8 {
        for i in 0..30 {
            if !flooder
                .try_send_json(&json!({"type": "ping", "id": i}))
                .await
            {
                break;
            }
        }
        let deadline = Instant::now() + Duration::from_millis(1100);
        while let Some(frame) = flooder
            .next_within(deadline.saturating_duration_since(Instant::now()))
            .await
        {
            if let Err(closed) = frame {
                code = Some(closed);
                break 'flood;
            }
        }
    }
    assert_eq!(code, Some(1008));
    // the calm client never noticed
    calm.send_json(&json!({"type": "ping", "id": "ok"})).await;
    assert_eq!(calm.expect("pong").await["id"], "ok");
    calm.close().await;
}

pub async fn the_connection_cap_closes_with_1013(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let task = id_of(&ana.api.create(json!({"title": "crowded"})).await);
    let mut sockets = Vec::new();
    for _ in 0..MAX_CONNECTIONS {
        sockets.push(join_task(ctx, &ana, &task, None).await.0);
    }
    let path = format!("/ws/tasks/{task}?token={}", ana.token);
    let mut extra = Socket::open(&ctx.server.base, &path)
        .await
        .expect("upgrade, then close");
    assert_eq!(extra.expect_close().await, 1013);
    // a place frees up when someone leaves
    sockets.pop().unwrap().close().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (again, _) = join_task(ctx, &ana, &task, None).await;
    again.close().await;
    for socket in sockets {
        socket.close().await;
    }
}

/// Left idle, the room may hibernate (workerd evicts idle objects after about 10 s). The
/// exact `{"type":"ping"}` frame is answered by the runtime without waking it; afterwards the
/// room still knows who is connected and still delivers writes.
pub async fn an_idle_room_still_serves_after_hibernation(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let bob = user(ctx, "bob", Role::Member, &workspace);
    let task = ana.api.create(json!({"title": "sleepy"})).await;
    let (mut ana_socket, _) = join_task(ctx, &ana, &id_of(&task), None).await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    ana_socket.send_text(r#"{"type":"ping"}"#).await;
    assert_eq!(ana_socket.expect("pong").await, json!({"type": "pong"}));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (bob_socket, welcome) = join_task(ctx, &bob, &id_of(&task), None).await;
    let users: Vec<&str> = welcome["presence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["user"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        users,
        ["ana", "bob"],
        "presence survived from the attachments"
    );
    assert_eq!(ana_socket.expect("user_joined").await["user"]["id"], "bob");
    retitle_and_watch(&ana, &id_of(&task), "awake", &mut ana_socket).await;
    bob_socket.close().await;
    ana_socket.close().await;
}

pub async fn activity_lists_who_changed_what(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let bob = user(ctx, "bob", Role::Member, &workspace);
    let task = ana.api.create(json!({"title": "history"})).await;
    let path = format!("/api/tasks/{}", id_of(&task));
    bob.api
        .patch(&path, &json!({"status": "in_progress"}), None)
        .await
        .expect(200);
    ana.api
        .patch(
            &path,
            &json!({"title": "history 2", "priority": "high"}),
            None,
        )
        .await
        .expect(200);
    let page = ana
        .api
        .get(&format!("{path}/activity?limit=2"))
        .await
        .expect(200)
        .body;
    let entries = page["activity"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["actor"]["id"], "ana");
    assert_eq!(entries[0]["changed"], json!(["title", "priority"]));
    assert_eq!(entries[1]["actor"]["id"], "bob");
    assert_eq!(
        (
            entries[1]["from_status"].as_str(),
            entries[1]["to_status"].as_str()
        ),
        (Some("todo"), Some("in_progress"))
    );
    let cursor = page["next_cursor"].as_str().expect("a second page");
    let rest = ana
        .api
        .get(&format!("{path}/activity?limit=2&cursor={cursor}"))
        .await
        .expect(200)
        .body;
    assert_eq!(rest["activity"][0]["kind"], "created");
    assert_eq!(rest["next_cursor"], Value::Null);
    // another workspace sees nothing
    let eve = user(ctx, "eve", Role::Admin, &unique_workspace());
    eve.api
        .get(&format!("{path}/activity"))
        .await
        .expect_problem(404);
}

/// The room log is in the Durable Object's storage: after the whole dev server is killed
/// (SIGKILL) and restarted on the same state, a client resumes with `since` and gets the
/// events it missed, including one from before the crash, and the first write after the
/// restart reaches the room.
pub async fn a_restarted_room_still_replays_and_takes_writes(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let task = ana.api.create(json!({"title": "crash"})).await;
    let path = format!("/api/tasks/{}", id_of(&task));
    let (socket, welcome) = join_task(ctx, &ana, &id_of(&task), None).await;
    let last_seen = welcome["seq"].as_u64().unwrap();
    socket.close().await;
    ana.api
        .patch(&path, &json!({"title": "before crash"}), None)
        .await
        .expect(200);

    ctx.server.restart();

    ana.api
        .patch(&path, &json!({"title": "after restart"}), None)
        .await
        .expect(200);
    let (mut socket, welcome) = join_task(ctx, &ana, &id_of(&task), Some(last_seen)).await;
    assert_eq!(welcome["resumed"], true);
    assert_eq!(welcome["replayed"], 2);
    let first = socket.expect("task_updated").await;
    let second = socket.expect("task_updated").await;
    assert_eq!(first["task"]["title"], "before crash");
    assert_eq!(second["task"]["title"], "after restart");
    assert_eq!(second["seq"], last_seen + 2);
    socket.close().await;
}

/// A restart drops every socket without a close event, so the room's stored presence still
/// names everyone who was there. The first join afterwards finds that the stored counts do
/// not add up to the open sockets and rebuilds the list: whoever did not come back is gone
/// from the welcome, and the board forgets them too.
pub async fn a_restart_leaves_no_ghosts_in_a_room_or_on_the_board(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let bob = user(ctx, "bob", Role::Member, &workspace);
    let cat = user(ctx, "cat", Role::Viewer, &workspace);
    let task = id_of(&ana.api.create(json!({"title": "restarted"})).await);
    let (mut board, _) = join_board(ctx, &cat).await;
    let (_ana_tab, _) = join_task(ctx, &ana, &task, None).await;
    let (_ana_second, _) = join_task(ctx, &ana, &task, None).await;
    let (_bob_tab, _) = join_task(ctx, &bob, &task, None).await;
    loop {
        let message = board.expect("task_presence").await;
        if viewer_ids(&message["users"]) == ["ana", "bob"] {
            break;
        }
    }

    ctx.server.restart();

    // Only bob comes back: the welcome lists bob alone, not ana's two old tabs.
    let (bob_back, welcome) = join_task(ctx, &bob, &task, None).await;
    assert_eq!(
        presence_of(&welcome),
        BTreeMap::from([("bob".to_owned(), 1)]),
        "ghosts in the welcome: {welcome}"
    );
    // The board learns it from the room's next report, whenever that lands.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (board_again, welcome) = join_board(ctx, &cat).await;
        board_again.close().await;
        // A task with nobody in its room has no key in the map.
        let map = welcome["task_presence"]
            .as_object()
            .expect("a board welcome's map");
        let viewers = map.get(&task).map(viewer_ids).unwrap_or_default();
        if viewers == ["bob"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the board still shows {viewers:?} after the restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bob_back.close().await;
}

/// The user ids in a `users` array (of `task_presence`, or of the board's welcome map).
fn viewer_ids(users: &Value) -> Vec<String> {
    users
        .as_array()
        .unwrap_or_else(|| panic!("not a users array: {users}"))
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A change whose room notification never happened (written to D1 directly, as if the
/// Worker died right after the commit) is delivered when the room next hears from anyone:
/// here, a new connection. The connected client gets it live, in order.
pub async fn a_change_committed_without_notification_is_delivered_later(ctx: &'static Ctx) {
    let workspace = unique_workspace();
    let ana = user(ctx, "ana", Role::Member, &workspace);
    let task = ana.api.create(json!({"title": "outbox"})).await;
    let (mut watcher, welcome) = join_task(ctx, &ana, &id_of(&task), None).await;
    let seq = welcome["seq"].as_u64().unwrap();

    // Two changes committed behind the worker's back, as if both notifications were lost.
    let mut inserts = String::new();
    for (version, title) in [
        (2, "written behind"),
        (3, "written behind the worker's back"),
    ] {
        let mut snapshot = task.clone();
        snapshot["title"] = json!(title);
        snapshot["version"] = json!(version);
        inserts.push_str(&format!(
            "INSERT INTO task_changes (workspace_id, task_id, version, kind, changed, actor_id, \
             actor_name, at, task, ws_seq) SELECT '{workspace}', '{id}', {version}, 'updated', \
             '[\"title\"]', 'ana', 'ANA', '2030-01-01T00:00:00.000Z', '{snapshot}', \
             COALESCE(MAX(ws_seq), 0) + 1 FROM task_changes WHERE workspace_id = '{workspace}';",
            id = id_of(&task),
            snapshot = snapshot.to_string().replace('\'', "''"),
        ));
    }
    let sql = inserts;
    ctx.server.d1_execute(&sql);
    // nothing happens yet: nobody told the room
    let quiet = watcher.collect_for(Duration::from_millis(500)).await;
    assert!(
        quiet.iter().all(|m| m["type"] != "task_updated"),
        "{quiet:?}"
    );
    // the next connection makes the room catch up from D1
    let bob = user(ctx, "bob", Role::Member, &workspace);
    let (other, welcome) = join_task(ctx, &bob, &id_of(&task), None).await;
    assert_eq!(welcome["seq"], seq + 2);
    // One drain found both: they arrive together, as one `batch` frame, in order.
    let frame = watcher
        .next_frame_within(Duration::from_secs(10))
        .await
        .expect("a frame")
        .expect("open");
    assert_eq!(frame["type"], "batch", "{frame}");
    let events = frame["events"].as_array().unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [seq + 1, seq + 2]);
    assert_eq!(
        events[1]["task"]["title"],
        "written behind the worker's back"
    );
    other.close().await;
    watcher.close().await;
}
