//! The one error type of the API, and its RFC 9457 `application/problem+json` body.
//!
//! Every decision in the core that can refuse a request returns `Result<_, ApiError>`; the
//! HTTP glue renders the error once. Internal errors carry their cause for the log only: the
//! body says "internal error" and nothing more.

use serde::{Deserialize, Serialize};

use crate::task::{FieldError, Task};

/// The most field errors a 422 lists; the detail says how many more there were.
pub const LISTED_ERRORS_MAX: usize = 20;

/// The most characters of a client's own text (an unknown field's name, a repeated key)
/// an error echoes; longer ones are cut and end in `…`.
pub const ECHO_MAX_CHARS: usize = 64;

/// `text` as an error may echo it: at most [`ECHO_MAX_CHARS`] characters, then `…`.
pub fn echo(text: &str) -> String {
    match text.char_indices().nth(ECHO_MAX_CHARS) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

/// Every way a request can fail, with the status code it maps to.
///
/// It crosses from a room to the Worker as JSON (a room refuses a write with it), so it is
/// a tagged serde enum like every other message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "error", content = "detail", rename_all = "snake_case")]
pub enum ApiError {
    /// 400: the request could not be parsed (malformed JSON, a bad cursor or header).
    BadRequest(String),
    /// 401: no token, or one that does not verify. Carries `WWW-Authenticate`.
    Unauthorized(String),
    /// 403: a valid token whose role may not do this.
    Forbidden(String),
    /// 404: no such route, or no such task in the caller's workspace.
    NotFound(String),
    /// 405: the route exists, the method does not. Decided by the Worker's route table
    /// only, so it never travels between Worker and room.
    #[serde(skip)]
    MethodNotAllowed { allowed: &'static [&'static str] },
    /// 409: the write lost against concurrent writers too many times in a row.
    Conflict(String),
    /// 409: a request with the same `Idempotency-Key` is still being made. Carries
    /// `Retry-After`.
    IdempotencyKeyInUse,
    /// 422: this `Idempotency-Key` was used for a different request.
    IdempotencyKeyReused,
    /// 412: `If-Match` named a version that is no longer current; `current` is the task now.
    PreconditionFailed { current: Box<Task> },
    /// 413: the body is larger than the limit, in bytes.
    PayloadTooLarge { limit: usize },
    /// 426: a WebSocket route was called without `Upgrade: websocket`.
    UpgradeRequired,
    /// 415: the body is not JSON.
    UnsupportedMediaType(String),
    /// 422: the body parsed but broke the rules; every bad field is named.
    Validation(Vec<FieldError>),
    /// 500: something on our side failed. The string is logged, never sent.
    Internal(String),
    /// 503: something this request depends on is out of reach for now (a Supabase
    /// project's JWKS that cannot be fetched, with no keys held). Carries `Retry-After`.
    ServiceUnavailable(String),
}

