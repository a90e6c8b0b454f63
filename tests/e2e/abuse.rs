//! One user misbehaving inside every documented limit, against the real server (issue 23,
//! the room's side): a viewer flooding from ten sockets and reconnecting at once is closed
//! and cooled down while another user is still answered; typing flipped as fast as the
//! budget allows reaches listeners coalesced; a connect that races a DELETE never stays in
//! the deleted room; a replay past its byte budget is a `resync`; a text frame that is not
//! UTF-8 closes with 1007.

use std::time::Duration;

use hero_core::auth::Role;
use hero_core::protocol::close;
use serde_json::{json, Value};

use crate::harness::{join_room, token, Scene, Socket, WAIT};
use crate::Ctx;

register! {
    Shared: [
        a_flooding_viewer_is_closed_cooled_down_and_others_are_answered,
        typing_flipped_fast_reaches_listeners_coalesced,
        a_connect_racing_a_delete_never_stays_in_the_deleted_room,
        a_replay_past_its_byte_budget_is_a_resync,
        a_text_frame_that_is_not_utf8_closes_with_1007,
    ],
}

fn task_room(scene: &Scene) -> String {
    format!("/ws/tasks/{}", scene.task_id)
}

/// Opens a socket; `None` when it is refused before or at once after the upgrade.
async fn open(base: &str, path: &str, who: &str) -> Option<Socket> {
    let mut socket = Socket::open(base, &format!("{path}?token={who}"))
        .await
        .ok()?;
    match socket.next_within(WAIT).await {
        Some(Ok(welcome)) if welcome["type"] == "welcome" => Some(socket),
        _ => None,
    }
}

pub async fn a_flooding_viewer_is_closed_cooled_down_and_others_are_answered(ctx: &'static Ctx) {
    let base = &ctx.server.base;
    let scene = Scene::new(base, "owner", "flooded").await;
    let path = task_room(&scene);
    let viewer = token("flood", Role::Viewer, &scene.workspace);
    let (mut other, _) = scene.join(base, "calm").await;
    // As many sockets as the test server's room cap (8) leaves beside the calm user.
    let mut sockets = Vec::new();
    for _ in 0..6 {
        sockets.push(
            open(base, &path, &viewer)
                .await
                .expect("a viewer may watch"),
        );
    }
    // Flood from every socket at once; each reconnects the moment it is closed.
    let mut closed_1008 = 0;
    let mut refused_while_cooling = 0;
    for round in 0..3 {
        for socket in &mut sockets {
            for i in 0..40 {
                if !socket
                    .try_send_json(&json!({"type": "ping", "id": i}))
                    .await
                {
                    break;
                }
            }
        }
        for socket in &mut sockets {
            if let Some(code) = closed_code(socket).await {
                closed_1008 += usize::from(code == close::POLICY);
            }
        }
        // The others' round trips are still answered, mid-flood.
        other
            .send_json(&json!({"type": "ping", "id": format!("calm-{round}")}))
            .await;
        assert_eq!(other.expect("pong").await["id"], format!("calm-{round}"));
        for socket in &mut sockets {
            match open(base, &path, &viewer).await {
                Some(again) => *socket = again,
                None => refused_while_cooling += 1,
            }
        }
    }
    assert!(
        closed_1008 >= 6,
        "every flooding socket was closed ({closed_1008})"
    );
    assert!(
        refused_while_cooling >= 6,
        "reconnects during the cool-down are refused ({refused_while_cooling})"
    );
    // The refusal says when to come back.
    let mut refused = Socket::open(base, &format!("{path}?token={viewer}"))
        .await
        .expect("the upgrade");
    assert_eq!(refused.expect_close().await, close::TOO_MANY_FOR_USER);
}

/// Reads until the socket closes; its code (`None`: still open after a short wait).
async fn closed_code(socket: &mut Socket) -> Option<u16> {
    loop {
        match socket.next_within(Duration::from_secs(2)).await {
            Some(Ok(_)) => continue,
            Some(Err(code)) => return Some(code),
            None => return None,
        }
    }
}

