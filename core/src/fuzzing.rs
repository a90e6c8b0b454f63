//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the corpus replay in the
//! unit tests, so `make test` re-checks every saved input without a fuzzer.

use crate::auth::{TokenRules, Verifier};
use crate::listing::ListQuery;
use crate::protocol::{parse_client_message, UserInfo};
use crate::room::{on_frame, Connection, Frame, FrameSnapshot, Limits, RoomKind};
use crate::task::TaskChanges;

/// A client WebSocket frame: parsed, then run through the room state machine.
pub fn client_frame(data: &[u8]) {
    let connection = Connection {
        id: "fuzz".into(),
        user: UserInfo {
            id: "fuzzer".into(),
            name: "Fuzzer".into(),
            avatar_url: None,
        },
        can_write: data.first().is_some_and(|b| b % 2 == 0),
        dev_tokens: false,
        expires_at_ms: i64::MAX,
        typing: None,
        editing: None,
    };
    let limits = Limits::default();
    let snapshot = FrameSnapshot {
        connection: &connection,
        now_ms: 0,
        limits: &limits,
        kind: RoomKind::Task,
    };
    match std::str::from_utf8(data) {
        Ok(text) => {
            let _ = parse_client_message(text);
            let _ = on_frame(snapshot, Frame::Text(text));
        }
        Err(_) => {
            let _ = on_frame(snapshot, Frame::Binary(data));
        }
    }
}

/// A frame on a document socket, by a writer: admitted, parsed, and decided against a
/// document holding some text. Whatever it is, the document keeps its rules: one text, at
/// most [`crate::task::DESCRIPTION_MAX_CHARS`] characters.
pub fn doc_frame(data: &[u8]) {
    use crate::doc::wire::DocMessage;
    use crate::room::{admit_doc_frame, on_awareness, on_doc_sync, DocConnection, Stored};
    let connection = DocConnection {
        id: "fuzz".into(),
        user: UserInfo {
            id: "fuzzer".into(),
            name: "Fuzzer".into(),
            avatar_url: None,
        },
        can_write: true,
        expires_at_ms: i64::MAX,
        awareness: Vec::new(),
    };
    let (mut doc, _) = crate::doc::SharedDoc::seed(7, "fuzzed text");
    let Ok(message) = admit_doc_frame(&connection, Frame::Binary(data), 0, &Limits::default())
    else {
        return;
    };
    match message {
        DocMessage::Awareness(awareness) => {
            let _ = on_awareness(&connection, &awareness, &Default::default(), data);
        }
        DocMessage::QueryAwareness => {}
        sync => {
            let effects = on_doc_sync(&connection, sync, &mut doc, None, Stored::default(), 0);
            if !effects.reload_doc {
                assert!(doc.text().chars().count() <= crate::task::DESCRIPTION_MAX_CHARS);
            }
        }
    }
}

/// A request body and query string: task validation (create and patch), list parameters and
/// token parsing.
pub fn request_body(data: &[u8]) {
    // Parsed as the Worker parses a body (a repeated key refused), which is fuzzed with it.
    if let Ok(value) = crate::json::parse_strict(data) {
        let _ = TaskChanges::for_create(&value);
        let _ = TaskChanges::for_patch(&value);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let pairs: Vec<(&str, &str)> = text
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .collect();
        let _ = ListQuery::parse(pairs);
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let rules = TokenRules::lenient_for_tests();
        let _ = Verifier::new(Some(b"fuzz-secret-fuzz-secret-fuzz-secret"), None, &rules)
            .verify(text, now);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every input in fuzz/corpus goes through its target again (no fuzzer needed).
    #[test]
    fn the_fuzz_corpus_replays_cleanly() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        let mut replayed = 0;
        for (target, run) in [
            ("client_frame", super::client_frame as fn(&[u8])),
            ("request_body", super::request_body),
            ("doc_frame", super::doc_frame),
        ] {
            let dir = root.join(target);
            for entry in std::fs::read_dir(&dir).expect("corpus dir") {
                let data = std::fs::read(entry.expect("entry").path()).expect("corpus file");
                run(&data);
                replayed += 1;
            }
        }
        assert!(
            replayed >= 10,
            "the corpus should not be empty ({replayed})"
        );
    }
}
