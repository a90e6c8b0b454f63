//! Idempotency keys: a write retried with the same `Idempotency-Key` gets the first answer
//! again and commits nothing new (in the spirit of the IETF httpapi idempotency-key draft).
//!
//! A key belongs to one user in one workspace, across every target: the same key on a PATCH
//! of one task, a PATCH of another and a create is one key. What a keyed request *is* goes
//! into its [`fingerprint`] (method, path, `If-Match` and body).
//!
//! The key is **claimed before the write**: a row in D1's `idempotency_keys` that names this
//! request's [`Claim::id`] (migration 0007), taken in one statement that only one request
//! can win. The write completes the claim in its own D1 batch, storing its response, so
//! there is no moment at which the write is committed and the key is not (or the other way
//! round). A write that does not commit (refused, unchanged, failed) releases the claim.
//! Then, for the next request under the key ([`recall`]):
//!
//! - claimed by it: make the request ([`Recall::Fresh`]);
//! - held by another request still being made: 409 with `Retry-After`
//!   ([`ApiError::IdempotencyKeyInUse`]), whatever the request;
//! - committed, same fingerprint: the stored response, marked replayed;
//! - committed, another fingerprint: 422 ([`ApiError::IdempotencyKeyReused`]);
//! - released (the first was refused: 412, 422, …): nothing stored, decided afresh.
//!
//! A claim whose writer died (it neither completed nor released it) holds its key for
//! [`CLAIM_LIFETIME_SECS`]; after that, the next request under the key takes it over. A
//! keyed create also gets its task id from its key ([`task_id_for_create`]), so even then
//! two creates cannot both insert.
//!
//! Keys are kept at least [`KEEP_HOURS_AT_LEAST`]; each keyed write removes its user's keys
//! past [`PURGE_AFTER_HOURS`].

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::conditional::etag;
use crate::error::ApiError;
use crate::task::{format_timestamp, Change, ChangeKind, TaskId};

/// The request header.
pub const KEY_HEADER: &str = "Idempotency-Key";
/// The response header on a replayed response.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
/// The longest key accepted.
pub const KEY_MAX_CHARS: usize = 255;
/// How long a key is kept, at least.
pub const KEEP_HOURS_AT_LEAST: i64 = 24;
/// Keys older than this go (twice the promise, so a key is never removed early by a
/// clock that runs late).
pub const PURGE_AFTER_HOURS: i64 = 48;
/// How long a claim holds its key when its writer neither completes nor releases it (the
/// Worker or the room died mid-write). A write takes milliseconds and D1 gives up on a
/// query long before this, so a live writer never loses its claim.
pub const CLAIM_LIFETIME_SECS: i64 = 60;

/// A valid `Idempotency-Key`: 1 to [`KEY_MAX_CHARS`] printable ASCII characters, with no
/// space at either end (a UUID is what clients should send).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let printable = raw.bytes().all(|b| (0x20..=0x7e).contains(&b));
        let trimmed = raw.trim() == raw;
        if raw.is_empty() || raw.len() > KEY_MAX_CHARS || !printable || !trimmed {
            return Err(ApiError::BadRequest(format!(
                "{KEY_HEADER} must be 1 to {KEY_MAX_CHARS} printable ASCII characters, \
                 with no spaces at the ends"
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The JSON Schema `pattern` of the header: what [`IdempotencyKey::parse`] accepts,
    /// apart from the length.
    pub const PATTERN: &'static str = "^[!-~]([ -~]*[!-~])?$";
}

/// A keyed request's claim on its key: the key, what the request asked for, and the
/// claim's own random id, so a write completes and a refusal releases only its own claim
/// (never one that took over the key after this one's lifetime).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub key: IdempotencyKey,
    pub fingerprint: String,
    pub id: String,
}

impl Claim {
    /// A new claim for a request with `fingerprint`, with a fresh random id.
    pub fn new(key: IdempotencyKey, fingerprint: String) -> Self {
        Claim {
            key,
            fingerprint,
            id: uuid::Uuid::new_v4().simple().to_string(),
        }
    }
}

/// When a claim made at `now` began (RFC 3339, its row's `created_at`), and before when a
/// claim counts as abandoned (`now` less [`CLAIM_LIFETIME_SECS`]).
pub fn claim_times(now: chrono::DateTime<chrono::Utc>) -> (String, String) {
    let abandoned = now - chrono::Duration::seconds(CLAIM_LIFETIME_SECS);
    (format_timestamp(now), format_timestamp(abandoned))
}

/// What a request is, for telling its retry from a different request under the same key:
/// SHA-256 over the method, the path, `If-Match` as sent and the body bytes.
pub fn fingerprint(method: &str, path: &str, if_match: Option<&str>, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [
        method.as_bytes(),
        path.as_bytes(),
        if_match.unwrap_or("").as_bytes(),
    ] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.update(body);
    hash.finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The response a committed keyed write gave, as it is stored and replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    /// The JSON body (`None` for a 204).
    pub body: Option<String>,
    pub etag: Option<String>,
    pub location: Option<String>,
}

impl StoredResponse {
    /// The response a committed change gives, as the Worker renders it: a create's 201
    /// with `Location`, an update's 200, each with the task and its `ETag`; a delete's 204.
    pub fn of(change: &Change) -> Self {
        let task = &change.task;
        let with_task = |status| StoredResponse {
            status,
            body: serde_json::to_string(task).ok(),
            etag: Some(etag(task.version)),
            location: None,
        };
        match change.kind {
            ChangeKind::Created => StoredResponse {
                location: Some(format!("/api/tasks/{}", task.id)),
                ..with_task(201)
            },
            ChangeKind::Updated => with_task(200),
            ChangeKind::Deleted => StoredResponse {
                status: 204,
                body: None,
                etag: None,
                location: None,
            },
        }
    }
}

/// What is under a key once a request has tried to claim it (the claim and this read are
/// one D1 batch, so there is always a row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub fingerprint: String,
    /// The claim holding the key while its write is made; `None` once it committed.
    pub claim: Option<String>,
    /// What the committed write answered (meaningless while claimed).
    pub response: StoredResponse,
}

/// What to do with a keyed request, given what its claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recall {
    /// The key is this request's: make it (its write completes the claim, or releases it).
    Fresh,
    /// Its retry: answer with this, commit nothing.
    Replay(StoredResponse),
}

