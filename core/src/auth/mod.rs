//! Who is calling: bearer tokens in Supabase's claim layout, verified with jwt-compact, and
//! what each role may do.
//!
//! - [`token`]: verification (HS256, and ES256/RS256 from a Supabase project's JWKS), the
//!   time, audience and issuer rules;
//! - [`claims`]: how a token's claims become a [`Principal`] (names and avatars cleaned);
//! - [`keys`]: the usable keys of a JWKS, by `kid`;
//! - [`jwks`]: when to fetch the JWKS again (the fetch itself is the Worker's);
//! - [`dev`]: development tokens (`make token`, the UI's dev sign-in) and its two locks.
//!
//! Everything here is pure (the caller passes the clock and the keys), so every rule is
//! unit tested.

mod claims;
mod dev;
pub mod jwks;
mod keys;
mod token;

pub use claims::{clean_avatar_url, clean_display_name, AVATAR_URL_MAX_BYTES, NAME_MAX_CHARS};
pub use dev::{
    dev_login_enabled, dev_user_id, parse_dev_sign_in, sign_dev_token, DevTokenRequest,
    DEV_TOKEN_HOURS,
};
pub use keys::{KeySet, PublicKey};
pub use token::{is_asymmetric, TokenRules, Verifier, DEV_ISSUER};

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::task::string_enum;

string_enum!(
    /// What a caller may do inside its workspace.
    Role {
        /// Reads only.
        Viewer => "viewer",
        /// Creates and edits tasks, and deletes the ones it created. The default.
        Member => "member",
        /// Everything in its workspace.
        Admin => "admin",
    }
);

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

    /// Whether the token has run out at `now_ms`: its `exp` is now or past. Verification
    /// forgives `exp` by the clock-skew leeway (`JWT_LEEWAY_SECS`), which is right for one
    /// request; a socket, though, lives by its token's `exp` exactly (a room closes it with
    /// 4001 then), so one opened or refreshed with a token that has run out would only be
    /// closed at once.
    pub fn expired(&self, now_ms: i64) -> bool {
        self.expires_at.saturating_mul(1000) <= now_ms
    }

    /// 401 for a token that has run out (see [`Principal::expired`]): a socket's upgrade
    /// asks this beyond verification.
    pub fn require_unexpired(&self, now_ms: i64) -> Result<(), ApiError> {
        if self.expired(now_ms) {
            Err(ApiError::Unauthorized(EXPIRED.into()))
        } else {
            Ok(())
        }
    }

    /// 403 for viewers, who read but never write.
    pub fn require_write(&self) -> Result<(), ApiError> {
        if self.can_write() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "viewers can read tasks but not change them".into(),
            ))
        }
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

/// What a token that has run out is told, on an upgrade and on a refresh.
pub const EXPIRED: &str = "the token has expired";

/// Why a token was refused. The message never includes the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// 401: no token, or one that is not a valid JWT.
    Invalid(&'static str),
    /// 403: the token is valid but cannot be used here (no workspace, unknown role).
    NotPermitted(&'static str),
    /// The token names a key (`kid`) the JWKS at hand does not hold: the caller may fetch
    /// the JWKS again (keys rotate) and retry; if it still does not, it is a 401.
    UnknownKey(String),
}

impl AuthError {
    pub fn message(&self) -> &str {
        match self {
            AuthError::Invalid(message) | AuthError::NotPermitted(message) => message,
            AuthError::UnknownKey(_) => "the token is signed with a key this project does not know",
        }
    }
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

    fn principal(role: Role) -> Principal {
        Principal {
            user_id: "user-1".into(),
            name: "User".into(),
            avatar_url: None,
            workspace_id: "ws-1".into(),
            role,
            expires_at: 0,
        }
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
    fn a_token_is_expired_from_its_exp_on_without_leeway() {
        let mut principal = principal(Role::Member);
        principal.expires_at = 100;
        assert!(!principal.expired(99_999));
        assert!(principal.expired(100_000), "exp itself is expired");
        assert!(principal.expired(100_001));
        assert!(principal.require_unexpired(99_999).is_ok());
        let refused = principal.require_unexpired(100_000).unwrap_err();
        assert_eq!(refused.status_code(), 401);
        assert_eq!(refused.problem().detail, EXPIRED);
        principal.expires_at = i64::MAX;
        assert!(!principal.expired(i64::MAX - 1), "no overflow");
    }

    #[test]
    fn permissions_follow_roles() {
        let mut principal = principal(Role::Member);
        assert!(principal.can_write());
        assert!(principal.require_write().is_ok());
        assert!(principal.can_delete("user-1"));
        assert!(!principal.can_delete("someone-else"));
        principal.role = Role::Admin;
        assert!(principal.can_delete("someone-else"));
        principal.role = Role::Viewer;
        assert!(!principal.can_write());
        assert_eq!(principal.require_write().unwrap_err().status_code(), 403);
        assert!(!principal.can_delete("user-1"));
    }

    #[test]
    fn roles_parse_from_their_names_only() {
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("Admin"), None);
        assert_eq!(Role::Viewer.as_str(), "viewer");
    }
}
