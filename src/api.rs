//! The REST handlers: thin glue that parses a request, calls the pure core and the store,
//! and maps the outcome to a response. Errors are rendered once, in [`respond`].

use serde::Serialize;
use serde_json::{json, Value};
use tracing::Instrument;
use worker::{D1Database, Env, Headers, Request, Response};

use crate::auth::{
    bearer_token, dev_login_enabled, dev_user_id, sign_dev_token, AuthError, DevTokenRequest,
    Principal, Role, Verifier,
};
use crate::conditional::{etag, IfMatch};
use crate::config::Config;
use crate::domain::{
    format_timestamp, Change, ChangeKind, FieldError, Stamp, Status, Task, TaskChanges, TaskId,
};
use crate::error::ApiError;
use crate::listing::ListQuery;
use crate::logging;
use crate::rooms::{self, RoomKey};
use crate::routes::{route, Route};
use crate::store;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How many times a write without `If-Match` re-reads and re-applies after losing a race.
/// Retries go at once: a writer that lost has just seen the winner's version, and waiting
/// only widens the window for the next collision (measured: a jittered back-off turned 1 in
/// 400 conflicts at 80 writes/s on one task into 270).
const WRITE_ATTEMPTS: usize = 10;

/// The OpenAPI document, checked by the e2e suite against what the server does.
const OPENAPI: &str = include_str!("openapi.json");

/// Serves one REST request. Never fails: every error becomes a problem+json response.
pub async fn respond(req: Request, env: &Env) -> Response {
    logging::apply_log_level(lookup(env, "LOG_LEVEL").as_deref());
    let started = now_ms();
    let request_id = request_id(&req);
    // The raw method: worker's Method enum folds unknown methods (QUERY, TRACE…) into GET.
    let method = req.inner().method().to_ascii_uppercase();
    let routed = route(&method, &req.path());
    // Never the URL: a WebSocket URL carries the token in its query.
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        route = routed.as_ref().map_or("unknown", Route::name),
        method = %method,
        user_id = tracing::field::Empty,
        task_id = tracing::field::Empty,
    );
    async move {
        let outcome = match routed {
            Ok(route) => dispatch(route, req, env, &request_id).await,
            Err(error) => Err(error),
        };
        let response = match outcome {
            Ok(response) => response,
            Err(error) => {
                if let ApiError::Internal(cause) = &error {
                    tracing::error!(cause = %cause, "internal error");
                }
                problem_response(&error, &request_id)
            }
        };
        let status = response.status_code();
        tracing::info!(
            status,
            duration_ms = now_ms().saturating_sub(started),
            "request"
        );
        // A 101 from a room has immutable headers; the id is in its logs all the same.
        let _ = response.headers().set(REQUEST_ID_HEADER, &request_id);
        response
    }
    .instrument(span)
    .await
}

/// The response header (and internal room-call header) carrying the request id.
pub const REQUEST_ID_HEADER: &str = "X-Request-Id";

