//! What the Workers runtime gives every layer: the clock and the settings.

use worker::Env;

/// Milliseconds since the Unix epoch (the isolate's clock, which only moves between I/O).
pub fn now_ms() -> i64 {
    i64::try_from(worker::Date::now().as_millis()).unwrap_or(i64::MAX)
}

pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(now_ms()).unwrap_or_default()
}

/// Reads a var or a secret (secrets first, so a secret can never be shadowed by a var).
pub fn setting(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
}
