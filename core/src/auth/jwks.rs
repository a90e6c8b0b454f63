//! When to fetch a project's JWKS again.
//!
//! Supabase's edge caches its JWKS for 10 minutes, so a set is kept no longer than that. A
//! token whose `kid` is not in the set may mean the keys rotated: the set is fetched again
//! at once, but at most once per [`UNKNOWN_KID_REFETCH_MS`], so a flood of made-up `kid`s
//! cannot hammer Supabase. When a fetch fails, a set that is merely old keeps serving (the
//! keys it holds were valid), and with no set at all the answer is 503, not 401.

/// The longest a fetched set is trusted without asking again (`JWKS_CACHE_SECS` may make
/// it shorter, never longer).
pub const MAX_AGE_MS: i64 = 10 * 60 * 1000;
/// The shortest time between two fetches caused by unknown `kid`s: a rotation is picked
/// up within it, and garbage `kid`s cost Supabase one request per isolate per interval.
pub const UNKNOWN_KID_REFETCH_MS: i64 = 5 * 1000;

/// What the cache knows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheTimes {
    /// When the held set was fetched; `None` when there is none.
    pub fetched_at_ms: Option<i64>,
    /// When the last fetch was tried, successful or not.
    pub attempted_at_ms: Option<i64>,
}

/// Why a verifier asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// It needs any key (nothing verified yet).
    Keys,
    /// It holds a set, but not the token's `kid`.
    UnknownKid,
}

/// Whether to fetch the JWKS now; `max_age_ms` is how long a set is kept (at most
/// [`MAX_AGE_MS`]).
pub fn should_fetch(times: CacheTimes, need: Need, now_ms: i64, max_age_ms: i64) -> bool {
    let since_attempt = times.attempted_at_ms.map(|at| now_ms - at);
    let max_age = max_age_ms.min(MAX_AGE_MS);
    match (need, times.fetched_at_ms) {
        // nothing held: ask, but not in a tight loop while the JWKS is down
        (_, None) => since_attempt.is_none_or(|ms| ms >= 1000),
        (Need::Keys, Some(fetched)) => {
            now_ms - fetched >= max_age && since_attempt.is_none_or(|ms| ms >= 1000)
        }
        (Need::UnknownKid, Some(_)) => since_attempt.is_none_or(|ms| ms >= UNKNOWN_KID_REFETCH_MS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(fetched: Option<i64>, attempted: Option<i64>) -> CacheTimes {
        CacheTimes {
            fetched_at_ms: fetched,
            attempted_at_ms: attempted,
        }
    }

    #[test]
    fn a_set_is_kept_ten_minutes_at_most() {
        let fresh = times(Some(0), Some(0));
        assert!(!should_fetch(fresh, Need::Keys, MAX_AGE_MS - 1, MAX_AGE_MS));
        assert!(should_fetch(fresh, Need::Keys, MAX_AGE_MS, MAX_AGE_MS));
        assert!(should_fetch(times(None, None), Need::Keys, 5, MAX_AGE_MS));
    }

    #[test]
    fn unknown_kids_refetch_at_once_but_not_in_a_flood() {
        let held = times(Some(0), Some(0));
        assert!(should_fetch(
            held,
            Need::UnknownKid,
            UNKNOWN_KID_REFETCH_MS,
            MAX_AGE_MS
        ));
        assert!(!should_fetch(
            held,
            Need::UnknownKid,
            UNKNOWN_KID_REFETCH_MS - 1,
            MAX_AGE_MS
        ));
        // a rotation right after the first fetch is picked up within the interval
        let later = times(Some(0), Some(40_000));
        assert!(!should_fetch(later, Need::UnknownKid, 42_000, MAX_AGE_MS));
        assert!(should_fetch(later, Need::UnknownKid, 45_000, MAX_AGE_MS));
    }

    #[test]
    fn a_down_jwks_is_retried_once_a_second_at_most() {
        let failing = times(None, Some(10_000));
        assert!(!should_fetch(failing, Need::Keys, 10_500, MAX_AGE_MS));
        assert!(should_fetch(failing, Need::Keys, 11_000, MAX_AGE_MS));
        // a shorter cache is honoured, a longer one is not
        let fresh = times(Some(0), Some(0));
        assert!(should_fetch(fresh, Need::Keys, 2_000, 2_000));
        assert!(!should_fetch(fresh, Need::Keys, 2_000, 3_600_000));
    }
}
