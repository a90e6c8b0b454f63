//! Typed configuration, read from the Worker's vars and secrets through a name → value
//! lookup, so the rules are tested without a runtime.
//!
//! A setting that is present but wrong is a deployment mistake: it is reported as a
//! [`ConfigError`] that names the setting, never its value.

use crate::auth::TokenRules;
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

/// Everything the worker reads from its environment to verify tokens.
pub struct Config {
    /// `JWT_SECRET` (secret): the HS256 key, for legacy Supabase projects and development.
    /// Optional once `SUPABASE_URL` is set. Never logged.
    pub jwt_secret: Option<Vec<u8>>,
    /// `SUPABASE_URL` (var): the project whose JWKS verifies ES256/RS256 tokens, and whose
    /// `/auth/v1` every token must name as its issuer. No trailing slash.
    pub supabase_url: Option<String>,
    /// `JWT_LEEWAY_SECS` (var, default 30): clock-skew allowance for `exp`/`nbf`/`iat`.
    pub jwt_leeway_secs: i64,
    /// `JWT_AUDIENCE` (var, default `authenticated`): what `aud` must contain.
    pub jwt_audience: String,
    /// `JWT_MAX_TTL_SECS` (var, default 86400): the longest a token may live from `iat`.
    pub jwt_max_ttl_secs: i64,
    /// `JWKS_CACHE_SECS` (var, default and most 600): how long a fetched JWKS is kept.
    pub jwks_cache_secs: i64,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("supabase_url", &self.supabase_url)
            .field("jwt_leeway_secs", &self.jwt_leeway_secs)
            .field("jwt_audience", &self.jwt_audience)
            .field("jwt_max_ttl_secs", &self.jwt_max_ttl_secs)
            .field("jwks_cache_secs", &self.jwks_cache_secs)
            .finish()
    }
}

fn number_in(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, ConfigError> {
    match lookup(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|value| range.contains(value))
            .ok_or_else(|| {
                ConfigError(format!(
                    "{name} must be {} to {}",
                    range.start(),
                    range.end()
                ))
            }),
    }
}

/// A project URL: `https://…`, or `http://` to a loopback host (local tests only; a JWKS
/// over plain HTTP from anywhere else could be swapped on the way).
fn parse_supabase_url(raw: &str) -> Result<String, ConfigError> {
    let url = raw.trim().trim_end_matches('/');
    let host = |rest: &str| rest.split(['/', ':']).next().unwrap_or("").to_owned();
    let acceptable = match url.split_once("://") {
        Some(("https", rest)) => !host(rest).is_empty(),
        Some(("http", rest)) => matches!(host(rest).as_str(), "127.0.0.1" | "localhost"),
        _ => false,
    };
    if acceptable && !url.contains(char::is_whitespace) {
        Ok(url.to_owned())
    } else {
        Err(ConfigError(
            "SUPABASE_URL must be https://<project>.supabase.co (http only for a loopback host)"
                .into(),
        ))
    }
}

