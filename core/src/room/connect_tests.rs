//! The connect decisions that only the e2e suite checked before: the order of the first
//! frames, ghosts, each cap, resume, and what a board adds.

use super::super::presence::presence;
use super::super::test_support::{conn, joining};
use super::*;

fn snapshot<'a>(
    joining: &'a Joining,
    limits: &'a Limits,
    live: &'a dyn Fn() -> Vec<Connection>,
) -> ConnectSnapshot<'a> {
    ConnectSnapshot {
        now_ms: 1_000,
        limits,
        kind: RoomKind::Task,
        connection_id: "new".into(),
        joining,
        task_gone: false,
        open_sockets: 0,
        room_sockets: 0,
        listed: Vec::new(),
        live,
        same_user: Vec::new(),
        connect_window: None,
        returning: None,
        log: LogView::default(),
        task_presence: BTreeMap::new(),
    }
}

fn no_live() -> Vec<Connection> {
    panic!("the live connections are read only when the list counts ghosts")
}

fn accepted(connected: Connected) -> (Connection, Resume, Effects) {
    match connected {
        Connected::Accepted {
            connection,
            resume,
            effects,
        } => (connection, resume, effects),
        other => panic!("{other:?}"),
    }
}

/// A short name for each frame, in order.
fn kinds(frames: &[Outbound]) -> Vec<&'static str> {
    frames
        .iter()
        .map(|frame| match frame {
            Outbound::Reply(ServerMessage::Welcome { .. }) => "welcome",
            Outbound::Replay { .. } => "replay",
            Outbound::Reply(ServerMessage::Resync { .. }) => "resync",
            Outbound::Others(ServerMessage::UserJoined { .. }) => "joined",
            Outbound::Others(ServerMessage::PresenceDiff { .. }) => "diff",
            Outbound::Others(ServerMessage::UserLeft { .. }) => "ghost_left",
            _ => "other",
        })
        .collect()
}

