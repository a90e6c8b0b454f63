//! Bearer-token auth: HS256 JWTs in Supabase's claim layout, verified with jwt-compact.
//!
//! [`Verifier::verify`] is pure (the caller passes the clock), so every rule here is unit
//! tested on the host. The rules:
//! - only `HS256` is accepted; any other `alg` (including `none`) is refused;
//! - `exp` is required; `exp`, `nbf` and `iat` are checked with a small leeway
//!   (`JWT_LEEWAY_SECS`, 30 s by default) for clock skew;
//! - `sub` is the user id; name and avatar come from `user_metadata`;
//! - workspace and role come from `app_metadata.workspace_id` / `app_metadata.role`, or the
//!   top-level `workspace_id` / `app_role`. (Supabase's own top-level `role`, usually
//!   `authenticated`, is a database role and is ignored.)

use chrono::{DateTime, Duration, Utc};
use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt, Claims, Header, TimeOptions, UntrustedToken, ValidationError};
use serde::{Deserialize, Serialize};

/// What a caller may do inside its workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads only.
    Viewer,
    /// Creates and edits tasks, and deletes the ones it created. The default.
    Member,
    /// Everything in its workspace.
    Admin,
}

impl Role {
    pub fn parse(raw: &str) -> Option<Role> {
        match raw {
            "viewer" => Some(Role::Viewer),
            "member" => Some(Role::Member),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
        }
    }
}

/// The verified caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user_id: String,
    pub name: String,
    pub avatar_url: Option<String>,
    pub workspace_id: String,
    pub role: Role,
    /// Unix seconds; rooms use it to close a socket when its token runs out.
    pub expires_at: i64,
}

impl Principal {
    pub fn can_write(&self) -> bool {
        self.role != Role::Viewer
    }

    /// Admins delete anything in their workspace; members only what they created.
    pub fn can_delete(&self, created_by: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Member => created_by == self.user_id,
            Role::Viewer => false,
        }
    }
}

