//! Development tokens: `make token` and the UI's dev sign-in, and the two locks that keep
//! the sign-in out of a deployed worker.

use chrono::{DateTime, Duration, Utc};
use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt, Claims, Header, TimeOptions};
use serde_json::Value;

use super::claims::{AppMetadata, Audience, SupabaseClaims, UserMetadata};
use super::{Role, DEV_ISSUER};
use crate::task::FieldError;

/// How long a dev sign-in token lasts.
pub const DEV_TOKEN_HOURS: i64 = 12;

/// What `make token` and the dev sign-in put in a development token.
#[derive(Debug, Clone)]
pub struct DevTokenRequest {
    pub user_id: String,
    pub name: String,
    pub workspace_id: String,
    pub role: Role,
    pub ttl: Duration,
}

/// Signs a token in Supabase's layout, for local development and tests.
pub fn sign_dev_token(secret: &[u8], request: &DevTokenRequest, now: DateTime<Utc>) -> String {
    let custom = SupabaseClaims {
        iss: Some(DEV_ISSUER.into()),
        aud: Some(Audience::One("authenticated".into())),
        sub: Some(request.user_id.clone()),
        role: Some("authenticated".into()),
        user_metadata: UserMetadata {
            full_name: Some(request.name.clone()),
            ..UserMetadata::default()
        },
        app_metadata: AppMetadata {
            workspace_id: Some(request.workspace_id.clone()),
            role: Some(request.role.as_str().into()),
        },
        ..SupabaseClaims::default()
    };
    let time = TimeOptions::new(Duration::zero(), move || now);
    let claims = Claims::new(custom).set_duration_and_issuance(&time, request.ttl);
    Hs256
        .token(&Header::empty(), &claims, &Hs256Key::new(secret))
        .expect("HS256 signing of serializable claims cannot fail")
}

/// Whether the development sign-in (`POST /api/dev/token`) may run for this request.
///
/// Two independent locks, so it cannot be switched on in a deployed worker by accident:
/// `DEV_LOGIN` must be `true` (it lives in `.dev.vars`, which `wrangler deploy` never
/// uploads), and the request must have been addressed to a loopback host, which a request
/// routed through Cloudflare's edge never is.
pub fn dev_login_enabled(flag: Option<&str>, host: Option<&str>) -> bool {
    let loopback = matches!(host, Some("127.0.0.1" | "localhost" | "[::1]" | "::1"));
    flag.is_some_and(|value| value.trim() == "true") && loopback
}

/// A stable user id for a dev sign-in name: "Ana María" → "ana-mar-a".
pub fn dev_user_id(name: &str) -> Option<String> {
    let slug: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let slug = slug.trim_matches('-').to_owned();
    (!slug.is_empty() && slug.len() <= 64).then_some(slug)
}

/// Validates a dev sign-in body `{name, role, workspace}`: every bad or unknown field is
/// reported. `name` is 1–64 characters as sent, without control characters, with an ASCII
/// letter or digit (the user id is made of them), and is trimmed; `role` is one of the role
/// names (default member); `workspace` is 1–64 letters, digits, `-` or `_` (default `demo`).
/// These are the rules the OpenAPI document states for this body, word for word.
pub fn parse_dev_sign_in(body: &Value) -> Result<DevTokenRequest, Vec<FieldError>> {
    let Some(object) = body.as_object() else {
        return Err(vec![FieldError::new("", "the body must be a JSON object")]);
    };
    let mut errors: Vec<FieldError> = object
        .keys()
        .filter(|key| !["name", "role", "workspace"].contains(&key.as_str()))
        .map(|key| FieldError::new(key.as_str(), "unknown field"))
        .collect();
    let name = object.get("name").and_then(Value::as_str).filter(|name| {
        !name.chars().any(char::is_control)
            && name.chars().count() <= 64
            && name.chars().any(|c| c.is_ascii_alphanumeric())
    });
    let name = name.map(str::trim);
    // A letter or digit makes the slug non-empty; only a lowercase that grows ("İ" → "i̇")
    // can make it longer than 64, and then it is cut.
    let user_id = name.and_then(|name| {
        dev_user_id(name)
            .or_else(|| dev_user_id(&name.to_lowercase().chars().take(64).collect::<String>()))
    });
    if user_id.is_none() {
        errors.push(FieldError::new(
            "name",
            "must be 1 to 64 characters, with a letter or digit and no control characters",
        ));
    }
    let role = match object.get("role") {
        None => Some(Role::Member),
        Some(raw) => raw.as_str().and_then(Role::parse),
    };
    if role.is_none() {
        errors.push(FieldError::new("role", Role::expected()));
    }
    let workspace = match object.get("workspace") {
        None => Some("demo"),
        Some(raw) => raw.as_str().filter(|workspace| {
            (1..=64).contains(&workspace.len())
                && workspace
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }),
    };
    if workspace.is_none() {
        errors.push(FieldError::new(
            "workspace",
            "must be 1 to 64 letters, digits, - or _",
        ));
    }
    match (name, user_id, role, workspace) {
        (Some(name), Some(user_id), Some(role), Some(workspace)) if errors.is_empty() => {
            Ok(DevTokenRequest {
                user_id,
                name: name.to_owned(),
                workspace_id: workspace.to_owned(),
                role,
                ttl: Duration::hours(DEV_TOKEN_HOURS),
            })
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dev_login_needs_the_flag_and_a_loopback_host() {
        assert!(dev_login_enabled(Some("true"), Some("127.0.0.1")));
        assert!(dev_login_enabled(Some("true"), Some("localhost")));
        assert!(!dev_login_enabled(Some("true"), Some("tasks.example.com")));
        assert!(!dev_login_enabled(Some("1"), Some("127.0.0.1")));
        assert!(!dev_login_enabled(None, Some("127.0.0.1")));
        assert!(!dev_login_enabled(Some("true"), None));
        assert_eq!(dev_user_id(" Ana María ").as_deref(), Some("ana-mar-a"));
        assert_eq!(dev_user_id("!!!"), None);
    }

    #[test]
    fn dev_sign_in_bodies_are_validated() {
        let request = parse_dev_sign_in(&json!({"name": " Ana ", "role": "admin"})).unwrap();
        assert_eq!(
            (request.user_id.as_str(), request.name.as_str()),
            ("ana", "Ana")
        );
        assert_eq!(
            (request.workspace_id.as_str(), request.role),
            ("demo", Role::Admin)
        );
        let defaults = parse_dev_sign_in(&json!({"name": "Bo"})).unwrap();
        assert_eq!(defaults.role, Role::Member);
        let errors = parse_dev_sign_in(&json!({"name": "!!", "role": "owner", "workspace": "a b"}))
            .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "role", "workspace"]);
    }
}
