//! Verifying a bearer token on the runtime. The rules are `hero_core::auth`; this keeps the
//! project's JWKS (when `SUPABASE_URL` is set): fetched when an ES256/RS256 token needs it,
//! kept no longer than Supabase caches it, fetched again when a `kid` is unknown (a
//! rotation) but not more often than `hero_core::auth::jwks` allows.
//!
//! The cache is per isolate (the Worker's, and each room's), which is all a cache needs to
//! be: a miss costs one fetch.

use std::cell::RefCell;
use std::rc::Rc;

use futures::lock::Mutex;

use crate::runtime::{now, now_ms};
use hero_core::auth::jwks::{should_fetch, CacheTimes, Need};
use hero_core::auth::{is_asymmetric, AuthError, KeySet, Principal, Verifier};
use hero_core::config::Config;
use hero_core::error::ApiError;

#[derive(Default)]
struct Cache {
    url: String,
    keys: Option<Rc<KeySet>>,
    times: CacheTimes,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
    /// One fetch at a time: requests that need keys while one is under way wait for it.
    static FETCHING: Rc<Mutex<()>> = Rc::new(Mutex::new(()));
}

fn held(url: &str) -> (Option<Rc<KeySet>>, CacheTimes) {
    CACHE.with(|cache| {
        let cache = cache.borrow();
        if cache.url == url {
            (cache.keys.clone(), cache.times)
        } else {
            (None, CacheTimes::default())
        }
    })
}

async fn fetch_jwks(url: &str) -> Result<KeySet, String> {
    let mut response = worker::Fetch::Url(url.parse().map_err(|e| format!("{e}"))?)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status_code() != 200 {
        return Err(format!("HTTP {}", response.status_code()));
    }
    let text = response.text().await.map_err(|e| e.to_string())?;
    KeySet::from_jwks(&text)
}

/// The keys to verify with, fetching them first when `need` says so.
async fn keys(url: &str, need: Need, max_age_ms: i64) -> Option<Rc<KeySet>> {
    let fetching = FETCHING.with(Rc::clone);
    let _turn = fetching.lock().await;
    let (keys, times) = held(url);
    if !should_fetch(times, need, now_ms(), max_age_ms) {
        return keys;
    }
    let attempted = now_ms();
    let fetched = fetch_jwks(url).await;
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.url != url {
            *cache = Cache {
                url: url.to_owned(),
                ..Cache::default()
            };
        }
        cache.times.attempted_at_ms = Some(attempted);
        match fetched {
            Ok(set) => {
                tracing::info!(event = "jwks_fetched", keys = set.len(), "auth");
                cache.keys = Some(Rc::new(set));
                cache.times.fetched_at_ms = Some(attempted);
            }
            // An old set keeps serving: its keys were valid when fetched.
            Err(cause) => tracing::warn!(event = "jwks_unreachable", cause = %cause, "auth"),
        }
        cache.keys.clone()
    })
}

fn refused(error: AuthError) -> ApiError {
    match error {
        AuthError::NotPermitted(message) => ApiError::Forbidden(message.into()),
        other => ApiError::Unauthorized(other.message().to_owned()),
    }
}

/// Verifies `token` as the Worker does for every request; `dev_tokens` says whether the
/// development sign-in is on for it.
pub async fn verify(config: &Config, token: &str, dev_tokens: bool) -> Result<Principal, ApiError> {
    let rules = config.token_rules(dev_tokens);
    let secret = config.jwt_secret.as_deref();
    let Some(url) = config.jwks_url() else {
        return Verifier::new(secret, None, &rules)
            .verify(token, now())
            .map_err(refused);
    };
    let empty = KeySet::default();
    let max_age_ms = config.jwks_cache_secs * 1000;
    let keys = match is_asymmetric(token) {
        true => keys(&url, Need::Keys, max_age_ms).await,
        false => held(&url).0,
    };
    let attempt = |keys: Option<&KeySet>| {
        Verifier::new(secret, Some(keys.unwrap_or(&empty)), &rules).verify(token, now())
    };
    match attempt(keys.as_deref()) {
        Err(AuthError::UnknownKey(_)) if keys.is_none() => Err(ApiError::ServiceUnavailable(
            "the project's signing keys cannot be fetched right now; retry shortly".into(),
        )),
        Err(AuthError::UnknownKey(_)) => {
            let refreshed = self::keys(&url, Need::UnknownKid, max_age_ms).await;
            attempt(refreshed.as_deref()).map_err(refused)
        }
        other => other.map_err(refused),
    }
}
