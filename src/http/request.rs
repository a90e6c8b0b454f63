//! Reading a request: headers, the request id, the caller's token, `If-Match` and a bounded
//! JSON body. Every failure is an [`ApiError`] the client can act on.

use serde_json::Value;
use worker::Request;

use crate::runtime::now;
use hero_core::auth::{bearer_token, AuthError, Principal, Verifier};
use hero_core::conditional::IfMatch;
use hero_core::config::Config;
use hero_core::error::ApiError;
use hero_core::task::TaskId;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// The query string as owned name/value pairs.
pub fn query_pairs(req: &Request) -> Result<Vec<(String, String)>, ApiError> {
    let url = req.url().map_err(ApiError::internal)?;
    Ok(url.query_pairs().into_owned().collect())
}

/// Cloudflare's `cf-ray` when present (it ties the line to Cloudflare's own logs), else a
/// fresh random id. A client-supplied id is not trusted: it could forge log lines.
pub fn request_id(req: &Request) -> String {
    header(req, "cf-ray")
        .filter(|ray| {
            !ray.is_empty()
                && ray.len() <= 64
                && ray.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

pub fn verify_token(token: &str, config: &Config) -> Result<Principal, ApiError> {
    Verifier::new(&config.jwt_secret, config.jwt_leeway_secs)
        .verify(token, now())
        .map_err(|error| match error {
            AuthError::Invalid(message) => ApiError::Unauthorized(message.into()),
            AuthError::NotPermitted(message) => ApiError::Forbidden(message.into()),
        })
}

/// The bearer token, from `Authorization`, or for WebSocket routes (browsers cannot set
/// headers on a WebSocket) from `?token=`.
pub fn authenticate(req: &Request, config: &Config) -> Result<Principal, ApiError> {
    let header = header(req, "Authorization");
    let from_query = || {
        let is_socket = req.path().starts_with("/ws/");
        let url = req.url().ok()?;
        let token = url
            .query_pairs()
            .find(|(name, _)| name == "token")?
            .1
            .into_owned();
        is_socket.then_some(token)
    };
    let token = match (header, from_query()) {
        (None, Some(token)) => token,
        (header, _) => bearer_token(header.as_deref())
            .map(str::to_owned)
            .map_err(|error| ApiError::Unauthorized(error.message().into()))?,
    };
    verify_token(&token, config)
}

/// A malformed id cannot name a task: same answer as an unknown one.
pub fn parse_task_id(raw: &str) -> Result<TaskId, ApiError> {
    TaskId::parse(raw).ok_or_else(ApiError::task_not_found)
}

pub fn if_match(req: &Request) -> Result<Option<IfMatch>, ApiError> {
    header(req, "If-Match")
        .map(|raw| IfMatch::parse(&raw).map_err(ApiError::BadRequest))
        .transpose()
}

/// Reads a JSON body: content type, size and syntax are checked in that order.
pub async fn read_json(req: &mut Request, accepted_types: &[&str]) -> Result<Value, ApiError> {
    let content_type = header(req, "Content-Type").unwrap_or_default();
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !accepted_types.contains(&media_type.as_str()) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send the body as {}",
            accepted_types.join(" or ")
        )));
    }
    let declared = header(req, "Content-Length").and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    let bytes = req
        .bytes()
        .await
        .map_err(|_| ApiError::BadRequest("the body could not be read".into()))?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    serde_json::from_slice(&bytes)
        .map_err(|error| ApiError::BadRequest(format!("the body is not valid JSON: {error}")))
}
