//! Property tests of the pure core (proptest): inputs are generated, and the invariants
//! below must hold for every one of them.

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::auth::{sign_dev_token, DevTokenRequest, Role, TokenRules, Verifier};
use crate::listing::{Cursor, ListQuery};
use crate::task::{
    Stamp, Task, TaskChanges, TaskId, DESCRIPTION_MAX_CHARS, TAGS_MAX, TAG_MAX_CHARS,
    TITLE_MAX_CHARS,
};

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        "(todo|in_progress|blocked|in_review|done|low|medium|high|critical|2026-0[1-9]-[0-2][0-9])"
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Objects whose keys are mostly task fields, with values of any type.
fn any_task_body() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("title".to_owned()),
        Just("description".to_owned()),
        Just("status".to_owned()),
        Just("priority".to_owned()),
        Just("assignee_id".to_owned()),
        Just("due_date".to_owned()),
        Just("tags".to_owned()),
        "[a-z_]{1,10}",
    ];
    prop::collection::btree_map(key, any_json(), 0..8)
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()))
}

fn base_task() -> Task {
    let new = TaskChanges::for_create(&json!({"title": "base", "tags": ["a"]})).unwrap();
    let stamp = Stamp {
        actor: "u",
        now: "2026-01-01T00:00:00.000Z",
    };
    Task::create(TaskId::generate(), "ws", new, &stamp)
}

fn assert_task_invariants(task: &Task) {
    let title = task.title.as_str();
    assert!(!title.trim().is_empty() && title == title.trim());
    assert!(title.chars().count() <= TITLE_MAX_CHARS);
    assert!(task.description.chars().count() <= DESCRIPTION_MAX_CHARS);
    assert!(task.tags.as_slice().len() <= TAGS_MAX);
    for tag in task.tags.as_slice() {
        let len = tag.chars().count();
        assert!((1..=TAG_MAX_CHARS).contains(&len));
    }
    assert!(task.version >= 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Validation never panics, and whatever it accepts produces a valid task; a patch
    /// bumps the version exactly when it changes something, and applying it twice changes
    /// nothing the second time (merge patch is idempotent).
    #[test]
    fn validation_and_merge_patch_keep_tasks_valid(body in any_task_body()) {
        let mut task = base_task();
        if let Ok(changes) = TaskChanges::for_patch(&body) {
            let before = task.version;
            let changed = task.apply(changes.clone(), "2026-01-02T00:00:00.000Z");
            assert_task_invariants(&task);
            prop_assert_eq!(task.version, before + i64::from(!changed.is_empty()));
            let again = task.apply(changes, "2026-01-03T00:00:00.000Z");
            prop_assert!(again.is_empty(), "second application changed {:?}", again);
        }
        if let Ok(new) = TaskChanges::for_create(&body) {
            let stamp = Stamp { actor: "u", now: "2026-01-01T00:00:00.000Z" };
            let created = Task::create(TaskId::generate(), "ws", new, &stamp);
            prop_assert_eq!(created.version, 1);
            assert_task_invariants(&created);
        }
    }

    /// Unknown keys are always reported by name.
    #[test]
    fn unknown_fields_are_always_named(key in "[a-z]{3,12}", value in any_json()) {
        prop_assume!(!crate::task::WRITABLE_FIELDS.contains(&key.as_str()));
        let body = json!({ key.clone(): value });
        let errors = TaskChanges::for_patch(&body).unwrap_err();
        prop_assert!(errors.iter().any(|e| e.field == key));
    }

    #[test]
    fn cursors_round_trip(created_at in ".{0,40}", id in ".{0,40}", seq in prop::option::of(any::<i64>())) {
        let cursor = Cursor { created_at, id, seq };
        prop_assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
    }

    #[test]
    fn list_parameters_never_panic(pairs in prop::collection::vec(("(status|assignee|tag|q|limit|cursor|x)", ".{0,300}"), 0..6)) {
        if let Ok(query) = ListQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            prop_assert!((1..=crate::listing::MAX_LIMIT).contains(&query.limit));
        }
    }

    /// Tokens signed with the secret verify back to the same identity; any change to the
    /// signed text, or another secret, is refused; arbitrary strings never panic.
    #[test]
    fn jwt_claims_round_trip_and_tampering_is_caught(
        user in "[a-zA-Z0-9-]{1,40}",
        workspace in "[a-zA-Z0-9_-]{1,40}",
        role in prop_oneof![Just(Role::Viewer), Just(Role::Member), Just(Role::Admin)],
        flip in any::<prop::sample::Index>(),
        garbage in ".{0,200}",
    ) {
        let secret = b"property-secret-property-secret-!";
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let request = DevTokenRequest {
            user_id: user.clone(),
            name: user.clone(),
            workspace_id: workspace.clone(),
            role,
            ttl: chrono::Duration::hours(1),
        };
        let token = sign_dev_token(secret, &request, now);
        let rules = TokenRules::lenient_for_tests();
        let verifier = Verifier::new(Some(secret), None, &rules);
        let principal = verifier.verify(&token, now).unwrap();
        prop_assert_eq!(&principal.user_id, &user);
        prop_assert_eq!(&principal.workspace_id, &workspace);
        prop_assert_eq!(principal.role, role);
        let other: &[u8] = b"another-secret-another-secret-!!!";
        prop_assert!(Verifier::new(Some(other), None, &rules).verify(&token, now).is_err());
        let mut bytes = token.clone().into_bytes();
        let at = flip.index(bytes.len());
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        if tampered != token {
            prop_assert!(verifier.verify(&tampered, now).is_err(), "tampered at {}", at);
        }
        let _ = verifier.verify(&garbage, now);
    }
}

mod rooms;
