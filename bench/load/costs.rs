//! The cost table: what each operation costs Hero, counted rather than timed, so it does
//! not drift between runs. Every response carries its critical path's cost in `X-Hero-Cost`
//! (D1 calls, statements, rows read and written from D1's own result meta, room calls, and
//! the longest chain of calls made one after another); a board reports what a change cost
//! it in a log line, since the change reaches it after the response.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use hero_core::auth::Role;
use hero_core::cost::{Cost, COST_HEADER};
use serde::Serialize;
use serde_json::{json, Value};

use crate::systems::{token, System};

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct OperationCost {
    pub operation: &'static str,
    /// What the figures include, in a few words.
    pub note: &'static str,
    pub cost: Cost,
}

fn header_cost(headers: &reqwest::header::HeaderMap) -> Result<Cost, String> {
    headers
        .get(COST_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(Cost::parse_header)
        .ok_or_else(|| format!("no {COST_HEADER} header"))
}

struct Client {
    http: reqwest::Client,
    base: String,
    ws_base: String,
    token: String,
}

impl Client {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(Value, Cost), String> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("{path}: HTTP {}", response.status()));
        }
        let cost = header_cost(response.headers())?;
        let body = response.json().await.unwrap_or(Value::Null);
        Ok((body, cost))
    }

    /// Opens a room socket; returns it with what the upgrade cost.
    async fn connect(&self, path: &str) -> Result<(crate::client::Ws, Cost), String> {
        let url = format!("{}{path}?token={}", self.ws_base, self.token);
        let (socket, response) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| e.to_string())?;
        Ok((socket, header_cost(response.headers())?))
    }
}

/// Waits for a frame containing `needle` (or gives up after ten seconds).
async fn wait_for(socket: &mut crate::client::Ws, needle: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.next()).await {
            Ok(Some(Ok(message))) if message.to_text().is_ok_and(|t| t.contains(needle)) => {
                return Ok(())
            }
            Ok(Some(Ok(_))) => {}
            _ => return Err(format!("no frame with {needle}")),
        }
    }
}

/// The board's `notice` log lines (one per change it was told of), newest last.
fn board_notices(system: &System, workspace: &str) -> Vec<Cost> {
    let board = format!("\"room\":\"board:{workspace}\"");
    system
        .log()
        .lines()
        .filter(|line| line.contains("\"event\":\"notice\"") && line.contains(&board))
        .filter_map(|line| serde_json::from_str::<Value>(line.get(line.find('{')?..)?).ok())
        .map(|line| Cost {
            d1_calls: line["d1_calls"].as_u64().unwrap_or(0) as u32,
            d1_queries: line["d1_queries"].as_u64().unwrap_or(0) as u32,
            rows_read: line["rows_read"].as_u64().unwrap_or(0),
            ..Cost::default()
        })
        .collect()
}

/// A one-field PATCH of the cost table, with the row targets (rows the room's
/// copy of the task saves reading, and the rows the schema needs for that field).
pub struct PatchCase {
    pub operation: &'static str,
    note: &'static str,
    field: &'static str,
    value: &'static str,
    /// What the board's frame for it contains, to wait for.
    marker: &'static str,
    pub max_rows_written: u64,
    pub max_rows_read: u64,
}

impl PatchCase {
    fn body(&self) -> Value {
        match self.field {
            "tags" => json!({ "tags": ["alpha", "beta", self.value] }),
            field => json!({ field: self.value }),
        }
    }
}

pub const PATCH_CASES: [PatchCase; 4] = [
    PatchCase {
        operation: "PATCH status only",
        note: "task row, its status index entry; change record, its 2 index entries",
        field: "status",
        value: "in_review",
        marker: "in_review",
        max_rows_written: 7,
        max_rows_read: 3,
    },
    PatchCase {
        operation: "PATCH priority only",
        note: "task row (no index holds priority); change record, its 2 index entries",
        field: "priority",
        value: "critical",
        marker: "critical",
        max_rows_written: 7,
        max_rows_read: 3,
    },
    PatchCase {
        operation: "PATCH description only",
        note: "task row, the search index's entry out and in; change record, 2 index entries",
        field: "description",
        value: "what the counted task is about",
        marker: "what the counted task is about",
        max_rows_written: 12,
        max_rows_read: 3,
    },
    PatchCase {
        operation: "PATCH one tag added",
        note: "as description, plus the new task_tags row and its index entry",
        field: "tags",
        value: "gamma",
        marker: "gamma",
        max_rows_written: 9,
        max_rows_read: 3,
    },
];

