//! The local development sign-in: `GET /api/dev/config` says whether it is available, and
//! `POST /api/dev/token` signs a token for a chosen name, role and workspace.

use serde_json::json;
use worker::{Env, Request, Response};

use super::request::read_json;
use super::response::json_response;
use crate::runtime::{now, setting};
use hero_core::auth::{dev_login_enabled, parse_dev_sign_in, sign_dev_token, DEV_TOKEN_HOURS};
use hero_core::config::Config;
use hero_core::error::ApiError;

/// Whether the dev sign-in may run for this request (the two locks are in
/// [`dev_login_enabled`]).
fn enabled(req: &Request, env: &Env) -> bool {
    let url = req.url().ok();
    dev_login_enabled(
        setting(env, "DEV_LOGIN").as_deref(),
        url.as_ref().and_then(|u| u.host_str()),
    )
}

pub fn config(req: &Request, env: &Env) -> Result<Response, ApiError> {
    json_response(200, &json!({"dev_login": enabled(req, env)}))
}

/// Answers 404, like an unknown route, unless the sign-in is enabled.
pub async fn token(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    if !enabled(&req, env) {
        return Err(ApiError::NotFound("no route for /api/dev/token".into()));
    }
    let config = Config::from_lookup(|name| setting(env, name)).map_err(ApiError::internal)?;
    let body = read_json(&mut req, &["application/json"]).await?;
    let request = parse_dev_sign_in(&body).map_err(ApiError::Validation)?;
    let secret = config.jwt_secret.as_deref().ok_or_else(|| {
        ApiError::internal("the dev sign-in signs with JWT_SECRET, which is not set")
    })?;
    let token = sign_dev_token(secret, &request, now());
    json_response(
        200,
        &json!({"token": token, "user_id": request.user_id, "expires_in": DEV_TOKEN_HOURS * 3600}),
    )
}
