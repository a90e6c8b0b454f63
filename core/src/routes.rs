//! The REST route table: one pure function from method and path to a [`Route`].
//!
//! Kept apart from the handlers so that 404 versus 405 (with `Allow`) is decided in one
//! place and unit tested.

use crate::error::ApiError;

/// Every REST endpoint the worker serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Health,
    OpenApi,
    ListTasks,
    CreateTask,
    GetTask(String),
    UpdateTask(String),
    DeleteTask(String),
    TaskActivity(String),
    Analytics,
    /// WebSocket upgrade into a task's room.
    TaskSocket(String),
    /// WebSocket upgrade into a task's shared description (y-websocket).
    TaskDocSocket(String),
    /// WebSocket upgrade into the workspace board.
    BoardSocket,
    /// Whether the local development sign-in is available.
    DevConfig,
    /// Local development sign-in: a token for a chosen name and role.
    DevToken,
}

impl Route {
    /// A low-cardinality name for logs and metrics (no ids in it).
    pub fn name(&self) -> &'static str {
        match self {
            Route::Health => "health",
            Route::OpenApi => "openapi",
            Route::ListTasks => "list_tasks",
            Route::CreateTask => "create_task",
            Route::GetTask(_) => "get_task",
            Route::UpdateTask(_) => "update_task",
            Route::DeleteTask(_) => "delete_task",
            Route::TaskActivity(_) => "task_activity",
            Route::Analytics => "analytics",
            Route::TaskSocket(_) => "task_socket",
            Route::TaskDocSocket(_) => "task_doc_socket",
            Route::BoardSocket => "board_socket",
            Route::DevConfig => "dev_config",
            Route::DevToken => "dev_token",
        }
    }
}

