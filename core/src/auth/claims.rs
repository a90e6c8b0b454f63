//! The claims Hero reads from a token, and how they become a [`Principal`].
//!
//! - `sub` is the user id;
//! - the display name is `user_metadata.full_name`, else `user_metadata.name`, else the
//!   local part of `email`, else `sub`. Any Supabase user can edit their metadata, so the
//!   name is cleaned (control and bidi-override characters removed) and cut to 100
//!   characters, and the avatar is kept only as an `https:` URL of at most 512 characters
//!   (every participant's browser loads it);
//! - workspace and role come from `app_metadata.workspace_id` / `app_metadata.role`, or the
//!   top-level `workspace_id` / `app_role`. (Supabase's own top-level `role`, usually
//!   `authenticated`, is a database role and is ignored.)

use serde::{Deserialize, Serialize};

use super::{AuthError, Principal, Role};

/// Longest display name kept, in characters.
pub const NAME_MAX_CHARS: usize = 100;
/// Longest avatar URL kept, in bytes.
pub const AVATAR_URL_MAX_BYTES: usize = 512;
/// Longest id we accept for users and workspaces, so one token cannot bloat every row.
const ID_MAX_LEN: usize = 128;

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

/// `aud` is a string or a list of strings (RFC 7519).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub(super) fn contains(&self, wanted: &str) -> bool {
        match self {
            Audience::One(one) => one == wanted,
            Audience::Many(many) => many.iter().any(|a| a == wanted),
        }
    }
}

/// The custom (non-time) claims we read; everything else in the token is ignored.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(super) struct SupabaseClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) aud: Option<Audience>,
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

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Characters that reorder text around them (bidi embeddings, overrides and isolates, and
/// the marks): in a name they can make "Ana" display as someone else's.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A display name fit to show: no control or bidi-control characters, trimmed, at most
/// [`NAME_MAX_CHARS`] characters; `None` when nothing is left.
pub fn clean_display_name(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .collect();
    let trimmed: String = cleaned.trim().chars().take(NAME_MAX_CHARS).collect();
    let trimmed = trimmed.trim_end().to_owned();
    (!trimmed.is_empty()).then_some(trimmed)
}

/// An avatar URL fit for every participant's browser to load: `https:` only, at most
/// [`AVATAR_URL_MAX_BYTES`], with a host and no whitespace or control characters.
pub fn clean_avatar_url(raw: &str) -> Option<String> {
    let url = raw.trim();
    let rest = url
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .map(|_| &url[8..])?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let acceptable = url.len() <= AVATAR_URL_MAX_BYTES
        && !host.is_empty()
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    acceptable.then(|| url.to_owned())
}

pub(super) fn principal_from(
    claims: SupabaseClaims,
    expires_at: i64,
) -> Result<Principal, AuthError> {
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
    let email_name = claims
        .email
        .as_deref()
        .and_then(|email| email.split('@').next())
        .map(str::to_owned);
    let name = [
        claims.user_metadata.full_name,
        claims.user_metadata.name,
        email_name,
    ]
    .into_iter()
    .flatten()
    .find_map(|candidate| clean_display_name(&candidate))
    .or_else(|| clean_display_name(&user_id))
    .unwrap_or_else(|| "someone".to_owned());
    Ok(Principal {
        user_id,
        name,
        avatar_url: claims
            .user_metadata
            .avatar_url
            .as_deref()
            .and_then(clean_avatar_url),
        workspace_id,
        role,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_control_and_bidi_characters_and_are_capped() {
        assert_eq!(
            clean_display_name(" Ana\u{202E}nimda ").as_deref(),
            Some("Ananimda")
        );
        assert_eq!(
            clean_display_name("a\u{0}b\u{1b}[31m").as_deref(),
            Some("ab[31m")
        );
        assert_eq!(clean_display_name("\u{2066}\u{2069} ").as_deref(), None);
        let long = "é".repeat(300);
        assert_eq!(
            clean_display_name(&long).unwrap().chars().count(),
            NAME_MAX_CHARS
        );
    }

    #[test]
    fn only_https_avatars_of_a_sane_length_are_kept() {
        assert!(clean_avatar_url("https://cdn.example.com/a.png").is_some());
        assert!(clean_avatar_url("HTTPS://cdn.example.com/a.png").is_some());
        for bad in [
            "http://tracker.example.com/pixel.gif",
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "https://",
            "https:///path",
            "https://a.example.com/a b.png",
            "//example.com/a.png",
        ] {
            assert_eq!(clean_avatar_url(bad), None, "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(AVATAR_URL_MAX_BYTES));
        assert_eq!(clean_avatar_url(&long), None);
    }

    #[test]
    fn the_name_falls_back_to_the_email_local_part_then_the_id() {
        let claims = SupabaseClaims {
            sub: Some("user-1".into()),
            email: Some("ana.lopez@example.com".into()),
            workspace_id: Some("ws".into()),
            user_metadata: UserMetadata {
                full_name: Some("\u{202E}".into()),
                ..UserMetadata::default()
            },
            ..SupabaseClaims::default()
        };
        let principal = principal_from(claims.clone(), 0).unwrap();
        assert_eq!(principal.name, "ana.lopez", "no whole address on screen");
        let bare = SupabaseClaims {
            email: None,
            ..claims
        };
        assert_eq!(principal_from(bare, 0).unwrap().name, "user-1");
    }
}