#[test]
fn a_resumed_connection_gets_welcome_then_replay_then_the_others_hear() {
    let (limits, ana) = (Limits::default(), joining("ana", Some(3)));
    let mut snapshot = snapshot(&ana, &limits, &no_live);
    snapshot.listed = presence(&[conn("b1", "bo")]);
    snapshot.open_sockets = 1;
    snapshot.room_sockets = 1;
    snapshot.log = LogView {
        seq: 5,
        oldest_kept: Some(1),
    };
    let (connection, resume, effects) = accepted(on_connect(snapshot));
    assert_eq!(resume, Resume::Replay { since: 3 });
    assert_eq!(kinds(&effects.frames), ["welcome", "replay", "joined"]);
    match &effects.frames[0] {
        Outbound::Reply(ServerMessage::Welcome {
            seq: 5,
            resumed: true,
            replayed: 2,
            presence,
            connection_id,
            task_presence: None,
            ..
        }) => {
            assert_eq!(presence.len(), 2, "bo and ana");
            assert_eq!(connection_id, "new");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(effects.frames[1], Outbound::Replay { after: 3 });
    assert_eq!(effects.attachments, std::slice::from_ref(&connection));
    assert_eq!(effects.alarm, Alarm::NoLaterThan(connection.expires_at_ms));
    assert_eq!(
        effects.viewers,
        [super::super::ViewerChange::Came(connection.user.clone())]
    );
    assert!(effects.storage.contains(&StorageWrite::Presence {
        user_id: "ana".into(),
        entry: entry_of(std::slice::from_ref(&connection)),
    }));
}

#[test]
fn a_since_older_than_the_log_gets_resync_after_the_welcome_and_before_the_join() {
    let (limits, ana) = (Limits::default(), joining("ana", Some(1)));
    let mut snapshot = snapshot(&ana, &limits, &no_live);
    snapshot.log = LogView {
        seq: 10,
        oldest_kept: Some(5),
    };
    let (_, resume, effects) = accepted(on_connect(snapshot));
    assert!(matches!(resume, Resume::Resync { .. }));
    assert_eq!(kinds(&effects.frames), ["welcome", "resync", "joined"]);
    assert!(matches!(
        effects.frames[0],
        Outbound::Reply(ServerMessage::Welcome {
            resumed: false,
            replayed: 0,
            ..
        })
    ));
}

#[test]
fn resume_decisions() {
    let log = |seq, oldest_kept| LogView { seq, oldest_kept };
    assert_eq!(resume(None, log(5, Some(1))), Resume::Fresh);
    assert_eq!(
        resume(Some(3), log(5, Some(1))),
        Resume::Replay { since: 3 }
    );
    assert_eq!(
        resume(Some(0), log(5, Some(1))),
        Resume::Replay { since: 0 }
    );
    assert_eq!(
        resume(Some(5), log(5, Some(1))),
        Resume::Replay { since: 5 }
    );
    assert_eq!(resume(Some(0), log(0, None)), Resume::Replay { since: 0 });
    assert!(matches!(
        resume(Some(1), log(10, Some(5))),
        Resume::Resync { .. }
    ));
    assert_eq!(
        resume(Some(4), log(10, Some(5))),
        Resume::Replay { since: 4 }
    );
    assert!(matches!(
        resume(Some(11), log(10, Some(5))),
        Resume::Resync { .. }
    ));
}

#[test]
fn an_up_to_date_resume_sends_no_replay() {
    let (limits, ana) = (Limits::default(), joining("ana", Some(7)));
    let mut snapshot = snapshot(&ana, &limits, &no_live);
    snapshot.log = LogView {
        seq: 7,
        oldest_kept: Some(1),
    };
    let (_, _, effects) = accepted(on_connect(snapshot));
    assert_eq!(kinds(&effects.frames), ["welcome", "joined"]);
}

#[test]
fn ghosts_a_restart_left_leave_before_the_welcome() {
    // Stored before the restart: ana (two tabs) and bo. Nobody's socket survived.
    let (limits, cy) = (Limits::default(), joining("cy", None));
    let live = Vec::new;
    let mut snapshot = snapshot(&cy, &limits, &live);
    snapshot.listed = presence(&[conn("a1", "ana"), conn("a2", "ana"), conn("b1", "bo")]);
    let (_, _, effects) = accepted(on_connect(snapshot));
    assert_eq!(
        kinds(&effects.frames),
        ["ghost_left", "ghost_left", "welcome", "joined"]
    );
    assert_eq!(
        effects.storage[0],
        StorageWrite::ReplacePresence(Vec::new())
    );
    match &effects.frames[2] {
        Outbound::Reply(ServerMessage::Welcome { presence, .. }) => {
            let ids: Vec<&str> = presence.iter().map(|e| e.user.id.as_str()).collect();
            assert_eq!(ids, ["cy"], "the ghosts are not in the welcome");
        }
        other => panic!("{other:?}"),
    }
    let left: Vec<_> = effects.viewers.iter().collect();
    assert_eq!(left.len(), 3, "two gone, one came: {left:?}");
}

#[test]
fn a_list_that_adds_up_reads_no_attachment() {
    let (limits, cy) = (Limits::default(), joining("cy", None));
    let mut snapshot = snapshot(&cy, &limits, &no_live);
    snapshot.listed = presence(&[conn("a1", "ana")]);
    snapshot.open_sockets = 1;
    snapshot.room_sockets = 1;
    let (_, _, effects) = accepted(on_connect(snapshot));
    assert!(!effects
        .storage
        .iter()
        .any(|w| matches!(w, StorageWrite::ReplacePresence(_))));
}

#[test]
fn each_cap_refuses_with_its_code_and_still_counts_the_connect() {
    let limits = Limits {
        max_connections: 5,
        max_connections_per_user: 2,
        connects_per_minute: 3,
        ..Limits::default()
    };
    let ana = joining("ana", None);
    let refused = |snapshot: ConnectSnapshot<'_>| match on_connect(snapshot) {
        Connected::Refused {
            code,
            reason,
            effects,
        } => {
            assert!(effects
                .storage
                .iter()
                .any(|w| matches!(w, StorageWrite::ConnectWindow { .. })));
            assert!(effects.attachments.is_empty(), "nothing is accepted");
            (code, reason)
        }
        other => panic!("{other:?}"),
    };
    // the room is full
    let mut full = snapshot(&ana, &limits, &no_live);
    full.open_sockets = 5;
    full.room_sockets = 1;
    full.listed = presence(&[conn("b1", "bo")]);
    assert_eq!(refused(full), (close::TRY_AGAIN_LATER, "room is full"));
    // one user's share of sockets
    let mut share = snapshot(&ana, &limits, &no_live);
    share.same_user = vec![conn("a1", "ana"), conn("a2", "ana")];
    share.open_sockets = 2;
    share.room_sockets = 2;
    share.listed = presence(&share.same_user);
    assert_eq!(refused(share).0, close::TOO_MANY_FOR_USER);
    // the fourth connect within a minute
    let mut busy = snapshot(&ana, &limits, &no_live);
    busy.connect_window = Some(ConnectWindow {
        start_ms: 500,
        count: 3,
    });
    assert_eq!(
        refused(busy),
        (close::TOO_MANY_FOR_USER, "too many connects this minute")
    );
    // a minute later, counting starts again
    let mut later = snapshot(&ana, &limits, &no_live);
    later.now_ms = 60_500;
    later.connect_window = Some(ConnectWindow {
        start_ms: 500,
        count: 9,
    });
    accepted(on_connect(later));
}

#[test]
fn per_user_limits_come_before_the_room_cap() {
    let limits = Limits {
        max_connections: 5,
        max_connections_per_user: 2,
        ..Limits::default()
    };
    let once = count_connect(None, 0);
    assert!(admission(4, 1, once, &limits).is_ok());
    assert_eq!(
        admission(5, 2, once, &limits).unwrap_err().0,
        close::TOO_MANY_FOR_USER
    );
    assert_eq!(count_connect(Some(once), 59_999).count, 2);
    assert_eq!(count_connect(Some(once), 60_000).count, 1);
}

#[test]
fn a_deleted_task_is_not_found_before_anything_is_counted() {
    let (limits, ana) = (Limits::default(), joining("ana", None));
    let mut snapshot = snapshot(&ana, &limits, &no_live);
    snapshot.task_gone = true;
    assert_eq!(on_connect(snapshot), Connected::NotFound);
}

#[test]
fn a_second_tab_or_a_quick_return_is_a_diff_and_cancels_the_departure() {
    let (limits, ana) = (Limits::default(), joining("ana", None));
    let mut snapshot = snapshot(&ana, &limits, &no_live);
    snapshot.returning = Some(Departure {
        user_id: "ana".into(),
        due_ms: 4_000,
    });
    let (_, _, effects) = accepted(on_connect(snapshot));
    assert_eq!(kinds(&effects.frames), ["welcome", "diff"]);
    assert!(effects.storage.contains(&StorageWrite::DepartureOf {
        user_id: "ana".into(),
        departure: None
    }));
    assert!(effects.viewers.is_empty(), "the board never saw ana leave");

    let mut second_tab = self::snapshot(&ana, &limits, &no_live);
    second_tab.same_user = vec![conn("a1", "ana")];
    second_tab.listed = presence(&second_tab.same_user);
    second_tab.open_sockets = 1;
    second_tab.room_sockets = 1;
    let (_, _, effects) = accepted(on_connect(second_tab));
    match &effects.frames[..] {
        [Outbound::Reply(ServerMessage::Welcome { presence, .. }), Outbound::Others(ServerMessage::PresenceDiff { joins, .. })] =>
        {
            assert_eq!(presence[0].connections, 2, "the welcome counts both tabs");
            assert_eq!(joins[0].connections, 2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_board_welcome_carries_task_presence_analytics_and_the_day_turn() {
    let (limits, ana) = (Limits::default(), joining("ana", None));
    let mut snapshot = snapshot(&ana, &limits, &no_live);
    snapshot.kind = RoomKind::Board;
    snapshot
        .task_presence
        .insert("t1".into(), vec![conn("b1", "bo").user]);
    let (connection, _, effects) = accepted(on_connect(snapshot));
    match &effects.frames[0] {
        Outbound::Reply(ServerMessage::Welcome {
            task_presence: Some(map),
            ..
        }) => assert_eq!(map["t1"][0].id, "bo"),
        other => panic!("{other:?}"),
    }
    assert_eq!(effects.analytics, Some(Audience::Origin));
    let midnight = board_day_turn(1_000, true).unwrap();
    assert_eq!(
        effects.alarm,
        Alarm::NoLaterThan(midnight.min(connection.expires_at_ms))
    );
    assert!(effects.viewers.is_empty(), "a board reports to nobody");
}
