//! Document sockets decided: connect, sync, awareness, refusals, viewers, close and flush.

use super::super::test_support::joining;
use super::super::{admit_doc_frame, on_awareness, on_doc_sync, Frame};
use super::*;
use crate::doc::wire::{parse, DocMessage};
use crate::protocol::close;
use std::collections::BTreeMap;
use yrs::updates::encoder::Encode;
use yrs::{Doc, OffsetKind, Options, StateVector, Text, Transact};

fn doc_connection(id: &str, user: &str) -> DocConnection {
    DocConnection {
        id: id.into(),
        user: UserInfo {
            id: user.into(),
            name: user.to_uppercase(),
            avatar_url: None,
        },
        can_write: true,
        expires_at_ms: 1_000_000,
        awareness: Vec::new(),
    }
}

fn peer(client_id: u64) -> Doc {
    let mut options = Options::with_client_id(yrs::block::ClientID::new(client_id));
    options.offset_kind = OffsetKind::Utf16;
    Doc::with_options(options)
}

/// A peer's update typing `words` at the start of the description.
fn typed(peer: &Doc, words: &str) -> Vec<u8> {
    let text = peer.get_or_insert_text(crate::doc::ROOT);
    let mut txn = peer.transact_mut();
    text.insert(&mut txn, 0, words);
    txn.encode_update_v1()
}

fn sent(effects: &Effects) -> Vec<(&'static str, DocMessage<'_>)> {
    effects
        .frames
        .iter()
        .filter_map(|frame| match frame {
            Outbound::DocReply(bytes) => Some(("reply", parse(bytes).unwrap())),
            Outbound::DocOthers(bytes) => Some(("others", parse(bytes).unwrap())),
            Outbound::DocAll(bytes) => Some(("all", parse(bytes).unwrap())),
            _ => None,
        })
        .collect()
}

fn closed_with(effects: &Effects) -> Option<u16> {
    effects.frames.iter().find_map(|frame| match frame {
        Outbound::Close { code, .. } => Some(*code),
        _ => None,
    })
}