/// Cloudflare's `cf-ray` when present (it ties the line to Cloudflare's own logs), else a
/// fresh random id. A client-supplied id is not trusted: it could forge log lines.
fn request_id(req: &Request) -> String {
    header(req, "cf-ray")
        .filter(|ray| {
            !ray.is_empty()
                && ray.len() <= 64
                && ray.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

async fn dispatch(
    route: Route,
    req: Request,
    env: &Env,
    request_id: &str,
) -> Result<Response, ApiError> {
    match route {
        Route::Health => json_response(200, &json!({"status": "ok"})),
        Route::OpenApi => Response::ok(OPENAPI)
            .and_then(|r| {
                r.headers().set("Content-Type", "application/json")?;
                Ok(r)
            })
            .map_err(ApiError::internal),
        Route::DevConfig => json_response(200, &json!({"dev_login": dev_login(&req, env)})),
        Route::DevToken => dev_token(req, env).await,
        route => {
            let config = Config::from_lookup(|name| lookup(env, name))?;
            let caller = authenticate(&req, &config)?;
            tracing::Span::current().record("user_id", caller.user_id.as_str());
            if let Route::GetTask(id)
            | Route::UpdateTask(id)
            | Route::DeleteTask(id)
            | Route::TaskActivity(id)
            | Route::TaskSocket(id) = &route
            {
                tracing::Span::current().record("task_id", id.as_str());
            }
            let db = env
                .d1("DB")
                .map_err(|e| ApiError::internal(format!("DB binding: {e}")))?;
            let writer = Writer {
                env,
                request_id,
                db: &db,
                caller: &caller,
            };
            match route {
                Route::ListTasks => list_tasks(&req, &db, &caller).await,
                Route::CreateTask => create_task(req, &writer).await,
                Route::GetTask(id) => get_task(&db, &caller, &id).await,
                Route::UpdateTask(id) => update_task(req, &writer, &id).await,
                Route::DeleteTask(id) => delete_task(&req, &writer, &id).await,
                Route::TaskActivity(id) => task_activity(&req, &db, &caller, &id).await,
                Route::Analytics => analytics(&db, &caller).await,
                Route::TaskSocket(id) => {
                    open_socket(&req, env, request_id, &db, &caller, Some(&id)).await
                }
                Route::BoardSocket => open_socket(&req, env, request_id, &db, &caller, None).await,
                Route::Health | Route::OpenApi | Route::DevConfig | Route::DevToken => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

/// Reads a var or a secret (secrets first, so a secret can never be shadowed by a var).
pub fn lookup(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
}

pub fn now() -> chrono::DateTime<chrono::Utc> {
    let millis = worker::Date::now().as_millis();
    chrono::DateTime::from_timestamp_millis(i64::try_from(millis).unwrap_or(i64::MAX))
        .unwrap_or_default()
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
fn authenticate(req: &Request, config: &Config) -> Result<Principal, ApiError> {
    let header = req.headers().get("Authorization").ok().flatten();
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

fn require_writer(caller: &Principal) -> Result<(), ApiError> {
    if caller.can_write() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "viewers can read tasks but not change them".into(),
        ))
    }
}

fn parse_task_id(raw: &str) -> Result<TaskId, ApiError> {
    // A malformed id cannot name a task: same answer as an unknown one.
    TaskId::parse(raw).ok_or_else(ApiError::task_not_found)
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

fn if_match(req: &Request) -> Result<Option<IfMatch>, ApiError> {
    header(req, "If-Match")
        .map(|raw| IfMatch::parse(&raw).map_err(ApiError::BadRequest))
        .transpose()
}

/// Reads a JSON body: content type, size and syntax are checked in that order.
async fn read_json(req: &mut Request, accepted_types: &[&str]) -> Result<Value, ApiError> {
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

fn json_response<T: Serialize>(status: u16, body: &T) -> Result<Response, ApiError> {
    Response::from_json(body)
        .map(|r| r.with_status(status))
        .map_err(ApiError::internal)
}

fn task_response(status: u16, task: &Task) -> Result<Response, ApiError> {
    let response = json_response(status, task)?;
    response
        .headers()
        .set("ETag", &etag(task.version))
        .map_err(ApiError::internal)?;
    Ok(response)
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

/// What a write handler needs: the caller, D1, and the env to notify the rooms.
struct Writer<'a> {
    env: &'a Env,
    request_id: &'a str,
    db: &'a D1Database,
    caller: &'a Principal,
}

impl Writer<'_> {
    /// Tells the task's room and the workspace board about a committed change.
    ///
    /// The change is already durable in D1 (with its `task_changes` record) and the rooms
    /// read it from there, so a failed notification is retried once and then only logged:
    /// the rooms pick the change up, in order, on their next notification or connection.
    async fn notify_rooms(&self, change: &Change) {
        let task_room = RoomKey::Task {
            workspace_id: change.task.workspace_id.clone(),
            task_id: change.task.id.to_string(),
        };
        let board = RoomKey::Board {
            workspace_id: change.task.workspace_id.clone(),
        };
        let notify = |key: RoomKey| async move {
            if rooms::notify(self.env, &key, self.request_id)
                .await
                .is_err()
            {
                if let Err(error) = rooms::notify(self.env, &key, self.request_id).await {
                    tracing::error!(room = %key.object_name(), cause = %error, "room notification failed; the room catches up on its next call");
                }
            }
        };
        futures::join!(notify(task_room), notify(board));
    }
}

fn change(
    kind: ChangeKind,
    task: Task,
    changed: &[&str],
    previous_status: Option<Status>,
    caller: &Principal,
    at: &str,
) -> Change {
    Change {
        kind,
        task,
        changed: changed.iter().map(|s| (*s).to_owned()).collect(),
        previous_status,
        actor_id: caller.user_id.clone(),
        actor_name: caller.name.clone(),
        at: at.to_owned(),
    }
}

async fn list_tasks(
    req: &Request,
    db: &D1Database,
    caller: &Principal,
) -> Result<Response, ApiError> {
    let url = req.url().map_err(ApiError::internal)?;
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let query = ListQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(ApiError::Validation)?;
    let (tasks, next) = store::list_tasks(db, &caller.workspace_id, &query).await?;
    json_response(
        200,
        &json!({"tasks": tasks, "next_cursor": next.map(|cursor| cursor.encode())}),
    )
}

async fn create_task(mut req: Request, writer: &Writer<'_>) -> Result<Response, ApiError> {
    let (db, caller) = (writer.db, writer.caller);
    require_writer(caller)?;
    let body = read_json(&mut req, &["application/json"]).await?;
    let changes = TaskChanges::from_json(&body, true).map_err(ApiError::Validation)?;
    let at = format_timestamp(now());
    let stamp = Stamp {
        actor: &caller.user_id,
        now: &at,
    };
    let task = Task::create(TaskId::generate(), &caller.workspace_id, changes, &stamp)
        .ok_or_else(|| ApiError::validation("title", "is required"))?;
    let created = change(ChangeKind::Created, task, &[], None, caller, &at);
    store::insert_task(db, &created).await?;
    writer.notify_rooms(&created).await;
    let response = task_response(201, &created.task)?;
    response
        .headers()
        .set("Location", &format!("/api/tasks/{}", created.task.id))
        .map_err(ApiError::internal)?;
    Ok(response)
}

async fn get_task(db: &D1Database, caller: &Principal, raw_id: &str) -> Result<Response, ApiError> {
    let id = parse_task_id(raw_id)?;
    let task = store::get_task(db, &caller.workspace_id, &id)
        .await?
        .ok_or_else(ApiError::task_not_found)?;
    task_response(200, &task)
}

async fn update_task(
    mut req: Request,
    writer: &Writer<'_>,
    raw_id: &str,
) -> Result<Response, ApiError> {
    let (db, caller) = (writer.db, writer.caller);
    let id = parse_task_id(raw_id)?;
    require_writer(caller)?;
    let precondition = if_match(&req)?;
    let body = read_json(
        &mut req,
        &["application/json", "application/merge-patch+json"],
    )
    .await?;
    let changes = TaskChanges::from_json(&body, false).map_err(ApiError::Validation)?;
    for _ in 0..WRITE_ATTEMPTS {
        let current = store::get_task(db, &caller.workspace_id, &id)
            .await?
            .ok_or_else(ApiError::task_not_found)?;
        if precondition
            .as_ref()
            .is_some_and(|p| !p.matches(current.version))
        {
            return Err(ApiError::PreconditionFailed {
                current: Some(Box::new(current)),
            });
        }
        if let Some(to) = changes.status {
            current
                .status
                .check_transition(to)
                .map_err(|reason| ApiError::validation("status", reason))?;
        }
        let at = format_timestamp(now());
        let mut next = current.clone();
        let changed = next.apply(changes.clone(), &at);
        if changed.is_empty() {
            return task_response(200, &current);
        }
        let updated = change(
            ChangeKind::Updated,
            next,
            &changed,
            Some(current.status),
            caller,
            &at,
        );
        if store::update_task(db, &updated, current.version).await? {
            writer.notify_rooms(&updated).await;
            return task_response(200, &updated.task);
        }
        // Another writer committed between our read and write; re-read and re-apply.
    }
    Err(ApiError::Conflict(
        "the task is being changed by others; retry".into(),
    ))
}

async fn delete_task(
    req: &Request,
    writer: &Writer<'_>,
    raw_id: &str,
) -> Result<Response, ApiError> {
    let (db, caller) = (writer.db, writer.caller);
    let id = parse_task_id(raw_id)?;
    let precondition = if_match(req)?;
    for _ in 0..WRITE_ATTEMPTS {
        let current = store::get_task(db, &caller.workspace_id, &id)
            .await?
            .ok_or_else(ApiError::task_not_found)?;
        if !caller.can_delete(&current.created_by) {
            return Err(ApiError::Forbidden(match caller.can_write() {
                true => "members can delete only the tasks they created".into(),
                false => "viewers can read tasks but not change them".into(),
            }));
        }
        if precondition
            .as_ref()
            .is_some_and(|p| !p.matches(current.version))
        {
            return Err(ApiError::PreconditionFailed {
                current: Some(Box::new(current)),
            });
        }
        let at = format_timestamp(now());
        let expected = current.version;
        let mut tombstone = current;
        tombstone.version += 1;
        tombstone.updated_at = at.clone();
        let deleted = change(ChangeKind::Deleted, tombstone, &[], None, caller, &at);
        if store::delete_task(db, &deleted, expected).await? {
            writer.notify_rooms(&deleted).await;
            return Response::empty()
                .map(|r| r.with_status(204))
                .map_err(ApiError::internal);
        }
    }
    Err(ApiError::Conflict(
        "the task is being changed by others; retry".into(),
    ))
}

async fn analytics(db: &D1Database, caller: &Principal) -> Result<Response, ApiError> {
    let report = store::analytics(db, &caller.workspace_id, now().date_naive()).await?;
    json_response(200, &report)
}

/// Page size bounds for the activity log.
const ACTIVITY_DEFAULT_LIMIT: u32 = 50;

async fn task_activity(
    req: &Request,
    db: &D1Database,
    caller: &Principal,
    raw_id: &str,
) -> Result<Response, ApiError> {
    let id = parse_task_id(raw_id)?;
    let url = req.url().map_err(ApiError::internal)?;
    let mut limit = ACTIVITY_DEFAULT_LIMIT;
    let mut before = None;
    let mut errors = Vec::new();
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "limit" => match value.parse::<u32>() {
                Ok(n) if (1..=crate::listing::MAX_LIMIT).contains(&n) => limit = n,
                _ => errors.push(FieldError::new("limit", "must be an integer from 1 to 200")),
            },
            "cursor" => match value.parse::<i64>() {
                Ok(n) if n > 0 => before = Some(n),
                _ => errors.push(FieldError::new(
                    "cursor",
                    "is not a cursor returned by this API",
                )),
            },
            _ => {}
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    // A deleted task is gone from the API, history included (D1 keeps the records).
    store::get_task(db, &caller.workspace_id, &id)
        .await?
        .ok_or_else(ApiError::task_not_found)?;
    let (rows, next) = store::activity(db, &caller.workspace_id, &id, before, limit).await?;
    let entries: Vec<Value> = rows
        .into_iter()
        .map(|(change_id, change)| {
            json!({
                "id": change_id,
                "kind": change.kind,
                "version": change.task.version,
                "changed": change.changed,
                "from_status": change.previous_status.filter(|s| *s != change.task.status),
                "to_status": change.previous_status.filter(|s| *s != change.task.status).map(|_| change.task.status),
                "actor": {"id": change.actor_id, "name": change.actor_name},
                "at": change.at,
                "task": change.task,
            })
        })
        .collect();
    json_response(
        200,
        &json!({"activity": entries, "next_cursor": next.map(|id| id.to_string())}),
    )
}

/// Upgrades into a task room (`task` = its id) or the workspace board. Every check that can
/// fail (token, task, `since`) happens before the upgrade, so it gets a plain HTTP error.
async fn open_socket(
    req: &Request,
    env: &Env,
    request_id: &str,
    db: &D1Database,
    caller: &Principal,
    task: Option<&str>,
) -> Result<Response, ApiError> {
    let upgrade = header(req, "Upgrade").unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return Err(ApiError::UpgradeRequired);
    }
    let url = req.url().map_err(ApiError::internal)?;
    let since = match url.query_pairs().find(|(name, _)| name == "since") {
        None => None,
        Some((_, raw)) => Some(raw.parse::<u64>().map_err(|_| {
            ApiError::BadRequest(
                "since must be a non-negative integer (the last seq you saw)".into(),
            )
        })?),
    };
    let key = match task {
        Some(raw_id) => {
            let id = parse_task_id(raw_id)?;
            store::get_task(db, &caller.workspace_id, &id)
                .await?
                .ok_or_else(ApiError::task_not_found)?;
            RoomKey::Task {
                workspace_id: caller.workspace_id.clone(),
                task_id: id.to_string(),
            }
        }
        None => RoomKey::Board {
            workspace_id: caller.workspace_id.clone(),
        },
    };
    rooms::connect(env, &key, caller, since, request_id).await
}

fn dev_login(req: &Request, env: &Env) -> bool {
    let url = req.url().ok();
    dev_login_enabled(
        lookup(env, "DEV_LOGIN").as_deref(),
        url.as_ref().and_then(|u| u.host_str()),
    )
}

/// Local development sign-in. Answers 404, like an unknown route, unless [`dev_login`].
async fn dev_token(mut req: Request, env: &Env) -> Result<Response, ApiError> {
    if !dev_login(&req, env) {
        return Err(ApiError::NotFound("no route for /api/dev/token".into()));
    }
    let config = Config::from_lookup(|name| lookup(env, name))?;
    let body = read_json(&mut req, &["application/json"]).await?;
    let text = |field: &str| {
        body.get(field)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("")
    };
    let mut errors = Vec::new();
    let name = text("name");
    let user_id = dev_user_id(name);
    if user_id.is_none() || name.chars().count() > 64 {
        errors.push(FieldError::new(
            "name",
            "must be 1 to 64 characters with a letter or digit",
        ));
    }
    let role = match text("role") {
        "" => Some(Role::Member),
        raw => Role::parse(raw),
    };
    if role.is_none() {
        errors.push(FieldError::new("role", "must be viewer, member or admin"));
    }
    let workspace = match text("workspace") {
        "" => "demo",
        other => other,
    };
    if workspace.len() > 64
        || !workspace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        errors.push(FieldError::new(
            "workspace",
            "must be 1 to 64 letters, digits, - or _",
        ));
    }
    let (Some(user_id), Some(role), true) = (user_id, role, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let request = DevTokenRequest {
        user_id: user_id.clone(),
        name: name.to_owned(),
        workspace_id: workspace.to_owned(),
        role,
        ttl: chrono::Duration::hours(DEV_TOKEN_HOURS),
    };
    let token = sign_dev_token(&config.jwt_secret, &request, now());
    json_response(
        200,
        &json!({"token": token, "user_id": user_id, "expires_in": DEV_TOKEN_HOURS * 3600}),
    )
}

/// How long a dev sign-in token lasts.
const DEV_TOKEN_HOURS: i64 = 12;