impl Config {
    /// Builds the config from a name → value lookup (the Worker `Env` in production).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let supabase_url = lookup("SUPABASE_URL")
            .filter(|url| !url.trim().is_empty())
            .map(|url| parse_supabase_url(&url))
            .transpose()?;
        let jwt_secret = match lookup("JWT_SECRET") {
            Some(secret) if secret.len() < MIN_SECRET_BYTES => {
                return Err(ConfigError(format!(
                    "JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes"
                )))
            }
            Some(secret) => Some(secret.into_bytes()),
            None if supabase_url.is_none() => {
                return Err(ConfigError(
                    "set SUPABASE_URL (a project's JWKS) or JWT_SECRET (wrangler secret put JWT_SECRET)"
                        .into(),
                ))
            }
            None => None,
        };
        Ok(Config {
            jwt_secret,
            supabase_url,
            jwt_leeway_secs: number_in(&lookup, "JWT_LEEWAY_SECS", 30, 0..=300)?,
            jwt_audience: lookup("JWT_AUDIENCE")
                .map(|aud| aud.trim().to_owned())
                .filter(|aud| !aud.is_empty())
                .unwrap_or_else(|| "authenticated".into()),
            jwt_max_ttl_secs: number_in(&lookup, "JWT_MAX_TTL_SECS", 86_400, 60..=2_592_000)?,
            jwks_cache_secs: number_in(&lookup, "JWKS_CACHE_SECS", 600, 1..=600)?,
        })
    }

    /// Where the project's public keys are published.
    pub fn jwks_url(&self) -> Option<String> {
        self.supabase_url
            .as_ref()
            .map(|url| format!("{url}/auth/v1/.well-known/jwks.json"))
    }

    /// The rules a token must meet; `dev_tokens` says whether the dev sign-in is on for
    /// this request.
    pub fn token_rules(&self, dev_tokens: bool) -> TokenRules {
        TokenRules {
            leeway: chrono::Duration::seconds(self.jwt_leeway_secs),
            max_ttl: chrono::Duration::seconds(self.jwt_max_ttl_secs),
            audience: self.jwt_audience.clone(),
            issuer: self
                .supabase_url
                .as_ref()
                .map(|url| format!("{url}/auth/v1")),
            dev_tokens,
        }
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
        max_connections_per_user: read(
            "ROOM_MAX_CONNECTIONS_PER_USER",
            as_i64(defaults.max_connections_per_user),
        )? as usize,
        connects_per_minute: read(
            "ROOM_CONNECTS_PER_MINUTE",
            i64::from(defaults.connects_per_minute),
        )? as u32,
        grace_ms: read("PRESENCE_GRACE_MS", defaults.grace_ms)?,
        typing_ttl_ms: read("TYPING_TTL_MS", defaults.typing_ttl_ms)?,
        log_size: read("ROOM_LOG_SIZE", defaults.log_size as i64)? as u64,
        frames_per_sec: read("ROOM_FRAMES_PER_SEC", defaults.frames_per_sec as i64)? as u64,
        presence_batch_above: read(
            "ROOM_PRESENCE_BATCH_ABOVE",
            as_i64(defaults.presence_batch_above),
        )? as usize,
        presence_gap_ms: read("ROOM_PRESENCE_GAP_MS", defaults.presence_gap_ms)?,
        doc_max_frame_bytes: read(
            "ROOM_DOC_MAX_FRAME_BYTES",
            as_i64(defaults.doc_max_frame_bytes),
        )? as usize,
        doc_messages_per_sec: read(
            "ROOM_DOC_MESSAGES_PER_SEC",
            i64::from(defaults.doc_messages_per_sec),
        )? as u32,
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
        assert_eq!(
            (config.jwt_audience.as_str(), config.jwt_max_ttl_secs),
            ("authenticated", 86_400)
        );
        assert_eq!(config.jwks_url(), None);
        assert_eq!(config.token_rules(false).issuer, None);
        assert!(!format!("{config:?}").contains(&secret));
    }

    #[test]
    fn a_supabase_project_pins_the_issuer_and_needs_no_secret() {
        let config =
            Config::from_lookup(lookup(&[("SUPABASE_URL", "https://abc.supabase.co/")])).unwrap();
        assert_eq!(config.jwt_secret, None);
        assert_eq!(
            config.jwks_url().as_deref(),
            Some("https://abc.supabase.co/auth/v1/.well-known/jwks.json")
        );
        assert_eq!(
            config.token_rules(true).issuer.as_deref(),
            Some("https://abc.supabase.co/auth/v1")
        );
        assert!(Config::from_lookup(lookup(&[("SUPABASE_URL", "http://127.0.0.1:9999")])).is_ok());
        for bad in [
            "http://abc.supabase.co",
            "ftp://x",
            "https://",
            "abc.supabase.co",
        ] {
            assert!(
                Config::from_lookup(lookup(&[("SUPABASE_URL", bad)])).is_err(),
                "{bad}"
            );
        }
        assert!(Config::from_lookup(lookup(&[
            ("JWT_MAX_TTL_SECS", "5"),
            ("SUPABASE_URL", "https://a.b")
        ]))
        .is_err());
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
        assert!(
            Config::from_lookup(lookup(&[])).is_err(),
            "neither a secret nor a project"
        );
        let error = Config::from_lookup(lookup(&[("JWT_SECRET", "short-secret")])).unwrap_err();
        assert!(!error.to_string().contains("short-secret"));
    }
}