/// The JSON body of an error response.
#[derive(Debug, Serialize, PartialEq)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// For 412: the task as it is now, so the client can merge without another request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Task>,
    /// The id of the request in the logs (also the `X-Request-Id` header), for bug reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ApiError {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn task_not_found() -> Self {
        ApiError::NotFound("no task with this id in your workspace".into())
    }

    pub fn status_code(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Conflict(_) | ApiError::IdempotencyKeyInUse => 409,
            ApiError::IdempotencyKeyReused => 422,
            ApiError::PreconditionFailed { .. } => 412,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::UpgradeRequired => 426,
            ApiError::Validation(_) => 422,
            ApiError::Internal(_) => 500,
            ApiError::ServiceUnavailable(_) => 503,
        }
    }

    /// A short stable slug, used in the problem `type` URI.
    fn slug(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed { .. } => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::IdempotencyKeyInUse => "idempotency-key-in-use",
            ApiError::IdempotencyKeyReused => "idempotency-key-reused",
            ApiError::PreconditionFailed { .. } => "precondition-failed",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::UpgradeRequired => "upgrade-required",
            ApiError::Validation(_) => "validation-error",
            ApiError::Internal(_) => "internal-error",
            ApiError::ServiceUnavailable(_) => "service-unavailable",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "Bad request",
            ApiError::Unauthorized(_) => "Unauthorized",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::NotFound(_) => "Not found",
            ApiError::MethodNotAllowed { .. } => "Method not allowed",
            ApiError::Conflict(_) => "Conflict",
            ApiError::IdempotencyKeyInUse => "Idempotency key in use",
            ApiError::IdempotencyKeyReused => "Idempotency key reused",
            ApiError::PreconditionFailed { .. } => "Precondition failed",
            ApiError::PayloadTooLarge { .. } => "Payload too large",
            ApiError::UnsupportedMediaType(_) => "Unsupported media type",
            ApiError::UpgradeRequired => "Upgrade required",
            ApiError::Validation(_) => "Validation failed",
            ApiError::Internal(_) => "Internal error",
            ApiError::ServiceUnavailable(_) => "Service unavailable",
        }
    }

    /// Headers the status code calls for (RFC 9110 / RFC 6750).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            ApiError::Unauthorized(_) => vec![(
                "WWW-Authenticate",
                r#"Bearer realm="hero-tasks", error="invalid_token""#.into(),
            )],
            ApiError::MethodNotAllowed { allowed } => vec![("Allow", allowed.join(", "))],
            ApiError::ServiceUnavailable(_) => vec![("Retry-After", "5".into())],
            ApiError::IdempotencyKeyInUse => vec![("Retry-After", "1".into())],
            ApiError::PreconditionFailed { current } => {
                vec![("ETag", crate::conditional::etag(current.version))]
            }
            _ => Vec::new(),
        }
    }

    pub fn problem(&self) -> Problem {
        let detail = match self {
            ApiError::BadRequest(d)
            | ApiError::Unauthorized(d)
            | ApiError::Forbidden(d)
            | ApiError::NotFound(d)
            | ApiError::Conflict(d)
            | ApiError::ServiceUnavailable(d)
            | ApiError::UnsupportedMediaType(d) => d.clone(),
            ApiError::MethodNotAllowed { allowed } => {
                format!("this route accepts {}", allowed.join(", "))
            }
            ApiError::PreconditionFailed { .. } => {
                "the task changed since the version in If-Match; `current` holds it now".into()
            }
            ApiError::UpgradeRequired => {
                "this is a WebSocket endpoint; connect with Upgrade: websocket".into()
            }
            ApiError::IdempotencyKeyInUse => {
                "a request with this Idempotency-Key is still being made; retry shortly".into()
            }
            ApiError::IdempotencyKeyReused => {
                "this Idempotency-Key was used for a different request; use a new key".into()
            }
            ApiError::PayloadTooLarge { limit } => {
                format!("the body must be at most {limit} bytes")
            }
            ApiError::Validation(errors) => match errors.as_slice() {
                [one] if one.field.is_empty() => one.message.clone(),
                [one] => format!("{}: {}", one.field, one.message),
                many if many.len() > LISTED_ERRORS_MAX => format!(
                    "{} fields are invalid: the first {LISTED_ERRORS_MAX} are listed, and {} more",
                    many.len(),
                    many.len() - LISTED_ERRORS_MAX
                ),
                many => format!("{} fields are invalid", many.len()),
            },
            ApiError::Internal(_) => "something went wrong on our side".into(),
        };
        Problem {
            kind: format!("https://hero-tasks.dev/problems/{}", self.slug()),
            title: self.title(),
            status: self.status_code(),
            detail,
            errors: match self {
                ApiError::Validation(errors) => {
                    Some(errors.iter().take(LISTED_ERRORS_MAX).cloned().collect())
                }
                _ => None,
            },
            current: match self {
                ApiError::PreconditionFailed { current } => Some(current.as_ref().clone()),
                _ => None,
            },
            request_id: None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Internal(cause) => write!(f, "500 internal error: {cause}"),
            other => write!(f, "{} {}", other.status_code(), other.problem().detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_leak_their_cause() {
        let error = ApiError::internal("D1_ERROR: no such table: tasks");
        let body = serde_json::to_string(&error.problem()).unwrap();
        assert_eq!(error.status_code(), 500);
        assert!(!body.contains("D1_ERROR"), "{body}");
        assert!(error.to_string().contains("D1_ERROR"));
    }

    #[test]
    fn validation_names_each_field() {
        let error = ApiError::Validation(vec![
            FieldError::new("title", "must not be blank"),
            FieldError::new("tags", "must have at most 20 tags"),
        ]);
        let body = serde_json::to_value(error.problem()).unwrap();
        assert_eq!(body["status"], 422);
        assert_eq!(body["errors"][0]["field"], "title");
        assert_eq!(body["errors"][1]["field"], "tags");
        assert_eq!(
            body["type"],
            "https://hero-tasks.dev/problems/validation-error"
        );
    }

    #[test]
    fn a_422_lists_twenty_errors_and_counts_the_rest() {
        let errors: Vec<FieldError> = (0..27_001)
            .map(|n| FieldError::new(format!("u{n}"), "unknown field"))
            .collect();
        let problem = ApiError::Validation(errors).problem();
        assert_eq!(
            problem.errors.as_ref().map(Vec::len),
            Some(LISTED_ERRORS_MAX)
        );
        assert_eq!(problem.errors.unwrap()[19].field, "u19");
        assert_eq!(
            problem.detail,
            "27001 fields are invalid: the first 20 are listed, and 26981 more"
        );
        let twenty = vec![FieldError::new("a", "b"); 20];
        let problem = ApiError::Validation(twenty).problem();
        assert_eq!(problem.detail, "20 fields are invalid");
        assert_eq!(problem.errors.map(|e| e.len()), Some(20));
    }

    #[test]
    fn echoes_are_cut_on_a_character_boundary() {
        assert_eq!(echo("short"), "short");
        let exact = "é".repeat(ECHO_MAX_CHARS);
        assert_eq!(echo(&exact), exact);
        let long = "é".repeat(ECHO_MAX_CHARS + 1);
        let cut = echo(&long);
        assert_eq!(cut.chars().count(), ECHO_MAX_CHARS + 1);
        assert!(cut.ends_with("é…"));
    }

    #[test]
    fn unauthorized_carries_www_authenticate_and_405_carries_allow() {
        let headers = ApiError::Unauthorized("x".into()).headers();
        assert_eq!(headers[0].0, "WWW-Authenticate");
        assert!(headers[0].1.starts_with("Bearer"));
        let headers = ApiError::MethodNotAllowed {
            allowed: &["GET", "POST"],
        }
        .headers();
        assert_eq!(headers, [("Allow", "GET, POST".to_string())]);
    }
}
