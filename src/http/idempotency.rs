//! `Idempotency-Key` around a write (see `hero_core::idempotency`): the key is claimed in
//! D1 before the write is made, whatever its target (a create here, an update or a delete
//! in the task's room), and released if the write does not commit. The write completes the
//! claim itself, in its own batch (`store::keys`).
//!
//! An unkeyed write costs nothing here. A keyed one costs one D1 round trip before it (the
//! claim and the read of what is under the key, in one batch), and one more after it only
//! when it did not commit.

use super::RequestContext;
use crate::runtime::now;
use hero_core::error::ApiError;
use hero_core::idempotency::{claim_times, recall, Claim, Recall, StoredResponse};

/// Claims the request's key for it: `None` to go ahead and make the write, the first
/// response to replay for a retry of a committed write, or why not (409 while another
/// request holds the key, 422 if a different request committed under it).
pub async fn claim(
    ctx: &RequestContext<'_>,
    claim: &Claim,
) -> Result<Option<StoredResponse>, ApiError> {
    let caller = ctx.caller;
    let (at, abandoned) = claim_times(now());
    let stored = ctx
        .store
        .claim_key(
            &caller.workspace_id,
            &caller.user_id,
            claim,
            (&at, &abandoned),
        )
        .await?;
    Ok(match recall(stored, claim)? {
        Recall::Fresh => None,
        Recall::Replay(response) => Some(response),
    })
}

/// Lets go of the claim of a write that did not commit (refused, unchanged or failed), so
/// the key can be used again at once. A release that fails is logged: the claim then ends
/// with its lifetime.
pub async fn release(ctx: &RequestContext<'_>, claim: &Claim) {
    let caller = ctx.caller;
    let released = ctx
        .store
        .release_key(&caller.workspace_id, &caller.user_id, claim)
        .await;
    if let Err(cause) = released {
        tracing::warn!(cause = %cause, "an idempotency key claim was not released");
    }
}
