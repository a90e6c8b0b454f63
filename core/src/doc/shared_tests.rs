//! The shared document against yrs peers that behave like Yjs clients (UTF-16 offsets,
//! encoding v1): edits converge, the limit holds, storage round-trips, and what it refuses
//! never reaches it.

use super::*;
use yrs::{Doc, GetString, OffsetKind, Options, ReadTxn, StateVector, Text, Transact, Update};

const SERVER: u64 = 7;

/// A browser-like peer: its own client id, UTF-16 offsets.
fn peer(client_id: u64) -> Doc {
    let mut options = Options::with_client_id(yrs::block::ClientID::new(client_id));
    options.offset_kind = OffsetKind::Utf16;
    Doc::with_options(options)
}

/// The update `edit` makes on `doc`.
fn edit(doc: &Doc, edit: impl FnOnce(&TextRef, &mut yrs::TransactionMut)) -> Vec<u8> {
    let text = doc.get_or_insert_text(ROOT);
    let mut txn = doc.transact_mut();
    edit(&text, &mut txn);
    txn.encode_update_v1()
}

fn receive(doc: &Doc, update: &[u8]) {
    doc.get_or_insert_text(ROOT);
    doc.transact_mut()
        .apply_update(Update::decode_v1(update).unwrap())
        .unwrap();
}

fn text_of(doc: &Doc) -> String {
    doc.get_or_insert_text(ROOT).get_string(&doc.transact())
}

#[test]
fn concurrent_edits_from_two_peers_converge_in_the_room_and_in_each_other() {
    let (mut room, seed) = SharedDoc::seed(SERVER, "Plan");
    let (ana, bo) = (peer(101), peer(202));
    receive(&ana, &seed);
    receive(&bo, &seed);
    let from_ana = edit(&ana, |t, txn| t.insert(txn, 0, "😀 "));
    let from_bo = edit(&bo, |t, txn| t.insert(txn, 4, " it"));
    for update in [&from_ana, &from_bo] {
        assert!(room.apply(update).unwrap().changed);
    }
    receive(&ana, &from_bo);
    receive(&bo, &from_ana);
    assert_eq!(room.text(), "😀 Plan it");
    assert_eq!(text_of(&ana), room.text());
    assert_eq!(text_of(&bo), room.text());
    assert!(
        !room.apply(&from_ana).unwrap().changed,
        "a repeat adds nothing"
    );
}

#[test]
fn sync_steps_bring_a_late_peer_up_to_date() {
    let (mut room, seed) = SharedDoc::seed(SERVER, "");
    let ana = peer(101);
    receive(&ana, &seed);
    room.apply(&edit(&ana, |t, txn| t.insert(txn, 0, "hello")))
        .unwrap();
    let late = peer(303);
    let remote = late.transact().state_vector();
    receive(&late, &room.missing_for(&remote));
    assert_eq!(text_of(&late), "hello");
    let sv = StateVector::decode_v1(&room.state_vector()).unwrap();
    assert_eq!(sv, ana.transact().state_vector());
}

#[test]
fn storage_round_trips_through_a_snapshot_and_later_updates() {
    let (mut room, seed) = SharedDoc::seed(SERVER, "one");
    let ana = peer(101);
    receive(&ana, &seed);
    let snapshot = room.snapshot();
    let later = edit(&ana, |t, txn| t.insert(txn, 3, " two"));
    room.apply(&later).unwrap();
    let loaded = SharedDoc::load(SERVER, [snapshot.as_slice(), later.as_slice()]).unwrap();
    assert_eq!(loaded.text(), "one two");
    assert!(matches!(
        SharedDoc::load(SERVER, [&[9u8, 9, 9][..]]),
        Err(DocError::Malformed(_))
    ));
}

#[test]
fn past_the_limit_the_room_cuts_the_end_and_every_peer_converges() {
    let (mut room, seed) = SharedDoc::seed(SERVER, "");
    let (ana, bo) = (peer(101), peer(202));
    receive(&ana, &seed);
    receive(&bo, &seed);
    let from_ana = edit(&ana, |t, txn| t.insert(txn, 0, &"a".repeat(6_000)));
    let from_bo = edit(&bo, |t, txn| t.insert(txn, 0, &"😀".repeat(6_000)));
    assert_eq!(room.apply(&from_ana).unwrap().trim, None, "6,000 fit");
    let trim = room.apply(&from_bo).unwrap().trim.expect("12,000 do not");
    assert_eq!(room.text().chars().count(), DESCRIPTION_MAX_CHARS);
    for (peer, other) in [(&ana, &from_bo), (&bo, &from_ana)] {
        receive(peer, other);
        receive(peer, &trim);
        assert_eq!(text_of(peer), room.text());
    }
}

#[test]
fn set_text_is_a_minimal_edit_that_peers_see_as_one() {
    let (mut room, seed) = SharedDoc::seed(SERVER, "hello world");
    let ana = peer(101);
    receive(&ana, &seed);
    let update = room.set_text("hello brave world").expect("a change");
    receive(&ana, &update);
    assert_eq!(text_of(&ana), "hello brave world");
    assert_eq!(room.set_text("hello brave world"), None);
    // Ana typed at the end meanwhile: her words stay after the patch.
    let typed = edit(&ana, |t, txn| t.insert(txn, 17, "!"));
    room.apply(&typed).unwrap();
    let update = room.set_text("Hello brave world!").unwrap();
    receive(&ana, &update);
    assert_eq!(text_of(&ana), "Hello brave world!");
}

#[test]
fn another_root_is_refused_before_it_touches_the_document() {
    let (mut room, _) = SharedDoc::seed(SERVER, "x");
    let eve = peer(666);
    let title = eve.get_or_insert_text("title");
    let update = {
        let mut txn = eve.transact_mut();
        title.insert(&mut txn, 0, "evil");
        txn.encode_update_v1()
    };
    assert!(matches!(
        room.apply(&update),
        Err(DocError::Refused { spoiled: false, .. })
    ));
    assert_eq!(room.text(), "x");
    assert!(room.doc.transact().get_text("title").is_none());
}

#[test]
fn an_update_with_missing_history_spoils_the_copy_and_says_so() {
    let (mut room, seed) = SharedDoc::seed(SERVER, "");
    let ana = peer(101);
    receive(&ana, &seed);
    let _first = edit(&ana, |t, txn| t.insert(txn, 0, "a"));
    let second = edit(&ana, |t, txn| t.insert(txn, 1, "b"));
    assert!(matches!(
        room.apply(&second),
        Err(DocError::Refused { spoiled: true, .. })
    ));
}

#[test]
fn a_day_of_typing_compacts_to_a_few_times_the_text() {
    let (mut room, seed) = SharedDoc::seed(SERVER, "");
    let ana = peer(101);
    receive(&ana, &seed);
    let mut stored = seed.len();
    // 10,000 keystrokes: type, and every tenth one is a backspace.
    for n in 0..10_000u32 {
        let update = edit(&ana, |t, txn| {
            let len = t.len(txn);
            if n % 10 == 9 && len > 0 {
                t.remove_range(txn, len - 1, 1);
            } else {
                t.insert(txn, len, "x");
            }
        });
        stored += update.len();
        room.apply(&update).unwrap();
    }
    let text = room.text();
    let snapshot = room.snapshot();
    assert!(stored > 100_000, "the updates, kept one by one: {stored} B");
    assert!(
        snapshot.len() < 4 * text.len() + 200,
        "the snapshot is {} B for {} characters",
        snapshot.len(),
        text.len()
    );
}
