//! Writing a response: JSON, a task with its `ETag`, and every error as
//! `application/problem+json`. Store failures become API errors here, and only here.

use serde::Serialize;
use worker::{Headers, Response};

use crate::store::StoreError;
use hero_core::conditional::etag;
use hero_core::error::ApiError;
use hero_core::idempotency::{StoredResponse, REPLAYED_HEADER};
use hero_core::task::{FieldError, Task};

pub fn json_response<T: Serialize>(status: u16, body: &T) -> Result<Response, ApiError> {
    Response::from_json(body)
        .map(|r| r.with_status(status))
        .map_err(ApiError::internal)
}

pub fn task_response(status: u16, task: &Task) -> Result<Response, ApiError> {
    let response = json_response(status, task)?;
    response
        .headers()
        .set("ETag", &etag(task.version))
        .map_err(ApiError::internal)?;
    Ok(response)
}

/// A keyed write's first response, sent again for its retry, marked as a replay.
pub fn replayed(stored: &StoredResponse) -> Result<Response, ApiError> {
    let response = match &stored.body {
        Some(body) => {
            let response = Response::ok(body.as_str()).map_err(ApiError::internal)?;
            response
                .headers()
                .set("Content-Type", "application/json")
                .map_err(ApiError::internal)?;
            response
        }
        None => Response::empty().map_err(ApiError::internal)?,
    }
    .with_status(stored.status);
    let headers = response.headers();
    for (name, value) in [("ETag", &stored.etag), ("Location", &stored.location)] {
        if let Some(value) = value {
            headers.set(name, value).map_err(ApiError::internal)?;
        }
    }
    headers
        .set(REPLAYED_HEADER, "true")
        .map_err(ApiError::internal)?;
    Ok(response)
}

/// The answer to a HEAD: `response`'s status and headers, and no body.
pub fn without_body(response: Response) -> Response {
    let status = response.status_code();
    let headers = response.headers().clone();
    Response::empty()
        .map(|r| r.with_status(status).with_headers(headers))
        .unwrap_or(response)
}

pub fn no_content() -> Result<Response, ApiError> {
    Response::empty()
        .map(|r| r.with_status(204))
        .map_err(ApiError::internal)
}

/// Renders an error as `application/problem+json`, with the headers its status calls for.
pub fn problem_response(error: &ApiError, request_id: &str) -> Response {
    let mut problem = error.problem();
    problem.request_id = Some(request_id.to_owned());
    let body = serde_json::to_string(&problem).unwrap_or_else(|_| "{}".into());
    let headers = Headers::new();
    let _ = headers.set("Content-Type", "application/problem+json");
    for (name, value) in error.headers() {
        let _ = headers.set(name, &value);
    }
    Response::ok(body)
        .map(|r| r.with_status(error.status_code()).with_headers(headers))
        .unwrap_or_else(|_| {
            Response::empty()
                .expect("an empty response")
                .with_status(500)
        })
}

/// What a store failure means to a client.
impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Duplicate(_) => {
                ApiError::Conflict("a concurrent write got there first; retry".into())
            }
            StoreError::Constraint(cause) => {
                // Validation should have caught it; the database is the last line, not a 500.
                tracing::warn!(cause = %cause, "a write broke a table constraint");
                ApiError::Validation(vec![FieldError::new(
                    "",
                    "the task breaks a storage rule (a field is out of range)",
                )])
            }
            other => ApiError::internal(other),
        }
    }
}