/// Runs every operation once against a warm workspace and reads what each cost.
pub async fn count(system: &System) -> Result<Vec<OperationCost>, String> {
    let workspace = format!("ws-costs-{}", uuid::Uuid::new_v4().simple());
    let client = Client {
        http: reqwest::Client::new(),
        base: system.http.clone(),
        ws_base: system.ws[0].clone(),
        token: token("counter", Role::Admin, &workspace),
    };
    use reqwest::Method;
    let mut rows = Vec::new();
    let mut row = |operation, note, cost| {
        rows.push(OperationCost {
            operation,
            note,
            cost,
        })
    };

    // The board first, so it has counted its workspace before any change reaches it.
    let (mut board, _) = client.connect("/ws/board").await?;
    wait_for(&mut board, "\"analytics\"").await?;
    let (task, create) = client
        .call(
            Method::POST,
            "/api/tasks",
            Some(json!({"title": "counted", "tags": ["alpha", "beta"]})),
        )
        .await?;
    row(
        "create",
        "D1 batch: row + change record; the board is told after",
        create,
    );
    let id = task["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/api/tasks/{id}");
    wait_for(&mut board, "task_created").await?;
    let (_, get) = client.call(Method::GET, &path, None).await?;
    row("get", "one D1 read", get);
    let (_, list) = client
        .call(Method::GET, "/api/tasks?limit=50", None)
        .await?;
    row("list", "one D1 read (page of 50)", list);

    let (_, first_patch) = client
        .call(Method::PATCH, &path, Some(json!({"title": "first"})))
        .await?;
    row(
        "PATCH, room's first",
        "the room loads its task and log from D1",
        first_patch,
    );
    wait_for(&mut board, "\"first\"").await?;
    // One field at a time on a task with two tags, each waited for on the board so the
    // board's log lines stay in order.
    for case in PATCH_CASES {
        let (_, cost) = client.call(Method::PATCH, &path, Some(case.body())).await?;
        row(case.operation, case.note, cost);
        wait_for(&mut board, case.marker).await?;
    }

    let (mut socket, connect) = client.connect(&format!("/ws/tasks/{id}")).await?;
    row("connect", "upgrade into a warm task room", connect);
    let _ = socket.close(None).await;

    // the board's own cost of the last in-order change
    let deadline = Instant::now() + Duration::from_secs(10);
    let board_event = loop {
        let notices = board_notices(system, &workspace);
        if notices.len() >= 2 + PATCH_CASES.len() {
            break *notices.last().unwrap_or(&Cost::default());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the board logged {} notices, not {}",
                notices.len(),
                2 + PATCH_CASES.len()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    row(
        "board event",
        "a change in order: log, counts, analytics",
        board_event,
    );

    let (_, delete) = client.call(Method::DELETE, &path, None).await?;
    row("DELETE", "Worker -> room -> D1 batch", delete);
    let _ = board
        .send(tokio_tungstenite::tungstenite::Message::Close(None))
        .await;
    Ok(rows)
}

/// The counted targets: a PATCH is at most two calls deep, and an in-order change
/// costs the board no D1 query.
pub fn goals(rows: &[OperationCost]) -> Vec<crate::score::Goal> {
    let find = |name: &str| rows.iter().find(|row| row.operation == name);
    let mut goals = Vec::new();
    for case in &PATCH_CASES {
        if let Some(patch) = find(case.operation) {
            goals.push(crate::score::Goal {
                what: format!(
                    "hero: {} on a task with two tags writes ≤ {} rows and reads ≤ {}",
                    case.operation, case.max_rows_written, case.max_rows_read
                ),
                met: patch.cost.rows_written <= case.max_rows_written
                    && patch.cost.rows_read <= case.max_rows_read,
                detail: format!(
                    "{} written, {} read",
                    patch.cost.rows_written, patch.cost.rows_read
                ),
            });
        }
    }
    if let Some(patch) = find("PATCH status only") {
        goals.push(crate::score::Goal {
            what: "hero: a PATCH's critical path is at most 2 sequential remote calls".into(),
            met: patch.cost.sequential_calls <= 2,
            detail: format!(
                "{} (Worker -> room: {}, D1 calls: {})",
                patch.cost.sequential_calls, patch.cost.room_calls, patch.cost.d1_calls
            ),
        });
    }
    if let Some(board) = find("board event") {
        goals.push(crate::score::Goal {
            what: "hero: the board does 0 D1 queries per in-order change".into(),
            met: board.cost.d1_queries == 0,
            detail: format!(
                "{} queries, {} rows read",
                board.cost.d1_queries, board.cost.rows_read
            ),
        });
    }
    goals
}

/// The cost table as a Markdown section (nothing when it was not run).
pub fn markdown(rows: &[OperationCost]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut md = String::from(
        "\n## Cost per operation (counted)\n\nHero on workerd, one warm workspace, each operation once, on a task with two tags (`alpha`, `beta`; the tag case adds a third). From the `X-Hero-Cost` header of each response (and the board's log line for a board event): sequential remote calls on the critical path, D1 round trips and statements, rows read and written as D1's result meta reports them, Durable Object requests.\n\n| operation | sequential calls | D1 calls | D1 queries | rows read | rows written | DO requests | what |\n|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for row in rows {
        let c = row.cost;
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            row.operation,
            c.sequential_calls,
            c.d1_calls,
            c.d1_queries,
            c.rows_read,
            c.rows_written,
            c.room_calls,
            row.note
        ));
    }
    md
}