pub async fn typing_flipped_fast_reaches_listeners_coalesced(ctx: &'static Ctx) {
    let base = &ctx.server.base;
    let scene = Scene::new(base, "owner", "typed").await;
    let (mut typist, _) = scene.join(base, "ana").await;
    let (mut listener, _) = scene.join(base, "bo").await;
    let fields = ["title", "description", "tags", "status"];
    // Nine frames in one second (within the budget of ten), a different field each time.
    for i in 0..9 {
        let field = fields[i % fields.len()];
        typist
            .send_json(&json!({"type": "typing", "field": field, "active": true}))
            .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let heard: Vec<Value> = listener
        .collect_for(Duration::from_millis(1_000))
        .await
        .into_iter()
        .filter(|m| m["type"] == "typing")
        .collect();
    // Uncoalesced, that is 17 frames (one field off, the next on); coalesced, the first
    // change and then at most one turn per 250 ms.
    assert!(!heard.is_empty());
    assert!(heard.len() <= 8, "{} typing frames: {heard:?}", heard.len());
    // The last word is right: Ana is typing in the last field, and only there.
    let mut typing = std::collections::BTreeSet::new();
    for frame in &heard {
        let field = frame["field"].as_str().unwrap().to_owned();
        if frame["active"] == true {
            typing.insert(field);
        } else {
            typing.remove(&field);
        }
    }
    assert_eq!(
        typing.into_iter().collect::<Vec<_>>(),
        [fields[8 % fields.len()]]
    );
}

pub async fn a_connect_racing_a_delete_never_stays_in_the_deleted_room(ctx: &'static Ctx) {
    let base = &ctx.server.base;
    for trial in 0..4 {
        let scene = Scene::new(base, "owner", &format!("doomed {trial}")).await;
        let path = task_room(&scene);
        let mut joins = Vec::new();
        // Six at a time: the test server's rooms hold eight.
        for n in 0..6 {
            let who = token(&format!("u{n}"), Role::Member, &scene.workspace);
            let (base, path) = (base.clone(), path.clone());
            joins.push(tokio::spawn(async move {
                let socket = Socket::open(&base, &format!("{path}?token={who}")).await;
                match socket {
                    Err(status) => {
                        assert_eq!(status, 404, "refused before the upgrade: not found");
                        None
                    }
                    Ok(socket) => Some(socket),
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        scene
            .api
            .delete(&format!("/api/tasks/{}", scene.task_id), None)
            .await
            .expect(204);
        for join in joins {
            let Some(mut socket) = join.await.unwrap() else {
                continue;
            };
            // Accepted: it must be closed with 4004, whatever it got first.
            assert_eq!(
                socket.expect_close().await,
                close::TASK_DELETED,
                "trial {trial}"
            );
        }
        // The board lists nobody in the deleted task's room.
        let who = token("watcher", Role::Member, &scene.workspace);
        let (_, welcome) = join_room(base, "/ws/board", &who).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (_, welcome_later) = join_room(base, "/ws/board", &who).await;
        for welcome in [welcome, welcome_later] {
            assert!(
                welcome["task_presence"].get(&scene.task_id).is_none(),
                "trial {trial}: {}",
                welcome["task_presence"]
            );
        }
    }
}

pub async fn a_replay_past_its_byte_budget_is_a_resync(ctx: &'static Ctx) {
    let base = &ctx.server.base;
    let scene = Scene::new(base, "owner", "big").await;
    let path = format!("/api/tasks/{}", scene.task_id);
    // The e2e server replays at most 40,000 bytes; five events of about 9 KB each pass it.
    for i in 0..5 {
        let description = format!("{i}{}", "x".repeat(9_000));
        scene
            .api
            .patch(&path, &json!({ "description": description }), None)
            .await
            .expect(200);
    }
    let who = token("late", Role::Member, &scene.workspace);
    let (mut socket, welcome) =
        join_room(base, &format!("{}?since=0", task_room(&scene)), &who).await;
    assert_eq!(welcome["resumed"], false);
    let resync = socket.expect("resync").await;
    assert!(
        resync["reason"].as_str().unwrap().contains("bytes"),
        "{resync}"
    );
    // A short gap still replays.
    let seq = welcome["seq"].as_u64().unwrap();
    let (_, welcome) = join_room(
        base,
        &format!("{}?since={}", task_room(&scene), seq - 1),
        &who,
    )
    .await;
    assert_eq!(welcome["resumed"], true);
    assert_eq!(welcome["replayed"], 1);
}

pub async fn a_text_frame_that_is_not_utf8_closes_with_1007(ctx: &'static Ctx) {
    let base = &ctx.server.base;
    let scene = Scene::new(base, "owner", "bytes").await;
    let (mut socket, _) = scene.join(base, "ana").await;
    socket
        .send_raw_text(b"{\"type\":\"ping\",\"id\":\"\xff\xfe\"}".to_vec())
        .await;
    assert_eq!(socket.expect_close().await, close::INVALID_PAYLOAD);
}