fn connect(snapshot: DocConnectSnapshot<'_>) -> (DocConnection, Effects) {
    match on_doc_connect(snapshot) {
        DocConnected::Accepted {
            connection,
            effects,
        } => (connection, effects),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_connect_gets_step_1_then_everyone_live_and_ghosts_are_dropped() {
    let (limits, ana) = (Limits::default(), joining("ana", None));
    let (doc, _) = SharedDoc::seed(7, "hi");
    let state = |connection_id: &str, client_id| AwarenessState {
        client_id,
        connection_id: connection_id.into(),
        clock: 1,
        state: r#"{"user":"x"}"#.into(),
    };
    let (connection, effects) = connect(DocConnectSnapshot {
        now_ms: 0,
        limits: &limits,
        connection_id: "new".into(),
        joining: &ana,
        task_gone: false,
        open_sockets: 1,
        open_of_user: 0,
        connect_window: None,
        cooling_ms: None,
        state_vector: doc.state_vector(),
        awareness: vec![state("live", 11), state("ghost", 22)],
        live: ["live".to_owned()].into(),
    });
    assert_eq!(effects.doc_attachments, std::slice::from_ref(&connection));
    match &sent(&effects)[..] {
        [("reply", DocMessage::SyncStep1(_)), ("reply", DocMessage::Awareness(states))] => {
            assert_eq!(states.states.keys().collect::<Vec<_>>(), [&11]);
        }
        other => panic!("{other:?}"),
    }
    assert!(effects.storage.contains(&StorageWrite::AwarenessGone {
        connection_id: "ghost".into()
    }));
    assert_eq!(effects.alarm, Alarm::NoLaterThan(connection.expires_at_ms));
}

#[test]
fn document_sockets_have_their_own_share_and_count_toward_the_room() {
    let limits = Limits {
        max_connections: 3,
        max_connections_per_user: 2,
        ..Limits::default()
    };
    let ana = joining("ana", None);
    let snapshot = |open_sockets, open_of_user| DocConnectSnapshot {
        now_ms: 0,
        limits: &limits,
        connection_id: "new".into(),
        joining: &ana,
        task_gone: false,
        open_sockets,
        open_of_user,
        connect_window: None,
        cooling_ms: None,
        state_vector: Vec::new(),
        awareness: Vec::new(),
        live: BTreeSet::new(),
    };
    assert!(matches!(
        on_doc_connect(snapshot(3, 0)),
        DocConnected::Refused {
            code: close::TRY_AGAIN_LATER,
            ..
        }
    ));
    assert!(matches!(
        on_doc_connect(snapshot(2, 2)),
        DocConnected::Refused {
            code: close::TOO_MANY_FOR_USER,
            ..
        }
    ));
    let (_, effects) = connect(snapshot(2, 1));
    assert!(effects.storage.contains(&StorageWrite::ConnectWindow {
        user_id: doc_window_key("ana"),
        window: ConnectWindow {
            start_ms: 0,
            count: 1
        }
    }));
    let mut gone = snapshot(0, 0);
    gone.task_gone = true;
    assert_eq!(on_doc_connect(gone), DocConnected::NotFound);
}

#[test]
fn an_edit_is_stored_relayed_and_scheduled_for_d1() {
    let (mut doc, seed) = SharedDoc::seed(7, "");
    let ana_peer = peer(101);
    ana_peer
        .transact_mut()
        .apply_update(yrs::Update::decode_v1(&seed).unwrap())
        .unwrap();
    let update = typed(&ana_peer, "hello");
    let effects = on_doc_sync(
        &doc_connection("c1", "ana"),
        DocMessage::Update(&update),
        &mut doc,
        None,
        Stored::default(),
        5_000,
    );
    assert_eq!(doc.text(), "hello");
    assert_eq!(effects.storage[0], StorageWrite::DocUpdate(update.clone()));
    assert!(
        matches!(&sent(&effects)[..], [("others", DocMessage::Update(u))] if *u == update.as_slice())
    );
    assert_eq!(effects.alarm, Alarm::NoLaterThan(7_000));
    assert!(matches!(
        effects.storage.last(),
        Some(StorageWrite::Unsaved(Some(unsaved))) if unsaved.editors[0].id == "ana"
    ));
    // Past the compaction threshold the same edit also stores a snapshot.
    let more = typed(&ana_peer, "!");
    let many = Stored {
        updates: COMPACT_AFTER_UPDATES,
    };
    let effects = on_doc_sync(
        &doc_connection("c1", "ana"),
        DocMessage::Update(&more),
        &mut doc,
        None,
        many,
        6_000,
    );
    assert!(effects
        .storage
        .iter()
        .any(|w| matches!(w, StorageWrite::DocSnapshot(_))));
}

use yrs::updates::decoder::Decode;

#[test]
fn step_1_is_answered_with_what_the_peer_lacks() {
    let (mut doc, _) = SharedDoc::seed(7, "seeded");
    let sv = StateVector::default().encode_v1();
    let effects = on_doc_sync(
        &doc_connection("c1", "ana"),
        DocMessage::SyncStep1(&sv),
        &mut doc,
        None,
        Stored::default(),
        0,
    );
    match &sent(&effects)[..] {
        [("reply", DocMessage::SyncStep2(update))] => {
            let late = peer(5);
            let text = late.get_or_insert_text(crate::doc::ROOT);
            late.transact_mut()
                .apply_update(yrs::Update::decode_v1(update).unwrap())
                .unwrap();
            assert_eq!(text.get_string(&late.transact()), "seeded");
        }
        other => panic!("{other:?}"),
    }
}

use yrs::GetString;

#[test]
fn a_viewer_is_told_no_and_the_document_is_untouched() {
    let (mut doc, _) = SharedDoc::seed(7, "read me");
    let mut viewer = doc_connection("v1", "vic");
    viewer.can_write = false;
    let update = typed(&peer(202), "graffiti ");
    let effects = on_doc_sync(
        &viewer,
        DocMessage::Update(&update),
        &mut doc,
        None,
        Stored::default(),
        0,
    );
    assert_eq!(doc.text(), "read me");
    assert!(
        matches!(&effects.frames[..], [Outbound::DocReply(bytes)] if bytes.starts_with(&[2, 0]))
    );
    assert!(!effects
        .storage
        .iter()
        .any(|w| matches!(w, StorageWrite::DocUpdate(_))));
    // Its empty step 2 after connecting is no edit, and says nothing.
    let quiet = on_doc_sync(
        &viewer,
        DocMessage::SyncStep2(&[0, 0]),
        &mut doc,
        None,
        Stored::default(),
        0,
    );
    assert!(quiet.frames.is_empty());
}

#[test]
fn refusals_close_with_their_codes() {
    let limits = Limits {
        doc_messages_per_sec: 3,
        doc_max_frame_bytes: 16,
        ..Limits::default()
    };
    let ana = doc_connection("c1", "ana");
    let code = |result: Result<DocMessage<'_>, Box<Effects>>| match result {
        Err(effects) => closed_with(&effects),
        Ok(_) => None,
    };
    assert_eq!(
        code(admit_doc_frame(&ana, Frame::Text("{}"), 0, &limits)),
        Some(close::UNSUPPORTED)
    );
    // The room's keep-alive is answered, as on every socket.
    let pong = admit_doc_frame(&ana, Frame::Text(crate::protocol::PING_FRAME), 0, &limits);
    assert!(matches!(
        pong.unwrap_err().frames.as_slice(),
        [Outbound::Reply(crate::protocol::ServerMessage::Pong {
            id: None
        })]
    ));
    assert_eq!(
        code(admit_doc_frame(&ana, Frame::Binary(&[9, 9]), 0, &limits)),
        Some(close::INVALID_PAYLOAD)
    );
    assert_eq!(
        code(admit_doc_frame(&ana, Frame::Binary(&[0; 17]), 0, &limits)),
        Some(close::TOO_BIG)
    );
    assert_eq!(
        admit_doc_frame(&ana, Frame::Binary(&[3]), 10, &limits).ok(),
        Some(DocMessage::QueryAwareness)
    );
    let mut expired = ana.clone();
    expired.expires_at_ms = 5;
    assert_eq!(
        code(admit_doc_frame(&expired, Frame::Binary(&[3]), 5, &limits)),
        Some(close::TOKEN_EXPIRED)
    );
    // An update for another root, and one that does not decode.
    let (mut doc, _) = SharedDoc::seed(7, "");
    let other = peer(9);
    let title = other.get_or_insert_text("title");
    let bad = {
        let mut txn = other.transact_mut();
        title.insert(&mut txn, 0, "x");
        txn.encode_update_v1()
    };
    let refused = on_doc_sync(
        &ana,
        DocMessage::Update(&bad),
        &mut doc,
        None,
        Stored::default(),
        0,
    );
    assert_eq!(closed_with(&refused), Some(close::UPDATE_REFUSED));
    assert!(!refused
        .storage
        .iter()
        .any(|w| matches!(w, StorageWrite::DocUpdate(_))));
    let garbage = on_doc_sync(
        &ana,
        DocMessage::Update(&[1, 1, 1]),
        &mut doc,
        None,
        Stored::default(),
        0,
    );
    assert_eq!(closed_with(&garbage), Some(close::INVALID_PAYLOAD));
}

fn awareness_frame(states: &[(u64, &str)]) -> (Vec<u8>, crate::doc::wire::Awareness) {
    let mut awareness = crate::doc::wire::Awareness::default();
    for (client, state) in states {
        awareness.states.insert(*client, (1, (*state).to_owned()));
    }
    (crate::doc::wire::awareness_message(&awareness), awareness)
}

#[test]
fn awareness_is_kept_and_relayed_for_ones_own_client_ids_only() {
    let ana = doc_connection("c1", "ana");
    let (frame, awareness) = awareness_frame(&[(11, r#"{"name":"Ana"}"#)]);
    let effects = on_awareness(&ana, &awareness, &BTreeMap::new(), &frame);
    assert_eq!(effects.doc_attachments[0].awareness, [11]);
    assert_eq!(effects.frames, [Outbound::DocOthers(frame.clone())]);
    assert!(matches!(&effects.storage[..], [StorageWrite::Awareness(s)] if s.client_id == 11));
    // Bo's socket cannot speak for 11.
    let owners: BTreeMap<u64, String> = [(11, "c1".to_owned())].into();
    let spoof = on_awareness(&doc_connection("c2", "bo"), &awareness, &owners, &frame);
    assert_eq!(closed_with(&spoof), Some(close::NOT_YOURS));
    assert!(spoof.storage.is_empty());
    // Nor can one socket speak for more than its share of client ids.
    let mut greedy = ana.clone();
    greedy.awareness = (100..100 + AWARENESS_MAX_IDS as u64).collect();
    assert_eq!(
        closed_with(&on_awareness(&greedy, &awareness, &BTreeMap::new(), &frame)),
        Some(close::NOT_YOURS)
    );
    // Nor send a state past its size.
    let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(AWARENESS_MAX_STATE_BYTES));
    let (frame, awareness) = awareness_frame(&[(11, &big)]);
    assert_eq!(
        closed_with(&on_awareness(&ana, &awareness, &owners, &frame)),
        Some(close::TOO_BIG)
    );
}

#[test]
fn the_last_editor_leaving_flushes_compacts_and_ends_its_awareness() {
    let (doc, _) = SharedDoc::seed(7, "text");
    let ana = doc_connection("c1", "ana");
    let actor = crate::protocol::Actor {
        id: "ana".into(),
        name: "ANA".into(),
    };
    let unsaved = crate::doc::flush::edited(None, &actor, 0);
    let states = vec![AwarenessState {
        client_id: 11,
        connection_id: "c1".into(),
        clock: 4,
        state: "{}".into(),
    }];
    let effects = on_doc_close(DocCloseSnapshot {
        gone: &ana,
        states: states.clone(),
        writers_left: 0,
        unsaved: Some(unsaved.clone()),
        stored: Stored { updates: 3 },
        doc: Some(&doc),
    });
    assert_eq!(effects.flush, Some(vec![actor]));
    match &sent(&effects)[..] {
        [("others", DocMessage::Awareness(ended))] => {
            assert_eq!(ended.states[&11], (5, "null".to_owned()))
        }
        other => panic!("{other:?}"),
    }
    assert!(effects
        .storage
        .iter()
        .any(|w| matches!(w, StorageWrite::DocSnapshot(_))));
    // Another editor still typing: no flush yet, nothing compacted.
    let effects = on_doc_close(DocCloseSnapshot {
        gone: &ana,
        states,
        writers_left: 1,
        unsaved: Some(unsaved),
        stored: Stored { updates: 3 },
        doc: Some(&doc),
    });
    assert_eq!(effects.flush, None);
    assert!(!effects
        .storage
        .iter()
        .any(|w| matches!(w, StorageWrite::DocSnapshot(_))));
}

#[test]
fn a_rest_write_reaches_the_document_as_one_edit() {
    let (mut doc, _) = SharedDoc::seed(7, "hello world");
    let effects = on_description_written(&mut doc, "hello brave world");
    assert_eq!(doc.text(), "hello brave world");
    assert!(matches!(
        &sent(&effects)[..],
        [("all", DocMessage::Update(_))]
    ));
    assert_eq!(effects.storage.last(), Some(&StorageWrite::Unsaved(None)));
    let same = on_description_written(&mut doc, "hello brave world");
    assert!(same.frames.is_empty());
}
