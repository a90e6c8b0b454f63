//! Idempotency keys (migration 0005): what a committed keyed write answered, stored in the
//! write's own batch, and looked up when the key comes back.

use serde::Deserialize;
use worker::D1PreparedStatement;

use super::{number, optional, text, Store, StoreResult};
use hero_core::idempotency::{Claim, StoredResponse, PURGE_AFTER_HOURS};

const SELECT_KEY: &str = "SELECT fingerprint, status, body, etag, location \
     FROM idempotency_keys WHERE workspace_id = ?1 AND user_id = ?2 AND key = ?3";

/// Follows a change record in a batch: stored only if the record was (`changes() = 1`), so
/// a write that changed nothing leaves no key behind. OR IGNORE: a key is stored once.
const INSERT_KEY_IF_WRITTEN: &str = "INSERT OR IGNORE INTO idempotency_keys \
     (workspace_id, user_id, key, fingerprint, status, body, etag, location, created_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE changes() = 1";

/// The user's keys past their time, removed with each new one (so keys never pile up, and
/// no timer has to run for it).
const PURGE_OLD_KEYS: &str =
    "DELETE FROM idempotency_keys WHERE workspace_id = ?1 AND user_id = ?2 AND created_at < ?3";

pub(super) const STATEMENTS: &[&str] = &[SELECT_KEY, PURGE_OLD_KEYS];

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
}

impl Store {
    /// What is stored under a user's key: its fingerprint and response.
    pub async fn stored_response(
        &self,
        workspace_id: &str,
        user_id: &str,
        claim: &Claim,
    ) -> StoreResult<Option<(String, StoredResponse)>> {
        let statement = self.prepare(
            SELECT_KEY,
            &[text(workspace_id), text(user_id), text(claim.key.as_str())],
        )?;
        let rows: Vec<KeyRow> = self.rows(statement).await?;
        Ok(rows.into_iter().next().map(|row| {
            let response = StoredResponse {
                status: row.status as u16,
                body: row.body,
                etag: row.etag,
                location: row.location,
            };
            (row.fingerprint, response)
        }))
    }

    /// The two statements that store a key after its change record: the insert, then the
    /// purge of the user's expired keys.
    pub(super) fn key_statements(&self, key: &KeyRecord) -> StoreResult<[D1PreparedStatement; 2]> {
        let cutoff = chrono::DateTime::parse_from_rfc3339(&key.at)
            .map(|at| at.to_utc() - chrono::Duration::hours(PURGE_AFTER_HOURS))
            .map(hero_core::task::format_timestamp)
            .unwrap_or_default();
        let insert = self.prepare(
            INSERT_KEY_IF_WRITTEN,
            &[
                text(&key.workspace_id),
                text(&key.user_id),
                text(key.claim.key.as_str()),
                text(&key.claim.fingerprint),
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
        Ok([insert, purge])
    }
}
