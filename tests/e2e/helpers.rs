//! The e2e harness: one real `wrangler dev` (workerd, local D1) on a free loopback port with
//! a fresh state directory, and small HTTP helpers around it.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use hero_tasks::auth::{sign_dev_token, DevTokenRequest, Role};
use reqwest::{Method, StatusCode};

use serde_json::Value;

// Shared with bench/load; the Ctrl-C clean-up there is not needed here.
#[allow(dead_code)]
#[path = "../support/process.rs"]
mod process;
use process::{free_port, http_ok, ProcessGroup};

/// The secret the dev server under test verifies tokens with (passed as a `--var`).
pub const TEST_SECRET: &str = "e2e-secret-e2e-secret-e2e-secret-0123";

fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn wrangler() -> Command {
    let mut command = Command::new(project_root().join("node_modules/.bin/wrangler"));
    command
        .current_dir(project_root())
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CI", "true")
        .stdin(Stdio::null());
    command
}

/// The room cap the server under test runs with: 8 so the tests reach it, or enough for
/// `make soak` (HERO_E2E_MAX_CONNECTIONS).
fn max_connections() -> usize {
    std::env::var("HERO_E2E_MAX_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}

/// A running `wrangler dev`. Stopped (its whole process group) when dropped.
pub struct Server {
    group: Mutex<Option<ProcessGroup>>,
    pub port: u16,
    pub base: String,
    state_dir: PathBuf,
    log_path: PathBuf,
}

impl Server {
    /// Applies the migrations to a fresh state directory and starts the dev server.
    pub fn start() -> Server {
        let state_dir =
            std::env::temp_dir().join(format!("hero-tasks-e2e-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&state_dir).expect("state dir");
        let status = wrangler()
            .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
            .arg(&state_dir)
            .stdout(Stdio::null())
            .status()
            .expect("run wrangler d1 migrations apply");
        assert!(status.success(), "applying migrations failed");
        let port = free_port();
        let server = Server {
            group: Mutex::new(None),
            port,
            base: format!("http://127.0.0.1:{port}"),
            log_path: state_dir.join("wrangler-dev.log"),
            state_dir,
        };
        server.launch();
        server
    }

    fn launch(&self) {
        let mut command = wrangler();
        command
            .args(["dev", "--ip", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .arg("--inspector-port")
            .arg(free_port().to_string())
            .arg("--persist-to")
            .arg(&self.state_dir)
            .args(["--var", &format!("JWT_SECRET:{TEST_SECRET}")])
            // Small room limits so the tests can reach them quickly.
            .args(["--var", "ROOM_LOG_SIZE:10"])
            .args([
                "--var",
                &format!("ROOM_MAX_CONNECTIONS:{}", max_connections()),
            ])
            .args([
                "--var",
                "PRESENCE_GRACE_MS:1500",
                "--var",
                "TYPING_TTL_MS:1500",
            ])
            .args([
                "--var",
                "ROOM_MESSAGES_PER_SEC:10",
                "--var",
                "ROOM_MAX_FRAME_BYTES:2048",
            ])
            // The UI's dev sign-in, for the browser tests (loopback only, as in make dev).
            .args(["--var", "DEV_LOGIN:true"])
            .args([
                "--show-interactive-dev-session=false",
                // "log" is the level of the worker's console output.
                "--log-level",
                "log",
            ]);
        let mut group = ProcessGroup::spawn(command, &self.log_path);
        let port = self.port;
        group.wait_until("wrangler dev", Duration::from_secs(180), || {
            http_ok(port, "/healthz")
        });
        *self.group.lock().unwrap() = Some(group);
    }

    /// Everything the dev server printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Resident memory of the dev server's processes (wrangler and its workerd), in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.group
            .lock()
            .unwrap()
            .as_ref()
            .map_or(0, ProcessGroup::rss_kib)
    }

    /// Kills the dev server hard (SIGKILL to its process group), as a crash would.
    pub fn kill(&self) {
        if let Some(mut group) = self.group.lock().unwrap().take() {
            group.kill();
        }
    }

    /// Starts the dev server again on the same port and persisted state.
    pub fn restart(&self) {
        self.kill();
        self.launch();
    }

    /// Runs SQL against the server's local D1 with `wrangler d1 execute`, bypassing the
    /// Worker (for tests that simulate a write whose follow-up never happened).
    pub fn d1_execute(&self, sql: &str) {
        let output = wrangler()
            .args(["d1", "execute", "DB", "--local", "--persist-to"])
            .arg(&self.state_dir)
            .args(["--command", sql])
            .output()
            .expect("run wrangler d1 execute");
        assert!(
            output.status.success(),
            "d1 execute failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn stop(&self) {
        if let Some(mut group) = self.group.lock().unwrap().take() {
            group.stop();
        }
        // Keep the server's output for whoever looks into a failure.
        let artifacts = project_root().join("test-artifacts");
        if std::fs::create_dir_all(&artifacts).is_ok() {
            let _ = std::fs::copy(&self.log_path, artifacts.join("wrangler-dev.log"));
        }
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

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

pub fn token_with_secret(
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
    sign_dev_token(secret, &request, Utc::now())
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, printing the body when it differs.
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts an RFC 9457 problem with this status.
    pub fn expect_problem(self, status: u16) -> Self {
        let reply = self.expect(status);
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{}",
            reply.text
        );
        assert_eq!(reply.body["status"], status);
        for member in ["type", "title", "detail"] {
            assert!(
                reply.body[member].is_string(),
                "problem lacks {member}: {}",
                reply.text
            );
        }
        reply
    }
}

/// An HTTP client acting as one user.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    pub fn new(base: &str, token: Option<String>) -> Api {
        Api {
            client: reqwest::Client::new(),
            base: base.to_owned(),
            token,
        }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self
            .client
            .request(method, format!("{}{}", self.base, path));
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Reply {
        let response = builder
            .send()
            .await
            .expect("request reaches the dev server");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value, if_match: Option<&str>) -> Reply {
        let mut builder = self.request(Method::PATCH, path).json(body);
        if let Some(tag) = if_match {
            builder = builder.header("If-Match", tag);
        }
        self.send(builder).await
    }

    pub async fn delete(&self, path: &str, if_match: Option<&str>) -> Reply {
        let mut builder = self.request(Method::DELETE, path);
        if let Some(tag) = if_match {
            builder = builder.header("If-Match", tag);
        }
        self.send(builder).await
    }

    /// Creates a task and returns it (asserting 201).
    pub async fn create(&self, body: Value) -> Value {
        self.post("/api/tasks", &body).await.expect(201).body
    }
}

/// A WebSocket client in a room, with helpers to wait for specific messages.
pub struct Socket {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    /// The rest of a `batch` frame: its events are handed out one by one, like a client does.
    unpacked: std::collections::VecDeque<Value>,
}

/// How long a test waits for a message it expects before failing.
pub const WAIT: Duration = Duration::from_secs(10);

impl Socket {
    /// Opens `path` (with its query) on the server; `Err(status)` when refused before upgrade.
    pub async fn open(base: &str, path: &str) -> Result<Socket, u16> {
        let url = format!("{}{}", base.replacen("http://", "ws://", 1), path);
        match tokio_tungstenite::connect_async(url).await {
            Ok((stream, _)) => Ok(Socket {
                stream,
                unpacked: Default::default(),
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(other) => panic!("websocket connect failed: {other}"),
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        use futures::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::text(text))
            .await
            .expect("send");
    }

    pub async fn send_json(&mut self, value: &Value) {
        self.send_text(&value.to_string()).await;
    }

    /// Sends without asserting: false once the socket is closed.
    pub async fn try_send_json(&mut self, value: &Value) -> bool {
        use futures::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::text(
                value.to_string(),
            ))
            .await
            .is_ok()
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        use futures::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::binary(bytes))
            .await
            .expect("send");
    }

    /// The next message: `Ok(json)`, `Err(code)` when the socket closes. The events of a
    /// `batch` frame come out one at a time, in order.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Result<Value, u16>> {
        if let Some(event) = self.unpacked.pop_front() {
            return Some(Ok(event));
        }
        match self.next_frame_within(wait).await? {
            Ok(Value::Object(mut frame)) if frame.get("type") == Some(&"batch".into()) => {
                let Some(Value::Array(events)) = frame.remove("events") else {
                    panic!("a batch frame without events: {frame:?}");
                };
                assert!(events.len() >= 2, "a batch of {} events", events.len());
                self.unpacked.extend(events);
                self.unpacked.pop_front().map(Ok)
            }
            other => Some(other),
        }
    }

    /// The next frame as sent, without unpacking batches.
    pub async fn next_frame_within(&mut self, wait: Duration) -> Option<Result<Value, u16>> {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()?;
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Some(Ok(
                        serde_json::from_str(&text).expect("server frames are JSON")
                    ))
                }
                Some(Ok(Message::Close(frame))) => {
                    return Some(Err(frame.map_or(1005, |f| u16::from(f.code))))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Some(Err(1006)),
            }
        }
    }

    /// Waits for the next message of type `kind`, skipping others; panics on timeout or close.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            match self.next_within(WAIT).await {
                Some(Ok(message)) if message["type"] == kind => return message,
                Some(Ok(_)) => continue,
                Some(Err(code)) => panic!("socket closed ({code}) while waiting for {kind}"),
                None => panic!("no {kind} within {WAIT:?}"),
            }
        }
    }

    /// Waits for the socket to be closed by the server and returns the close code.
    pub async fn expect_close(&mut self) -> u16 {
        loop {
            match self.next_within(WAIT).await {
                Some(Ok(_)) => continue,
                Some(Err(code)) => return code,
                None => panic!("the socket was not closed within {WAIT:?}"),
            }
        }
    }

    /// Everything that arrives within `wait` (the socket stays open).
    pub async fn collect_for(&mut self, wait: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut messages = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Some(Ok(message)) => messages.push(message),
                Some(Err(_)) | None => return messages,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

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
        let api = Api::new(
            base,
            Some(token(user, hero_tasks::auth::Role::Member, &workspace)),
        );
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
        let who = token(user, hero_tasks::auth::Role::Member, &self.workspace);
        join_room(base, &format!("/ws/tasks/{}", self.task_id), &who).await
    }
}

/// Opens a room (`/ws/tasks/{id}` or `/ws/board`, optionally with `?since=`) with `token`
/// and waits for the welcome.
pub async fn join_room(base: &str, room_path: &str, token: &str) -> (Socket, Value) {
    let separator = if room_path.contains('?') { '&' } else { '?' };
    let mut socket = Socket::open(base, &format!("{room_path}{separator}token={token}"))
        .await
        .expect("the upgrade is accepted");
    let welcome = socket.expect("welcome").await;
    (socket, welcome)
}
