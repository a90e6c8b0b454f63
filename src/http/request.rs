//! Reading a request: headers, the request id, the caller's token, `If-Match` and a bounded
//! JSON body. Every failure is an [`ApiError`] the client can act on.

use serde_json::Value;
use worker::Request;

use hero_core::auth::{bearer_token, dev_login_enabled, Principal};
use hero_core::conditional::IfMatch;
use hero_core::config::Config;
use hero_core::error::ApiError;
use hero_core::idempotency::{fingerprint, Claim, IdempotencyKey, KEY_HEADER};
use hero_core::json::parse_strict;
use hero_core::protocol::token_from_subprotocols;
use hero_core::task::TaskId;

/// Largest request body accepted, in bytes.
/// 256 KiB: room for the largest valid task even when a client escapes every character as
/// `\uXXXX` (10,000 description characters as surrogate pairs are 120 KB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

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

/// Whether the development sign-in (and so development tokens) is on for this request:
/// `DEV_LOGIN=true` and a loopback host (see [`dev_login_enabled`]).
pub fn dev_tokens_allowed(req: &Request, env: &worker::Env) -> bool {
    let url = req.url().ok();
    dev_login_enabled(
        crate::runtime::setting(env, "DEV_LOGIN").as_deref(),
        url.as_ref().and_then(|u| u.host_str()),
    )
}

/// The bearer token: from `Authorization`; or, for WebSocket routes (browsers cannot set
/// headers on a WebSocket), offered as a `bearer.<token>` subprotocol beside
/// `hero-tasks.v1`; or, for old clients, `?token=` (discouraged: proxies log URLs).
pub async fn authenticate(
    req: &Request,
    config: &Config,
    dev_tokens: bool,
) -> Result<Principal, ApiError> {
    let authorization = header(req, "Authorization");
    let is_socket = req.path().starts_with("/ws/");
    let from_subprotocol = || {
        header(req, "Sec-WebSocket-Protocol")
            .and_then(|offered| token_from_subprotocols(&offered))
            .filter(|_| is_socket)
    };
    let from_query = || {
        let url = req.url().ok()?;
        let token = url
            .query_pairs()
            .find(|(name, _)| name == "token")?
            .1
            .into_owned();
        is_socket.then_some(token)
    };
    let token = match authorization {
        Some(header) => bearer_token(Some(&header))
            .map(str::to_owned)
            .map_err(|error| ApiError::Unauthorized(error.message().into()))?,
        None => match from_subprotocol().or_else(from_query) {
            Some(token) => token,
            None => bearer_token(None)
                .map(str::to_owned)
                .map_err(|error| ApiError::Unauthorized(error.message().into()))?,
        },
    };
    crate::tokens::verify(config, &token, dev_tokens).await
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

/// The request's `Idempotency-Key` (a malformed one is a 400), with the fingerprint of what
/// the request asks for: its method, path, `If-Match` and body (`body`, as parsed and
/// written back, so spacing does not make a retry a different request).
pub fn idempotency_claim(req: &Request, body: Option<&Value>) -> Result<Option<Claim>, ApiError> {
    let Some(raw) = header(req, KEY_HEADER) else {
        return Ok(None);
    };
    let key = IdempotencyKey::parse(&raw)?;
    let body = body
        .map(serde_json::to_vec)
        .transpose()
        .map_err(ApiError::internal)?
        .unwrap_or_default();
    let method = req.method().to_string();
    let if_match = header(req, "If-Match");
    let fingerprint = fingerprint(&method, &req.path(), if_match.as_deref(), &body);
    Ok(Some(Claim::new(key, fingerprint)))
}

/// Reads a JSON body: content type, size and syntax are checked in that order; an object
/// that names a key twice is a syntax error here.
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
    // Read as it streams, and stop at the limit: a chunked body that never says its length
    // is refused before the rest of it is read into the isolate.
    let mut bytes = Vec::new();
    if let Ok(mut stream) = req.stream() {
        use futures::StreamExt;
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|_| ApiError::BadRequest("the body could not be read".into()))?;
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(ApiError::PayloadTooLarge {
                    limit: MAX_BODY_BYTES,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
    }
    // A repeated key is refused: a proxy in front of us could read the other one.
    parse_strict(&bytes).map_err(|error| ApiError::BadRequest(error.message("the body")))
}
