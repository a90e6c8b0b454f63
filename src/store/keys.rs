//! Idempotency keys (migrations 0005 and 0007): claimed before the write, completed with
//! the response in the write's own batch, released when the write does not commit (see
//! `hero_core::idempotency`).

use serde::Deserialize;
use worker::D1PreparedStatement;

use super::{number, optional, text, Store, StoreError, StoreResult};
use hero_core::idempotency::{Claim, StoredKey, StoredResponse, PURGE_AFTER_HOURS};

/// Takes the key for a claim: a new row, or a claim past its lifetime (`?7`: `created_at`
/// before it) taken over. A committed key or a live claim is left as it is. Only one
/// request can win: the primary key is (workspace, user, key).
const CLAIM_KEY: &str = "INSERT INTO idempotency_keys \
     (workspace_id, user_id, key, fingerprint, status, created_at, claim) \
     VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6) \
     ON CONFLICT (workspace_id, user_id, key) DO UPDATE \
     SET fingerprint = excluded.fingerprint, created_at = excluded.created_at, \
        claim = excluded.claim, status = 0, body = NULL, etag = NULL, location = NULL \
     WHERE idempotency_keys.claim IS NOT NULL AND idempotency_keys.created_at < ?7";

/// What is under the key after the claim, read in the claim's own batch.
const SELECT_KEY: &str = "SELECT fingerprint, status, body, etag, location, claim \
     FROM idempotency_keys WHERE workspace_id = ?1 AND user_id = ?2 AND key = ?3";

/// Follows a change record in a batch: completes the claim only if the record was written
/// (`changes() = 1`), so a write that changed nothing leaves the claim to be released; and
/// only this request's claim (`?4`), never one that took the key over since.
const COMPLETE_KEY_IF_WRITTEN: &str = "UPDATE idempotency_keys \
     SET status = ?5, body = ?6, etag = ?7, location = ?8, created_at = ?9, claim = NULL \
     WHERE workspace_id = ?1 AND user_id = ?2 AND key = ?3 AND claim = ?4 AND changes() = 1";

/// A write that did not commit lets go of its claim, so the key is free at once.
const RELEASE_KEY: &str = "DELETE FROM idempotency_keys \
     WHERE workspace_id = ?1 AND user_id = ?2 AND key = ?3 AND claim = ?4";

/// The user's keys past their time, removed with each new one (so keys never pile up, and
/// no timer has to run for it).
const PURGE_OLD_KEYS: &str =
    "DELETE FROM idempotency_keys WHERE workspace_id = ?1 AND user_id = ?2 AND created_at < ?3";

pub(super) const STATEMENTS: &[&str] = &[
    SELECT_KEY,
    COMPLETE_KEY_IF_WRITTEN,
    RELEASE_KEY,
    PURGE_OLD_KEYS,
];

/// A keyed write's key and the response it gives, committed with the write.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub workspace_id: String,
    pub user_id: String,
    pub claim: Claim,
    pub response: StoredResponse,
    /// When the write was made (RFC 3339), the key's age.
    pub at: String,
}

#[derive(Deserialize)]
struct KeyRow {
    fingerprint: String,
    status: f64,
    body: Option<String>,
    etag: Option<String>,
    location: Option<String>,
    claim: Option<String>,
}

impl KeyRow {
    fn into_stored(self) -> StoredKey {
        StoredKey {
            fingerprint: self.fingerprint,
            claim: self.claim,
            response: StoredResponse {
                status: self.status as u16,
                body: self.body,
                etag: self.etag,
                location: self.location,
            },
        }
    }
}

impl Store {
    /// Tries to take the user's key for `claim` (`at`: now; `abandoned`: before when a
    /// claim is past its lifetime) and reads what is under the key then, in one batch.
    pub async fn claim_key(
        &self,
        workspace_id: &str,
        user_id: &str,
        claim: &Claim,
        (at, abandoned): (&str, &str),
    ) -> StoreResult<Option<StoredKey>> {
        let (workspace, user, key) = (text(workspace_id), text(user_id), text(claim.key.as_str()));
        let take = self.prepare(
            CLAIM_KEY,
            &[
                workspace.clone(),
                user.clone(),
                key.clone(),
                text(&claim.fingerprint),
                text(at),
                text(&claim.id),
                text(abandoned),
            ],
        )?;
        let read = self.prepare(SELECT_KEY, &[workspace, user, key])?;
        let results = self.batch(vec![take, read]).await?;
        if let Some(error) = results.iter().find_map(|result| result.error()) {
            return Err(StoreError::Failed(error));
        }
        let rows: Vec<KeyRow> = match results.get(1) {
            Some(result) => result.results()?,
            None => {
                return Err(StoreError::Failed(
                    "D1 batch returned too few results".into(),
                ))
            }
        };
        Ok(rows.into_iter().next().map(KeyRow::into_stored))
    }

    /// Lets go of `claim` (a write that did not commit). A claim completed meanwhile, or
    /// taken over, is not this one's to remove, and stays.
    pub async fn release_key(
        &self,
        workspace_id: &str,
        user_id: &str,
        claim: &Claim,
    ) -> StoreResult<()> {
        let statement = self.prepare(
            RELEASE_KEY,
            &[
                text(workspace_id),
                text(user_id),
                text(claim.key.as_str()),
                text(&claim.id),
            ],
        )?;
        self.batch(vec![statement]).await.map(drop)
    }

    /// The two statements that complete a claim after its change record: the completion,
    /// then the purge of the user's expired keys.
    pub(super) fn key_statements(&self, key: &KeyRecord) -> StoreResult<[D1PreparedStatement; 2]> {
        let cutoff = chrono::DateTime::parse_from_rfc3339(&key.at)
            .map(|at| at.to_utc() - chrono::Duration::hours(PURGE_AFTER_HOURS))
            .map(hero_core::task::format_timestamp)
            .unwrap_or_default();
        let complete = self.prepare(
            COMPLETE_KEY_IF_WRITTEN,
            &[
                text(&key.workspace_id),
                text(&key.user_id),
                text(key.claim.key.as_str()),
                text(&key.claim.id),
                number(i64::from(key.response.status)),
                optional(key.response.body.as_deref()),
                optional(key.response.etag.as_deref()),
                optional(key.response.location.as_deref()),
                text(&key.at),
            ],
        )?;
        let purge = self.prepare(
            PURGE_OLD_KEYS,
            &[text(&key.workspace_id), text(&key.user_id), text(&cutoff)],
        )?;
        Ok([complete, purge])
    }
}