/// Resolves a request line. HEAD is routed as GET wherever GET is (RFC 9110 §9.3.2): the
/// Worker answers it with the GET's status and headers and no body. Every `Allow` lists
/// HEAD beside GET.
pub fn route(method: &str, path: &str) -> Result<Route, ApiError> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let method = if method == "HEAD" { "GET" } else { method };
    let not_allowed = |allowed: &'static [&'static str]| ApiError::MethodNotAllowed { allowed };
    const GET: &[&str] = &["GET", "HEAD"];
    match (segments.as_slice(), method) {
        (["healthz"], "GET") => Ok(Route::Health),
        (["healthz"], _) => Err(not_allowed(GET)),
        (["api", "openapi.json"], "GET") => Ok(Route::OpenApi),
        (["api", "openapi.json"], _) => Err(not_allowed(GET)),
        (["api", "analytics"], "GET") => Ok(Route::Analytics),
        (["api", "analytics"], _) => Err(not_allowed(GET)),
        (["api", "tasks"], "GET") => Ok(Route::ListTasks),
        (["api", "tasks"], "POST") => Ok(Route::CreateTask),
        (["api", "tasks"], _) => Err(not_allowed(&["GET", "HEAD", "POST"])),
        (["api", "tasks", id], "GET") if !id.is_empty() => Ok(Route::GetTask((*id).to_owned())),
        (["api", "tasks", id], "PATCH") if !id.is_empty() => {
            Ok(Route::UpdateTask((*id).to_owned()))
        }
        (["api", "tasks", id], "DELETE") if !id.is_empty() => {
            Ok(Route::DeleteTask((*id).to_owned()))
        }
        (["api", "tasks", id], _) if !id.is_empty() => {
            Err(not_allowed(&["GET", "HEAD", "PATCH", "DELETE"]))
        }
        (["api", "tasks", id, "activity"], "GET") if !id.is_empty() => {
            Ok(Route::TaskActivity((*id).to_owned()))
        }
        (["api", "tasks", id, "activity"], _) if !id.is_empty() => Err(not_allowed(GET)),
        (["ws", "tasks", id], "GET") if !id.is_empty() => Ok(Route::TaskSocket((*id).to_owned())),
        (["ws", "tasks", id, "doc"], "GET") if !id.is_empty() => {
            Ok(Route::TaskDocSocket((*id).to_owned()))
        }
        (["ws", "tasks", id, "doc"], _) if !id.is_empty() => Err(not_allowed(GET)),
        (["ws", "board"], "GET") => Ok(Route::BoardSocket),
        (["ws", "tasks", id], _) if !id.is_empty() => Err(not_allowed(GET)),
        (["ws", "board"], _) => Err(not_allowed(GET)),
        (["api", "dev", "config"], "GET") => Ok(Route::DevConfig),
        (["api", "dev", "token"], "POST") => Ok(Route::DevToken),
        (["api", "dev", "config"], _) => Err(not_allowed(GET)),
        (["api", "dev", "token"], _) => Err(not_allowed(&["POST"])),
        _ => Err(ApiError::NotFound(format!("no route for {path}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_each_route() {
        assert_eq!(route("GET", "/healthz").unwrap(), Route::Health);
        assert_eq!(route("GET", "/api/tasks").unwrap(), Route::ListTasks);
        assert_eq!(route("GET", "/api/tasks/").unwrap(), Route::ListTasks);
        assert_eq!(route("POST", "/api/tasks").unwrap(), Route::CreateTask);
        assert_eq!(
            route("GET", "/api/tasks/x").unwrap(),
            Route::GetTask("x".into())
        );
        assert_eq!(
            route("PATCH", "/api/tasks/x").unwrap(),
            Route::UpdateTask("x".into())
        );
        assert_eq!(
            route("DELETE", "/api/tasks/x").unwrap(),
            Route::DeleteTask("x".into())
        );
        assert_eq!(route("GET", "/api/analytics").unwrap(), Route::Analytics);
        assert_eq!(route("GET", "/api/openapi.json").unwrap(), Route::OpenApi);
        assert_eq!(
            route("GET", "/api/tasks/x/activity").unwrap(),
            Route::TaskActivity("x".into())
        );
        assert_eq!(
            route("GET", "/ws/tasks/x").unwrap(),
            Route::TaskSocket("x".into())
        );
        assert_eq!(route("GET", "/ws/board").unwrap(), Route::BoardSocket);
    }

    #[test]
    fn head_is_routed_wherever_get_is() {
        for path in [
            "/healthz",
            "/api/openapi.json",
            "/api/analytics",
            "/api/tasks",
            "/api/tasks/x",
            "/api/tasks/x/activity",
            "/ws/tasks/x",
            "/ws/tasks/x/doc",
            "/ws/board",
            "/api/dev/config",
        ] {
            assert_eq!(route("HEAD", path).ok(), route("GET", path).ok(), "{path}");
            let allowed = route("PUT", path).unwrap_err().headers()[0].1.clone();
            assert!(allowed.starts_with("GET, HEAD"), "{path}: {allowed}");
        }
        // Not where GET is not: a 405 (with Allow), or the same 404.
        assert_eq!(
            route("HEAD", "/api/dev/token").unwrap_err().status_code(),
            405
        );
        assert_eq!(route("HEAD", "/nope").unwrap_err().status_code(), 404);
        // Methods are case-sensitive (RFC 9110 §9.1): `head` is not HEAD.
        assert_eq!(route("head", "/healthz").unwrap_err().status_code(), 405);
    }

    #[test]
    fn wrong_method_is_405_with_allow_and_unknown_path_is_404() {
        let error = route("PUT", "/api/tasks/x").unwrap_err();
        assert_eq!(error.status_code(), 405);
        assert_eq!(error.headers()[0].1, "GET, HEAD, PATCH, DELETE");
        assert_eq!(
            route("DELETE", "/api/tasks").unwrap_err().status_code(),
            405
        );
        assert_eq!(route("GET", "/api/nope").unwrap_err().status_code(), 404);
        assert_eq!(
            route("GET", "/api/tasks/x/y/z").unwrap_err().status_code(),
            404
        );
        assert_eq!(route("GET", "/").unwrap_err().status_code(), 404);
    }
}
