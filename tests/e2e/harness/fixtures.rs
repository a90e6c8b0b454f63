//! Fixtures: fresh workspaces, tokens (valid, and the ones an attacker would forge), and the
//! usual arrangement of a workspace with one task in it.

use hero_core::auth::Role;
use serde_json::Value;

use super::api::Api;
use super::server::TEST_SECRET;
use super::socket::{join_room, Socket};

/// A fresh workspace id, so tests never see each other's tasks.
pub fn unique_workspace() -> String {
    format!("ws-{}", uuid::Uuid::new_v4().simple())
}

pub fn token(user: &str, role: Role, workspace: &str) -> String {
    token_with_secret(
        TEST_SECRET.as_bytes(),
        user,
        role,
        workspace,
        chrono::Duration::hours(1),
    )
}

pub use hero_testkit::tokens::token as token_with_secret;

/// Signs arbitrary header and claims JSON with HS256 (or leaves the signature off), to
/// build the tokens an attacker would: other `alg`s, missing claims, foreign secrets.
pub fn raw_token(header: &Value, claims: &Value, secret: Option<&[u8]>) -> String {
    use base64::Engine;
    use jwt_compact::{alg::Hs256, alg::Hs256Key, Algorithm, AlgorithmSignature};
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    match secret {
        Some(secret) => {
            let signature = Hs256.sign(&Hs256Key::new(secret), signing_input.as_bytes());
            format!("{signing_input}.{}", b64(signature.as_bytes().as_ref()))
        }
        None => format!("{signing_input}."),
    }
}

/// The usual arrangement: a fresh workspace, a member's API client in it, and one task.
pub struct Scene {
    pub workspace: String,
    pub api: Api,
    pub task_id: String,
}

impl Scene {
    pub async fn new(base: &str, user: &str, title: &str) -> Scene {
        let workspace = unique_workspace();
        let api = Api::new(base, Some(token(user, Role::Member, &workspace)));
        let task = api.create(serde_json::json!({ "title": title })).await;
        let task_id = task["id"].as_str().expect("task id").to_owned();
        Scene {
            workspace,
            api,
            task_id,
        }
    }

    /// A socket in this task's room for `user` (a member), past its welcome.
    pub async fn join(&self, base: &str, user: &str) -> (Socket, Value) {
        let who = token(user, Role::Member, &self.workspace);
        join_room(base, &format!("/ws/tasks/{}", self.task_id), &who).await
    }
}