/// Why a token was refused. The message never includes the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// 401: no token, or one that is not a valid JWT.
    Invalid(&'static str),
    /// 403: the token is valid but cannot be used here (no workspace, unknown role).
    NotPermitted(&'static str),
}

impl AuthError {
    pub fn message(&self) -> &'static str {
        match self {
            AuthError::Invalid(message) | AuthError::NotPermitted(message) => message,
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct UserMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    full_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    avatar_url: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct AppMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workspace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
}

/// The custom (non-time) claims we read; everything else in the token is ignored.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct SupabaseClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(default)]
    user_metadata: UserMetadata,
    #[serde(default)]
    app_metadata: AppMetadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workspace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    app_role: Option<String>,
}

/// Longest id we accept for users and workspaces, so one token cannot bloat every row.
const ID_MAX_LEN: usize = 128;

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Verifies bearer tokens against one HS256 secret.
pub struct Verifier {
    key: Hs256Key,
    leeway: Duration,
}

impl Verifier {
    pub fn new(secret: &[u8], leeway_secs: i64) -> Self {
        Self {
            key: Hs256Key::new(secret),
            leeway: Duration::seconds(leeway_secs),
        }
    }

    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Principal, AuthError> {
        let untrusted = UntrustedToken::new(token)
            .map_err(|_| AuthError::Invalid("the token is not a well-formed JWT"))?;
        let token = Hs256
            .validator::<SupabaseClaims>(&self.key)
            .validate(&untrusted)
            .map_err(|error| match error {
                ValidationError::AlgorithmMismatch { .. } => {
                    AuthError::Invalid("the token must be signed with HS256")
                }
                ValidationError::InvalidSignature => {
                    AuthError::Invalid("the token signature does not verify")
                }
                _ => AuthError::Invalid("the token claims could not be read"),
            })?;
        let claims = token.claims();
        let time = TimeOptions::new(self.leeway, move || now);
        claims
            .validate_expiration(&time)
            .map_err(|error| match error {
                ValidationError::NoClaim(_) => AuthError::Invalid("the token has no exp claim"),
                _ => AuthError::Invalid("the token has expired"),
            })?;
        // `nbf` is optional (Supabase omits it); jwt-compact treats its absence as an error.
        if claims.not_before.is_some() {
            claims
                .validate_maturity(&time)
                .map_err(|_| AuthError::Invalid("the token is not valid yet"))?;
        }
        if claims.issued_at.is_some_and(|iat| iat > now + self.leeway) {
            return Err(AuthError::Invalid("the token was issued in the future"));
        }
        let expires_at = claims.expiration.map_or(0, |exp| exp.timestamp());
        principal_from(claims.custom.clone(), expires_at)
    }
}

fn principal_from(claims: SupabaseClaims, expires_at: i64) -> Result<Principal, AuthError> {
    let user_id = non_empty(claims.sub).ok_or(AuthError::Invalid("the token has no sub claim"))?;
    if user_id.len() > ID_MAX_LEN {
        return Err(AuthError::Invalid("the token's sub claim is too long"));
    }
    let workspace_id = non_empty(claims.app_metadata.workspace_id)
        .or(non_empty(claims.workspace_id))
        .ok_or(AuthError::NotPermitted("the token names no workspace"))?;
    if workspace_id.len() > ID_MAX_LEN {
        return Err(AuthError::Invalid("the token's workspace id is too long"));
    }
    let role = match non_empty(claims.app_metadata.role).or(non_empty(claims.app_role)) {
        None => Role::Member,
        Some(raw) => Role::parse(&raw).ok_or(AuthError::NotPermitted(
            "the token's role is not one of viewer, member, admin",
        ))?,
    };
    let name = non_empty(claims.user_metadata.full_name)
        .or(non_empty(claims.user_metadata.name))
        .or(non_empty(claims.email))
        .unwrap_or_else(|| user_id.clone());
    Ok(Principal {
        user_id,
        name,
        avatar_url: non_empty(claims.user_metadata.avatar_url),
        workspace_id,
        role,
        expires_at,
    })
}

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

/// Takes the token from `Authorization: Bearer …`.
pub fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
    let header = header.ok_or(AuthError::Invalid("missing Authorization: Bearer token"))?;
    let (scheme, token) = header.split_once(' ').ok_or(AuthError::Invalid(
        "the Authorization header must be 'Bearer <token>'",
    ))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Invalid(
            "the Authorization header must be 'Bearer <token>'",
        ));
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const SECRET: &[u8] = b"unit-test-secret-unit-test-secret";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn verifier() -> Verifier {
        Verifier::new(SECRET, 30)
    }

    fn b64(value: &Value) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    }

    /// Signs arbitrary header and claims JSON, to build tokens jwt-compact would not.
    fn raw_token(header: Value, claims: Value, secret: &[u8]) -> String {
        use jwt_compact::{Algorithm, AlgorithmSignature};
        let signing_input = format!("{}.{}", b64(&header), b64(&claims));
        let signature = Hs256.sign(&Hs256Key::new(secret), signing_input.as_bytes());
        use base64::Engine;
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature.as_bytes());
        format!("{signing_input}.{sig}")
    }

    fn claims(extra: Value) -> Value {
        let mut base = json!({
            "sub": "user-1",
            "exp": now().timestamp() + 3600,
            "iat": now().timestamp(),
            "app_metadata": {"workspace_id": "ws-1"}
        });
        for (key, value) in extra.as_object().unwrap() {
            base[key] = value.clone();
        }
        base
    }

    fn hs256(extra: Value) -> String {
        raw_token(json!({"alg": "HS256", "typ": "JWT"}), claims(extra), SECRET)
    }

    #[test]
    fn dev_tokens_round_trip() {
        let request = DevTokenRequest {
            user_id: "ana".into(),
            name: "Ana".into(),
            workspace_id: "acme".into(),
            role: Role::Admin,
            ttl: Duration::hours(1),
        };
        let token = sign_dev_token(SECRET, &request, now());
        let principal = verifier().verify(&token, now()).unwrap();
        assert_eq!(principal.user_id, "ana");
        assert_eq!(principal.name, "Ana");
        assert_eq!(principal.workspace_id, "acme");
        assert_eq!(principal.role, Role::Admin);
        assert_eq!(principal.expires_at, now().timestamp() + 3600);
    }

    #[test]
    fn supabase_layout_is_read() {
        let token = hs256(json!({
            "role": "authenticated",
            "user_metadata": {"name": "Bo", "avatar_url": "https://x/a.png"},
            "app_metadata": {"workspace_id": "ws-9", "role": "viewer"}
        }));
        let principal = verifier().verify(&token, now()).unwrap();
        assert_eq!(principal.name, "Bo");
        assert_eq!(principal.avatar_url.as_deref(), Some("https://x/a.png"));
        assert_eq!(principal.workspace_id, "ws-9");
        assert_eq!(principal.role, Role::Viewer);
    }

    #[test]
    fn top_level_workspace_and_app_role_are_accepted() {
        let token = hs256(json!({"app_metadata": {}, "workspace_id": "ws-2", "app_role": "admin"}));
        let principal = verifier().verify(&token, now()).unwrap();
        assert_eq!(
            (principal.workspace_id.as_str(), principal.role),
            ("ws-2", Role::Admin)
        );
    }

    #[test]
    fn role_defaults_to_member_and_unknown_roles_are_refused() {
        assert_eq!(
            verifier().verify(&hs256(json!({})), now()).unwrap().role,
            Role::Member
        );
        let token = hs256(json!({"app_role": "owner"}));
        assert!(matches!(
            verifier().verify(&token, now()),
            Err(AuthError::NotPermitted(_))
        ));
    }

    #[test]
    fn time_claims_are_enforced_with_leeway() {
        let t = now().timestamp();
        let v = verifier();
        assert!(
            v.verify(&hs256(json!({"exp": t - 10})), now()).is_ok(),
            "inside leeway"
        );
        assert!(v.verify(&hs256(json!({"exp": t - 31})), now()).is_err());
        assert!(v.verify(&hs256(json!({"nbf": t + 31})), now()).is_err());
        assert!(v.verify(&hs256(json!({"nbf": t + 10})), now()).is_ok());
        assert!(v.verify(&hs256(json!({"iat": t + 120})), now()).is_err());
        let mut no_exp = claims(json!({}));
        no_exp.as_object_mut().unwrap().remove("exp");
        let token = raw_token(json!({"alg": "HS256"}), no_exp, SECRET);
        assert_eq!(
            v.verify(&token, now()),
            Err(AuthError::Invalid("the token has no exp claim"))
        );
    }

    #[test]
    fn other_algorithms_and_secrets_are_refused() {
        let body = claims(json!({}));
        for alg in ["none", "HS384", "RS256", "hs256"] {
            let token = raw_token(json!({"alg": alg}), body.clone(), SECRET);
            assert!(verifier().verify(&token, now()).is_err(), "{alg}");
        }
        let unsigned = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&body));
        assert!(verifier().verify(&unsigned, now()).is_err());
        let forged = raw_token(json!({"alg": "HS256"}), body, b"another-secret");
        assert_eq!(
            verifier().verify(&forged, now()),
            Err(AuthError::Invalid("the token signature does not verify"))
        );
        assert!(verifier().verify("not-a-jwt", now()).is_err());
    }

    #[test]
    fn sub_and_workspace_are_required() {
        let token = hs256(json!({"sub": ""}));
        assert!(matches!(
            verifier().verify(&token, now()),
            Err(AuthError::Invalid(_))
        ));
        let token = hs256(json!({"app_metadata": {}}));
        assert!(matches!(
            verifier().verify(&token, now()),
            Err(AuthError::NotPermitted(_))
        ));
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("bearer abc")), Ok("abc"));
        assert!(bearer_token(None).is_err());
        assert!(bearer_token(Some("Basic abc")).is_err());
        assert!(bearer_token(Some("Bearer ")).is_err());
    }

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
    fn permissions_follow_roles() {
        let mut principal = verifier().verify(&hs256(json!({})), now()).unwrap();
        assert!(principal.can_write());
        assert!(principal.can_delete("user-1"));
        assert!(!principal.can_delete("someone-else"));
        principal.role = Role::Admin;
        assert!(principal.can_delete("someone-else"));
        principal.role = Role::Viewer;
        assert!(!principal.can_write());
        assert!(!principal.can_delete("user-1"));
    }
}
