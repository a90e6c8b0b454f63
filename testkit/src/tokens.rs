//! Development tokens: the claims `make token` signs, for any user, role and workspace.

use hero_core::auth::{sign_dev_token, DevTokenRequest, Role};

/// A token for `user` (named `USER` in upper case) in `workspace`, signed with `secret`,
/// valid for `ttl` from now.
pub fn token(
    secret: &[u8],
    user: &str,
    role: Role,
    workspace: &str,
    ttl: chrono::Duration,
) -> String {
    let request = DevTokenRequest {
        user_id: user.into(),
        name: user.to_uppercase(),
        workspace_id: workspace.into(),
        role,
        ttl,
    };
    sign_dev_token(secret, &request, chrono::Utc::now())
}
