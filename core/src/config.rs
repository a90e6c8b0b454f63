//! Typed configuration, read from the Worker's vars and secrets through a name → value
//! lookup, so the rules are tested without a runtime.
//!
//! A setting that is present but wrong is a deployment mistake: it is reported as a
//! [`ConfigError`] that names the setting, never its value.

use crate::room::Limits;

/// A missing or malformed setting. The message names the setting and never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shortest `JWT_SECRET` accepted: HS256 keys shorter than the hash output are weak.
pub const MIN_SECRET_BYTES: usize = 32;

/// Everything the worker reads from its environment.
pub struct Config {
    /// `JWT_SECRET` (secret): the HS256 key tokens are verified with. Never logged.
    pub jwt_secret: Vec<u8>,
    /// `JWT_LEEWAY_SECS` (var, default 30): clock-skew allowance for `exp`/`nbf`/`iat`.
    pub jwt_leeway_secs: i64,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("jwt_secret", &"<redacted>")
            .field("jwt_leeway_secs", &self.jwt_leeway_secs)
            .finish()
    }
}

impl Config {
    /// Builds the config from a name → value lookup (the Worker `Env` in production).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let secret = lookup("JWT_SECRET").ok_or_else(|| {
            ConfigError("JWT_SECRET is not set (wrangler secret put JWT_SECRET)".into())
        })?;
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ConfigError(format!(
                "JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes"
            )));
        }
        let leeway = match lookup("JWT_LEEWAY_SECS") {
            None => 30,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|secs| (0..=300).contains(secs))
                .ok_or_else(|| ConfigError("JWT_LEEWAY_SECS must be 0 to 300".into()))?,
        };
        Ok(Config {
            jwt_secret: secret.into_bytes(),
            jwt_leeway_secs: leeway,
        })
    }
}

/// Reads the room limits (see [`Limits`] for each var). A var that is present but not a
/// positive number is a deployment mistake and is reported rather than ignored.
pub fn room_limits(lookup: impl Fn(&str) -> Option<String>) -> Result<Limits, ConfigError> {
    let defaults = Limits::default();
    let read = |name: &str, default: i64| -> Result<i64, ConfigError> {
        match lookup(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|value| *value > 0)
                .ok_or_else(|| ConfigError(format!("{name} must be a positive integer"))),
        }
    };
    let as_i64 = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
    Ok(Limits {
        max_frame_bytes: read("ROOM_MAX_FRAME_BYTES", as_i64(defaults.max_frame_bytes))? as usize,
        messages_per_sec: read(
            "ROOM_MESSAGES_PER_SEC",
            i64::from(defaults.messages_per_sec),
        )? as u32,
        max_strikes: read("ROOM_RATE_STRIKES", i64::from(defaults.max_strikes))? as u32,
        max_connections: read("ROOM_MAX_CONNECTIONS", as_i64(defaults.max_connections))? as usize,
        grace_ms: read("PRESENCE_GRACE_MS", defaults.grace_ms)?,
        typing_ttl_ms: read("TYPING_TTL_MS", defaults.typing_ttl_ms)?,
        log_size: read("ROOM_LOG_SIZE", defaults.log_size as i64)? as u64,
        frames_per_sec: read("ROOM_FRAMES_PER_SEC", defaults.frames_per_sec as i64)? as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn reads_secret_and_leeway() {
        let secret = "s".repeat(32);
        let config =
            Config::from_lookup(lookup(&[("JWT_SECRET", &secret), ("JWT_LEEWAY_SECS", "5")]))
                .unwrap();
        assert_eq!(config.jwt_leeway_secs, 5);
        assert!(!format!("{config:?}").contains(&secret));
    }

    #[test]
    fn room_limits_have_defaults_and_refuse_nonsense() {
        assert_eq!(room_limits(lookup(&[])).unwrap(), Limits::default());
        let limits = room_limits(lookup(&[
            ("ROOM_LOG_SIZE", "20"),
            ("PRESENCE_GRACE_MS", "100"),
        ]))
        .unwrap();
        assert_eq!((limits.log_size, limits.grace_ms), (20, 100));
        assert!(room_limits(lookup(&[("ROOM_MAX_CONNECTIONS", "0")])).is_err());
        assert!(room_limits(lookup(&[("TYPING_TTL_MS", "soon")])).is_err());
    }

    #[test]
    fn missing_or_short_secret_is_refused_without_echoing_it() {
        assert!(Config::from_lookup(lookup(&[])).is_err());
        let error = Config::from_lookup(lookup(&[("JWT_SECRET", "short-secret")])).unwrap_err();
        assert!(!error.to_string().contains("short-secret"));
    }
}