/// Decides from what is stored under the key after `claim` tried to take it.
pub fn recall(stored: Option<StoredKey>, claim: &Claim) -> Result<Recall, ApiError> {
    match stored {
        Some(StoredKey {
            claim: Some(holder),
            ..
        }) if holder == claim.id => Ok(Recall::Fresh),
        // Another request's write is being made under the key (or the row went between
        // the claim and the read, which one batch rules out): try again shortly.
        Some(StoredKey { claim: Some(_), .. }) | None => Err(ApiError::IdempotencyKeyInUse),
        Some(committed) if committed.fingerprint == claim.fingerprint => {
            Ok(Recall::Replay(committed.response))
        }
        Some(_) => Err(ApiError::IdempotencyKeyReused),
    }
}

/// The id a keyed create gives its task: derived from the workspace, the user and the key,
/// so a retried (or racing) create names the same row, and the database's primary key lets
/// only one of them in. It has the shape of a random UUIDv4; the key stays unguessable to
/// others because it is the client's own random value.
pub fn task_id_for_create(workspace_id: &str, user_id: &str, key: &IdempotencyKey) -> TaskId {
    let mut hash = Sha256::new();
    for part in ["create", workspace_id, user_id, key.as_str()] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
    TaskId::parse(&id.hyphenated().to_string()).expect("a hyphenated UUID is a task id")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_printable_ascii_without_outer_spaces() {
        for good in ["a", "0f8b-4c", "with inner space", &"k".repeat(255)] {
            assert!(IdempotencyKey::parse(good).is_ok(), "{good:?}");
        }
        for bad in ["", " a", "a ", "tab\there", "é", "line\n", &"k".repeat(256)] {
            let error = IdempotencyKey::parse(bad).unwrap_err();
            assert_eq!(error.status_code(), 400, "{bad:?}");
        }
    }

    #[test]
    fn the_pattern_says_what_parse_accepts() {
        // A tiny matcher for this one pattern: first and last visible, middle printable.
        let matches = |s: &str| {
            let bytes = s.as_bytes();
            let visible = |b: &u8| (0x21..=0x7e).contains(b);
            let printable = |b: &u8| (0x20..=0x7e).contains(b);
            !bytes.is_empty()
                && visible(&bytes[0])
                && visible(&bytes[bytes.len() - 1])
                && bytes.iter().all(printable)
        };
        assert_eq!(IdempotencyKey::PATTERN, "^[!-~]([ -~]*[!-~])?$");
        for s in ["a", "ab", "a b", " a", "a ", "", "\u{7f}", "~", "a\u{1}b"] {
            assert_eq!(matches(s), IdempotencyKey::parse(s).is_ok(), "{s:?}");
        }
    }

    #[test]
    fn a_fingerprint_changes_with_every_part() {
        let base = fingerprint("PATCH", "/api/tasks/1", Some("\"3\""), b"{\"title\":\"a\"}");
        assert_eq!(base.len(), 64);
        assert_eq!(
            base,
            fingerprint("PATCH", "/api/tasks/1", Some("\"3\""), b"{\"title\":\"a\"}")
        );
        for other in [
            fingerprint(
                "DELETE",
                "/api/tasks/1",
                Some("\"3\""),
                b"{\"title\":\"a\"}",
            ),
            fingerprint("PATCH", "/api/tasks/2", Some("\"3\""), b"{\"title\":\"a\"}"),
            fingerprint("PATCH", "/api/tasks/1", None, b"{\"title\":\"a\"}"),
            fingerprint("PATCH", "/api/tasks/1", Some("\"3\""), b"{\"title\":\"b\"}"),
            // parts are length-prefixed, so moving bytes between them is a different request
            fingerprint("PATCH", "/api/tasks/1\"3\"", Some(""), b"{\"title\":\"a\"}"),
        ] {
            assert_ne!(base, other);
        }
    }

    fn claim(id: &str, fingerprint: &str) -> Claim {
        Claim {
            key: IdempotencyKey::parse("k").unwrap(),
            fingerprint: fingerprint.into(),
            id: id.into(),
        }
    }

    fn stored(holder: Option<&str>, fingerprint: &str) -> Option<StoredKey> {
        Some(StoredKey {
            fingerprint: fingerprint.into(),
            claim: holder.map(str::to_owned),
            response: StoredResponse {
                status: 201,
                body: Some("{}".into()),
                etag: Some("\"1\"".into()),
                location: Some("/api/tasks/x".into()),
            },
        })
    }

    #[test]
    fn a_claim_is_made_once_replayed_once_committed_and_reused_never() {
        let mine = claim("c1", "f");
        assert_eq!(recall(stored(Some("c1"), "f"), &mine), Ok(Recall::Fresh));
        // another request holds it: in use, whether it asks for the same or not
        for fingerprint in ["f", "g"] {
            assert_eq!(
                recall(stored(Some("c0"), fingerprint), &mine),
                Err(ApiError::IdempotencyKeyInUse)
            );
        }
        assert_eq!(recall(None, &mine), Err(ApiError::IdempotencyKeyInUse));
        let committed = stored(None, "f").unwrap();
        assert_eq!(
            recall(Some(committed.clone()), &mine),
            Ok(Recall::Replay(committed.response))
        );
        assert_eq!(
            recall(stored(None, "f"), &claim("c2", "g")),
            Err(ApiError::IdempotencyKeyReused)
        );
    }

    #[test]
    fn claims_have_their_own_ids_and_a_bounded_life() {
        let key = IdempotencyKey::parse("k").unwrap();
        let (a, b) = (
            Claim::new(key.clone(), "f".into()),
            Claim::new(key, "f".into()),
        );
        assert_ne!(a.id, b.id);
        assert_eq!(a.id.len(), 32);
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:01:00Z")
            .unwrap()
            .to_utc();
        let (at, abandoned) = claim_times(now);
        assert_eq!(at, "2026-01-01T00:01:00.000Z");
        assert_eq!(abandoned, "2026-01-01T00:00:00.000Z");
        // stored as text, compared as text: the format sorts as time does
        assert!(abandoned < at);
    }

    #[test]
    fn the_stored_response_is_what_the_worker_sends() {
        let task = crate::task::new_task(serde_json::json!({"title": "A"}));
        let change = |kind| Change {
            kind,
            task: task.clone(),
            changed: Vec::new(),
            previous_status: None,
            actor_id: "ana".into(),
            actor_name: "Ana".into(),
            at: task.created_at.clone(),
            editors: Vec::new(),
        };
        let created = StoredResponse::of(&change(ChangeKind::Created));
        assert_eq!(created.status, 201);
        assert_eq!(created.location, Some(format!("/api/tasks/{}", task.id)));
        assert_eq!(created.etag, Some(etag(task.version)));
        let body: crate::task::Task =
            serde_json::from_str(created.body.as_deref().unwrap()).unwrap();
        assert_eq!(body, task);
        assert_eq!(StoredResponse::of(&change(ChangeKind::Updated)).status, 200);
        let deleted = StoredResponse::of(&change(ChangeKind::Deleted));
        assert_eq!(
            (deleted.status, deleted.body, deleted.etag),
            (204, None, None)
        );
    }

    #[test]
    fn a_keyed_create_has_one_id_per_user_workspace_and_key() {
        let key = IdempotencyKey::parse("k-1").unwrap();
        let id = task_id_for_create("ws", "ana", &key);
        assert_eq!(id, task_id_for_create("ws", "ana", &key));
        assert_ne!(id, task_id_for_create("ws", "bob", &key));
        assert_ne!(id, task_id_for_create("ws2", "ana", &key));
        let other = IdempotencyKey::parse("k-2").unwrap();
        assert_ne!(id, task_id_for_create("ws", "ana", &other));
        // a version-4 shape, like every other task id
        assert_eq!(&id.as_str()[14..15], "4");
    }
}
