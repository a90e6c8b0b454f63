//! Verification of bearer tokens, and how their claims become a [`Principal`].
//!
//! The rules:
//! - only `HS256` is accepted; any other `alg` (including `none`) is refused;
//! - `exp` is required; `exp`, `nbf` and `iat` are checked with a small leeway
//!   (`JWT_LEEWAY_SECS`, 30 s by default) for clock skew;
//! - `sub` is the user id; name and avatar come from `user_metadata`;
//! - workspace and role come from `app_metadata.workspace_id` / `app_metadata.role`, or the
//!   top-level `workspace_id` / `app_role`. (Supabase's own top-level `role`, usually
//!   `authenticated`, is a database role and is ignored.)

use chrono::{DateTime, Duration, Utc};
use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt, TimeOptions, UntrustedToken, ValidationError};
use serde::{Deserialize, Serialize};

use super::{AuthError, Principal, Role};

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(super) struct UserMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) full_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) avatar_url: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(super) struct AppMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) workspace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) role: Option<String>,
}

/// The custom (non-time) claims we read; everything else in the token is ignored.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(super) struct SupabaseClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) role: Option<String>,
    #[serde(default)]
    pub(super) user_metadata: UserMetadata,
    #[serde(default)]
    pub(super) app_metadata: AppMetadata,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) workspace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) app_role: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::dev::{sign_dev_token, DevTokenRequest};
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
}
