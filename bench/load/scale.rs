//! The scale phase: does a huge workspace feel like a small one?
//!
//! One workspace of 100,000 tasks (quick: 5,000) and one of 100 share a local D1, seeded
//! straight into SQLite (a recursive-CTE `INSERT … SELECT` per table through `wrangler d1
//! execute`; migration 0004's triggers fill `task_tags` and the search index as the API's
//! writes would), with the same distributions in both. Hero then serves that state on
//! workerd, and one client, one request at a time, asks both workspaces the same things:
//! each kind of list query, the analytics report, and a PATCH until the workspace board
//! delivers it. The ratio large ÷ small is the point: ≤ 1.5× at p50 for reads, ≤ 1.2× for
//! PATCH → board. Beside each time is what the request read from D1 (`X-Hero-Cost`), which
//! does not drift between runs: rows read that grow with the workspace mean a scan, however
//! the times came out on this machine.
//!
//! Last, a thousand sockets (quick: 200), each a different user, join one task room: how
//! long until the last is welcomed, and how many frames the join's presence traffic costs
//! them all. And the size of the seeded database on disk.
//!
//! A missed target is reported, never asserted; the phase fails only when something is
//! broken (the seed is not what was asked for, a request errors, a board never delivers, a
//! socket cannot join).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hero_core::auth::Role;
use hero_core::cost::{Cost, COST_HEADER};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, histogram};
use crate::scenarios::Latency;
use crate::score::Goal;
use crate::spawn::blocking;
use crate::systems::{project_root, token, System};
use crate::{Plan, Progress};

/// The two workspaces, side by side in one D1.
const LARGE: &str = "ws-scale-large";
const SMALL: &str = "ws-scale-small";
/// A title word in one task of five, and one in exactly [`RARE_TASKS`] of any workspace.
const COMMON_WORD: &str = "review";
const RARE_WORD: &str = "zeppelin";
const RARE_TASKS: usize = 10;
/// Tasks are assigned to (and created by) `user-0` … `user-19`; this one is asked for.
const USERS: usize = 20;
const SEEDED_ASSIGNEE: &str = "user-7";
/// The tag on about one task in five.
const COMMON_TAG: &str = "backend";

/// The targets of the issue: a read in the large workspace within 1.5× of the small one's
/// at p50, a PATCH's way to the board within 1.2×, a full room joined within 3 s and with
/// at most 20 frames per socket of presence traffic.
const READ_TARGET: f64 = 1.5;
const PATCH_TO_BOARD_TARGET: f64 = 1.2;
const JOIN_TARGET_SECONDS: f64 = 3.0;
const JOIN_TARGET_FRAMES_PER_SOCKET: u64 = 20;

/// How long a delivery may take before it counts as never arriving.
const DELIVERY_LIMIT: Duration = Duration::from_secs(10);
/// Sockets opened at once while the room fills (as `Audience::connect` does).
const JOIN_PARALLEL: usize = 50;
/// After the last welcome, how long the join's presence traffic is still counted.
const JOIN_TAIL: Duration = Duration::from_secs(1);

/// Everything the phase found.
#[derive(Debug, Clone, Serialize)]
pub struct Scale {
    pub large_tasks: usize,
    pub small_tasks: usize,
    /// Timed requests per workspace and measurement, after `warmup` untimed ones.
    pub samples: usize,
    pub warmup: usize,
    pub seed: Option<Seed>,
    pub database: Option<DatabaseSize>,
    /// The list queries, analytics and PATCH → board, large against small.
    pub comparisons: Vec<Comparison>,
    /// The first `GET /api/analytics` of each workspace, which counts it (not a target).
    pub analytics_first_call: Vec<FirstCall>,
    pub join: Option<Join>,
    /// What broke, if anything did (a missed target is not an error).
    pub error: Option<String>,
}

/// How the seed went, and what the database holds after it, per workspace.
#[derive(Debug, Clone, Serialize)]
pub struct Seed {
    /// The seeding SQL file, run through `wrangler d1 execute` (migrations not included).
    pub seconds: f64,
    pub workspaces: Vec<SeededWorkspace>,
    /// Migrations wrangler recorded in `d1_migrations` (Miniflare skips those names).
    pub migrations_recorded: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeededWorkspace {
    pub workspace: &'static str,
    pub tasks: u64,
    pub changes: u64,
    pub last_ws_seq: u64,
    pub tag_rows: u64,
    pub tagged_common_tag: u64,
    pub titles_with_common_word: u64,
    pub titles_with_rare_word: u64,
}

/// The D1 SQLite file after seeding (Miniflare's own `metadata.sqlite` not included).
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseSize {
    pub database_bytes: u64,
    pub wal_bytes: u64,
    pub shm_bytes: u64,
    pub total_bytes: u64,
    pub tasks: usize,
    pub database_bytes_per_task: u64,
    pub total_bytes_per_task: u64,
}

/// One measurement in both workspaces.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub what: String,
    pub large: Latency,
    pub small: Latency,
    /// large ÷ small.
    pub ratio_p50: f64,
    pub ratio_p99: f64,
    /// The most `ratio_p50` may be.
    pub target_p50_ratio: f64,
    pub met: bool,
    /// What the first timed request cost (for PATCH → board, the PATCH's answer).
    pub large_cost: Option<Cost>,
    pub small_cost: Option<Cost>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FirstCall {
    pub workspace: &'static str,
    pub tasks: usize,
    pub ms: f64,
    pub cost: Option<Cost>,
}

/// Sockets joining one room of the small workspace.
#[derive(Debug, Clone, Serialize)]
pub struct Join {
    pub sockets: usize,
    pub parallel: usize,
    /// From the first connect to the last `welcome`.
    pub seconds_to_last_welcome: f64,
    /// Every frame all sockets received from the first connect until `tail_seconds` after
    /// the last welcome (the welcomes included), and by type.
    pub frames: u64,
    pub frames_by_type: Vec<(String, u64)>,
    /// The text of those frames, and the largest welcome (it lists everyone present).
    pub bytes: u64,
    pub largest_welcome_bytes: u64,
    /// How long each group of `parallel` sockets took to be welcomed, in order: whether a
    /// join costs more as the room fills.
    pub group_ms: Vec<u64>,
    pub tail_seconds: f64,
    pub target_seconds: f64,
    pub target_frames: u64,
    pub met_seconds: bool,
    pub met_frames: bool,
}

impl Scale {
    fn new(plan: &Plan) -> Scale {
        Scale {
            large_tasks: plan.scale_large_tasks,
            small_tasks: plan.scale_small_tasks,
            samples: plan.scale_samples,
            warmup: plan.scale_warmup,
            seed: None,
            database: None,
            comparisons: Vec::new(),
            analytics_first_call: Vec::new(),
            join: None,
            error: None,
        }
    }
}

/// Seeds, serves and measures; whatever was measured before a failure is kept.
pub async fn run(plan: &Plan, progress: &Progress) -> Scale {
    let mut scale = Scale::new(plan);
    if let Err(error) = seed_serve_and_measure(plan, progress, &mut scale).await {
        progress.say(&format!("scale: FAILED: {error}"));
        scale.error = Some(error);
    }
    scale
}

async fn seed_serve_and_measure(
    plan: &Plan,
    progress: &Progress,
    scale: &mut Scale,
) -> Result<(), String> {
    let state_dir = hero_testkit::wrangler::scratch_dir("hero-bench-scale");
    progress.say(&format!(
        "scale: seeding {} + {} tasks into a local D1",
        plan.scale_large_tasks, plan.scale_small_tasks
    ));
    let seeded = seed(&state_dir, plan.scale_large_tasks, plan.scale_small_tasks).await;
    let seed = match seeded {
        Ok(seed) => seed,
        Err(error) => {
            let _ = std::fs::remove_dir_all(&state_dir);
            return Err(error);
        }
    };
    progress.say(&format!("scale: seeded in {:.1} s", seed.seconds));
    scale.seed = Some(seed);
    let database = database_size(&state_dir, plan.scale_large_tasks + plan.scale_small_tasks);
    progress.say(&format!(
        "scale: D1 file {:.1} MiB (with WAL and SHM {:.1} MiB), {} bytes per task",
        database.database_bytes as f64 / 1048576.0,
        database.total_bytes as f64 / 1048576.0,
        database.database_bytes_per_task
    ));
    scale.database = Some(database);

    let dir = state_dir.clone();
    let system = match blocking("start hero on the seeded state", move || {
        System::hero_workerd_seeded(dir)
    })
    .await
    {
        Ok(system) => system,
        Err(error) => {
            let _ = std::fs::remove_dir_all(&state_dir);
            return Err(error);
        }
    };
    progress.say(&format!(
        "{}: up in {:.0} ms",
        system.name, system.startup_ms
    ));
    let measured = measure(plan, progress, &system, scale).await;
    blocking("stop the seeded system", move || system.stop()).await?;
    measured
}

// ---------------------------------------------------------------------------------------
// Seeding

/// The SQL that seeds one workspace: `tasks` rows `1..=tasks`, then a `created` change
/// record for each, numbered 1… in creation order as the API's writes would be.
///
/// Every value is a function of the row number `i`, through `h`, a multiplicative hash of
/// it (Knuth's 2654435761), so the mix of statuses, priorities, assignees and tags is the
/// same in a workspace of any size while no two of them line up. Ids are UUID-shaped (the
/// API parses them) and lead with `h`, so the two workspaces' ids interleave in the primary
/// key as random UUIDs would. The title's first word cycles through five, one of them
/// [`COMMON_WORD`]; [`RARE_WORD`] ends exactly [`RARE_TASKS`] titles.
///
/// `iif` rather than `CASE … END`: wrangler's statement splitter takes a `CASE` for the start
/// of a compound statement and only sees its end in `END` followed by a space or `;`, so a
/// `CASE … END,` would swallow every statement after it into one.
fn seed_sql(workspace: &str, workspace_number: u32, tasks: usize) -> String {
    let rare_every = (tasks / RARE_TASKS).max(1);
    format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {tasks}),
seeded AS (
  SELECT i, (i * 2654435761) % 4294967296 AS h,
    strftime('%Y-%m-%dT%H:%M:%fZ', '2025-01-01', '+' || i || ' minutes') AS at
  FROM n
)
INSERT INTO tasks (id, workspace_id, title, description, status, priority, assignee_id,
  due_date, tags, created_by, created_at, updated_at, completed_at, version)
SELECT
  printf('%08x-%04x-4000-8000-%012x', h, {workspace_number}, i),
  '{workspace}',
  json_extract('[\"Fix\",\"Update\",\"Review\",\"Write\",\"Plan\"]', '$[' || (i % 5) || ']')
    || ' ' || json_extract('[\"login page\",\"billing export\",\"search index\",\"onboarding flow\",\"release notes\",\"api docs\",\"mobile layout\",\"audit log\"]', '$[' || ((i / 5) % 8) || ']')
    || ' ' || i || iif(i % {rare_every} = 0, ' {RARE_WORD}', ''),
  'Seeded for the scale benchmark.',
  json_extract('[\"todo\",\"in_progress\",\"blocked\",\"in_review\",\"done\"]', '$[' || ((h / 7) % 5) || ']'),
  json_extract('[\"low\",\"medium\",\"high\",\"critical\"]', '$[' || ((h / 61) % 4) || ']'),
  'user-' || ((h / 3) % {USERS}),
  iif(i % 3 = 0, date('2025-06-01', '+' || (i % 900) || ' days'), NULL),
  json_extract('[[\"{COMMON_TAG}\"],[\"frontend\"],[\"frontend\",\"infra\"],[\"design\"],[]]', '$[' || ((h / 1031) % 5) || ']'),
  'user-' || ((h / 97) % {USERS}),
  at, at,
  iif((h / 7) % 5 = 4, at, NULL),
  1
FROM seeded;
INSERT INTO task_changes (workspace_id, task_id, version, kind, changed, actor_id,
  actor_name, at, task, previous_status, ws_seq)
SELECT workspace_id, id, version, 'created', '[]', created_by, upper(created_by), created_at,
  json_object('id', id, 'workspace_id', workspace_id, 'title', title,
    'description', description, 'status', status, 'priority', priority,
    'assignee_id', assignee_id, 'due_date', due_date, 'tags', json(tags),
    'created_by', created_by, 'created_at', created_at, 'updated_at', updated_at,
    'completed_at', completed_at, 'version', version),
  NULL,
  ROW_NUMBER() OVER (ORDER BY created_at, id)
FROM tasks WHERE workspace_id = '{workspace}' ORDER BY created_at, id;
"
    )
}

/// One row per workspace with what the seed should have made: rows in each table, the
/// triggers' rows (tags, search index), the words' counts.
fn check_sql(workspace: &str) -> String {
    let scope = hero_core::search::search_scope(workspace);
    format!(
        "SELECT
  (SELECT COUNT(*) FROM tasks WHERE workspace_id = '{workspace}') AS tasks,
  (SELECT COUNT(*) FROM task_changes WHERE workspace_id = '{workspace}') AS changes,
  (SELECT COALESCE(MAX(ws_seq), 0) FROM task_changes WHERE workspace_id = '{workspace}') AS last_ws_seq,
  (SELECT COUNT(*) FROM task_tags WHERE workspace_id = '{workspace}') AS tag_rows,
  (SELECT COALESCE(SUM(json_array_length(tags)), 0) FROM tasks WHERE workspace_id = '{workspace}') AS tags_in_tasks,
  (SELECT COUNT(*) FROM task_tags WHERE workspace_id = '{workspace}' AND tag = '{COMMON_TAG}') AS tagged,
  (SELECT COUNT(*) FROM tasks_fts WHERE tasks_fts MATCH 'search_scope : \"{scope}\" AND {COMMON_WORD}') AS common,
  (SELECT COUNT(*) FROM tasks_fts WHERE tasks_fts MATCH 'search_scope : \"{scope}\" AND {RARE_WORD}') AS rare;
"
    )
}

fn count(row: &Value, column: &str) -> u64 {
    row[column].as_u64().unwrap_or(0)
}

/// Migrates, seeds both workspaces and checks what the seed made; fails on any shortfall.
async fn seed(state_dir: &Path, large_tasks: usize, small_tasks: usize) -> Result<Seed, String> {
    let dir = state_dir.to_owned();
    blocking("apply the migrations", move || {
        hero_testkit::wrangler::apply_migrations(&dir)
    })
    .await?;
    let workspaces = [(LARGE, 1, large_tasks), (SMALL, 2, small_tasks)];
    let seed_file = state_dir.join("seed.sql");
    let check_file = state_dir.join("check.sql");
    let mut seed_text = String::new();
    let mut check_text = String::new();
    for (workspace, number, tasks) in workspaces {
        seed_text += &seed_sql(workspace, number, tasks);
        check_text += &check_sql(workspace);
    }
    check_text += "SELECT COUNT(*) AS recorded FROM d1_migrations;\n";
    std::fs::write(&seed_file, seed_text).map_err(|e| format!("write the seed: {e}"))?;
    std::fs::write(&check_file, check_text).map_err(|e| format!("write the check: {e}"))?;

    let dir = state_dir.to_owned();
    let started = Instant::now();
    blocking("seed the database", move || {
        hero_testkit::wrangler::d1_execute(&dir, &seed_file)
    })
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let dir = state_dir.to_owned();
    let rows = blocking("check the seed", move || {
        hero_testkit::wrangler::d1_execute(&dir, &check_file)
    })
    .await?;
    if rows.len() != workspaces.len() + 1 {
        return Err(format!(
            "the seed check answered {} statements, not {}",
            rows.len(),
            workspaces.len() + 1
        ));
    }

    let mut seeded = Vec::new();
    let mut wrong = Vec::new();
    for ((workspace, _, tasks), rows) in workspaces.iter().zip(&rows) {
        let row = rows.first().cloned().unwrap_or(Value::Null);
        let found = SeededWorkspace {
            workspace,
            tasks: count(&row, "tasks"),
            changes: count(&row, "changes"),
            last_ws_seq: count(&row, "last_ws_seq"),
            tag_rows: count(&row, "tag_rows"),
            tagged_common_tag: count(&row, "tagged"),
            titles_with_common_word: count(&row, "common"),
            titles_with_rare_word: count(&row, "rare"),
        };
        let tasks = *tasks as u64;
        // The first word cycles with i % 5 and COMMON_WORD is its third (i ≡ 2).
        let common = (tasks + 3) / 5;
        let checks = [
            ("tasks", found.tasks, tasks),
            ("change records", found.changes, tasks),
            ("last ws_seq", found.last_ws_seq, tasks),
            (
                "task_tags rows",
                found.tag_rows,
                count(&row, "tags_in_tasks"),
            ),
            (
                "titles with the common word",
                found.titles_with_common_word,
                common,
            ),
            (
                "titles with the rare word",
                found.titles_with_rare_word,
                RARE_TASKS as u64,
            ),
        ];
        for (what, got, want) in checks {
            if got != want {
                wrong.push(format!("{workspace}: {got} {what}, not {want}"));
            }
        }
        if found.tagged_common_tag == 0 {
            wrong.push(format!("{workspace}: no task tagged {COMMON_TAG}"));
        }
        seeded.push(found);
    }
    let migrations_recorded = count(
        rows.last().and_then(|r| r.first()).unwrap_or(&Value::Null),
        "recorded",
    ) as usize;
    let migration_files = std::fs::read_dir(project_root().join("migrations"))
        .map_err(|e| format!("read migrations/: {e}"))?
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|x| x == "sql"))
        .count();
    if migrations_recorded != migration_files {
        wrong.push(format!(
            "d1_migrations records {migrations_recorded} migrations, not {migration_files}"
        ));
    }
    if !wrong.is_empty() {
        return Err(format!("the seed is wrong: {}", wrong.join("; ")));
    }
    Ok(Seed {
        seconds: (seconds * 10.0).round() / 10.0,
        workspaces: seeded,
        migrations_recorded,
    })
}

/// The D1 database's SQLite file and its `-wal` / `-shm` beside it, as wrangler left them.
fn database_size(state_dir: &Path, tasks: usize) -> DatabaseSize {
    let dir: PathBuf = state_dir.join("v3/d1/miniflare-D1DatabaseObject");
    let (mut database_bytes, mut wal_bytes, mut shm_bytes) = (0, 0, 0);
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Miniflare's bookkeeping of its objects, not the database.
        if name.starts_with("metadata.") {
            continue;
        }
        let bytes = entry.metadata().map_or(0, |m| m.len());
        if name.ends_with(".sqlite") {
            database_bytes += bytes;
        } else if name.ends_with(".sqlite-wal") {
            wal_bytes += bytes;
        } else if name.ends_with(".sqlite-shm") {
            shm_bytes += bytes;
        }
    }
    let total_bytes = database_bytes + wal_bytes + shm_bytes;
    let per_task = |bytes: u64| bytes / tasks.max(1) as u64;
    DatabaseSize {
        database_bytes,
        wal_bytes,
        shm_bytes,
        total_bytes,
        tasks,
        database_bytes_per_task: per_task(database_bytes),
        total_bytes_per_task: per_task(total_bytes),
    }
}

// ---------------------------------------------------------------------------------------
// Measuring

/// One workspace as the client sees it.
struct Side {
    workspace: &'static str,
    tasks: usize,
    /// A member: reads everything and may PATCH any task.
    token: String,
    /// A seeded task (the newest), PATCHed for the board measurement.
    probe_task: String,
    /// `task_updated` events of `probe_task` the board socket received: title, when.
    board: Option<mpsc::UnboundedReceiver<(String, Instant)>>,
}

/// What one timed request or delivery came to.
struct Sample {
    elapsed: Duration,
    cost: Option<Cost>,
}

/// What the client measures with.
struct Measurer<'a> {
    system: &'a System,
    http: reqwest::Client,
    /// Numbers each PATCH, so every title is new.
    patches: usize,
}

/// What is timed in both workspaces.
enum Probe {
    Get(String),
    PatchToBoard,
}

impl Measurer<'_> {
    /// A request with `side`'s token; its time to the last byte, its cost and its body.
    async fn call(
        &self,
        side: &Side,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(Sample, Value), String> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.system.http))
            .bearer_auth(&side.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let begun = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| format!("{}: {method} {path}: {e}", side.workspace))?;
        let status = response.status();
        let cost = response
            .headers()
            .get(COST_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(Cost::parse_header);
        let text = response
            .text()
            .await
            .map_err(|e| format!("{}: {method} {path}: {e}", side.workspace))?;
        let elapsed = begun.elapsed();
        if !status.is_success() {
            return Err(format!(
                "{}: {method} {path}: HTTP {status}: {text:.300}",
                side.workspace
            ));
        }
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok((Sample { elapsed, cost }, body))
    }

    async fn probe(&mut self, probe: &Probe, side: &mut Side) -> Result<Sample, String> {
        match probe {
            Probe::Get(path) => Ok(self.call(side, reqwest::Method::GET, path, None).await?.0),
            Probe::PatchToBoard => {
                self.patches += 1;
                let title = format!("Scale probe {}", self.patches);
                let path = format!("/api/tasks/{}", side.probe_task);
                let begun = Instant::now();
                let (answer, _) = self
                    .call(
                        side,
                        reqwest::Method::PATCH,
                        &path,
                        Some(json!({ "title": title })),
                    )
                    .await?;
                let workspace = side.workspace;
                let Some(board) = side.board.as_mut() else {
                    return Err(format!("{workspace}: no board socket"));
                };
                let deadline = tokio::time::Instant::from_std(begun + DELIVERY_LIMIT);
                loop {
                    match tokio::time::timeout_at(deadline, board.recv()).await {
                        Ok(Some((delivered, at))) if delivered == title => {
                            return Ok(Sample {
                                elapsed: at.saturating_duration_since(begun),
                                cost: answer.cost,
                            })
                        }
                        // an earlier PATCH's event, or one that arrived twice
                        Ok(Some(_)) => {}
                        Ok(None) => {
                            return Err(format!("{workspace}: the board socket closed"))
                        }
                        Err(_) => {
                            return Err(format!(
                                "{workspace}: the board did not deliver PATCH {:?} within {DELIVERY_LIMIT:?}",
                                title
                            ))
                        }
                    }
                }
            }
        }
    }

    /// Times `probe` in both workspaces, alternating large and small request by request,
    /// so whatever else the machine does falls on both alike.
    async fn compare(
        &mut self,
        what: &str,
        probe: Probe,
        target_p50_ratio: f64,
        plan: &Plan,
        sides: &mut [Side; 2],
    ) -> Result<Comparison, String> {
        for _ in 0..plan.scale_warmup {
            for side in sides.iter_mut() {
                self.probe(&probe, side).await?;
            }
        }
        let mut times = [histogram(), histogram()];
        let mut costs = [None, None];
        for _ in 0..plan.scale_samples {
            for (index, side) in sides.iter_mut().enumerate() {
                let sample = self.probe(&probe, side).await?;
                let _ = times[index].record(sample.elapsed.as_micros().max(1) as u64);
                costs[index] = costs[index].or(sample.cost);
            }
        }
        let [large, small] = times.map(|t| Latency::of(&t));
        let ratio = |l: f64, s: f64| ((l / s.max(0.1)) * 100.0).round() / 100.0;
        let ratio_p50 = ratio(large.p50_ms, small.p50_ms);
        Ok(Comparison {
            what: what.to_owned(),
            ratio_p99: ratio(large.p99_ms, small.p99_ms),
            ratio_p50,
            target_p50_ratio,
            met: ratio_p50 <= target_p50_ratio,
            large,
            small,
            large_cost: costs[0],
            small_cost: costs[1],
        })
    }
}

/// Reads a board socket, passing on the title of each `task_updated` of `task_id` (alone or
/// in a `batch`) with the moment its frame arrived.
async fn read_board(
    mut ws: client::Ws,
    task_id: String,
    arrivals: mpsc::UnboundedSender<(String, Instant)>,
) {
    while let Some(Ok(message)) = ws.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let at = Instant::now();
        // the analytics that follow each change are not parsed
        if !text.as_str().contains("task_updated") {
            continue;
        }
        let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        let events = match frame["type"].as_str() {
            Some("batch") => frame["events"].as_array().cloned().unwrap_or_default(),
            _ => vec![frame],
        };
        for event in events {
            if event["type"] == "task_updated" && event["task"]["id"] == task_id.as_str() {
                if let Some(title) = event["task"]["title"].as_str() {
                    let _ = arrivals.send((title.to_owned(), at));
                }
            }
        }
    }
}

fn say_comparison(progress: &Progress, c: &Comparison) {
    progress.say(&format!(
        "  {:<34} p50 {:>7.1} vs {:>7.1} ms ({:.2}×), p99 {:>7.1} vs {:>7.1} ms; rows read {} vs {}",
        c.what,
        c.large.p50_ms,
        c.small.p50_ms,
        c.ratio_p50,
        c.large.p99_ms,
        c.small.p99_ms,
        c.large_cost.map_or("?".into(), |c| c.rows_read.to_string()),
        c.small_cost.map_or("?".into(), |c| c.rows_read.to_string()),
    ));
}

async fn measure(
    plan: &Plan,
    progress: &Progress,
    system: &System,
    scale: &mut Scale,
) -> Result<(), String> {
    let mut measurer = Measurer {
        system,
        http: reqwest::Client::builder()
            // the first analytics of the large workspace counts every task
            .timeout(Duration::from_secs(120))
            .build()
            .expect("http client"),
        patches: 0,
    };
    let side = |workspace: &'static str, tasks: usize| Side {
        workspace,
        tasks,
        token: token("scale-member", Role::Member, workspace),
        probe_task: String::new(),
        board: None,
    };
    let mut sides = [
        side(LARGE, plan.scale_large_tasks),
        side(SMALL, plan.scale_small_tasks),
    ];
    for side in sides.iter_mut() {
        let (_, page) = measurer
            .call(side, reqwest::Method::GET, "/api/tasks?limit=2", None)
            .await?;
        side.probe_task = page["tasks"][0]["id"]
            .as_str()
            .ok_or_else(|| format!("{}: the list has no task", side.workspace))?
            .to_owned();
    }

    progress.say(&format!(
        "scale: list queries, {} then {} samples per workspace, one request at a time",
        plan.scale_warmup, plan.scale_samples
    ));
    let filters = [
        String::new(),
        "?status=in_progress".to_owned(),
        format!("?assignee={SEEDED_ASSIGNEE}"),
        format!("?tag={COMMON_TAG}"),
        format!("?q={COMMON_WORD}"),
        format!("?q={RARE_WORD}"),
    ];
    for filter in filters {
        let path = format!("/api/tasks{filter}");
        let comparison = measurer
            .compare(
                &format!("GET {path}"),
                Probe::Get(path),
                READ_TARGET,
                plan,
                &mut sides,
            )
            .await?;
        say_comparison(progress, &comparison);
        scale.comparisons.push(comparison);
    }

    progress.say("scale: analytics (the first call counts the workspace)");
    for side in &sides {
        let (first, _) = measurer
            .call(side, reqwest::Method::GET, "/api/analytics", None)
            .await?;
        let call = FirstCall {
            workspace: side.workspace,
            tasks: side.tasks,
            ms: (first.elapsed.as_secs_f64() * 1e4).round() / 10.0,
            cost: first.cost,
        };
        progress.say(&format!(
            "  first call, {}: {:.1} ms, {} D1 calls, {} rows read",
            side.workspace,
            call.ms,
            call.cost.map_or(0, |c| c.d1_calls),
            call.cost.map_or(0, |c| c.rows_read)
        ));
        scale.analytics_first_call.push(call);
    }
    let analytics = measurer
        .compare(
            "GET /api/analytics",
            Probe::Get("/api/analytics".into()),
            READ_TARGET,
            plan,
            &mut sides,
        )
        .await?;
    say_comparison(progress, &analytics);
    scale.comparisons.push(analytics);

    progress.say("scale: PATCH → the board's task_updated");
    let mut readers = Vec::new();
    for side in sides.iter_mut() {
        let url = format!("{}/ws/board?token={}", system.ws[0], side.token);
        let ws = client::connect(&url)
            .await
            .map_err(|e| format!("{}: board socket: {e}", side.workspace))?;
        let (arrivals, received) = mpsc::unbounded_channel();
        readers.push(tokio::spawn(read_board(
            ws,
            side.probe_task.clone(),
            arrivals,
        )));
        side.board = Some(received);
    }
    let delivered = measurer
        .compare(
            "PATCH → board task_updated",
            Probe::PatchToBoard,
            PATCH_TO_BOARD_TARGET,
            plan,
            &mut sides,
        )
        .await;
    for reader in readers {
        reader.abort();
    }
    let delivered = delivered?;
    say_comparison(progress, &delivered);
    scale.comparisons.push(delivered);

    progress.say(&format!(
        "scale: {} sockets join one task room of {SMALL}",
        plan.scale_join_sockets
    ));
    let room = sides[1].probe_task.clone();
    let join = join_one_room(system, &room, plan.scale_join_sockets).await?;
    progress.say(&format!(
        "  last welcome {:.2} s after the first connect (first {} in {} ms, last {} in {} ms); {} frames ({:.1} per socket, {:.1} MiB) until {:.0} s later: {}",
        join.seconds_to_last_welcome,
        join.parallel,
        join.group_ms.first().copied().unwrap_or(0),
        join.parallel,
        join.group_ms.last().copied().unwrap_or(0),
        join.frames,
        join.frames as f64 / join.sockets.max(1) as f64,
        join.bytes as f64 / 1048576.0,
        join.tail_seconds,
        join.frames_by_type
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    scale.join = Some(join);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Joining a full room

/// Frames the joining sockets received while the join is being counted.
#[derive(Default)]
struct JoinCounts {
    counting: AtomicBool,
    frames: AtomicU64,
    bytes: AtomicU64,
    largest_welcome: AtomicU64,
    by_type: Mutex<Vec<(String, u64)>>,
    /// Sockets the server closed (or that broke) while counting.
    lost: AtomicU64,
}

impl JoinCounts {
    fn record(&self, frame: &str) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(frame.len() as u64, Ordering::Relaxed);
        // The type without parsing the frame: a presence frame for a big room is long, and
        // the client shares the machine's two cores with the server it measures.
        let kind = frame
            .split_once("\"type\":\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map_or("?", |(kind, _)| kind);
        let mut by_type = self.by_type.lock().unwrap();
        match by_type.iter_mut().find(|(k, _)| k == kind) {
            Some((_, n)) => *n += 1,
            None => by_type.push((kind.to_owned(), 1)),
        }
    }
}

async fn count_frames(mut ws: client::Ws, counts: Arc<JoinCounts>) {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                if counts.counting.load(Ordering::Relaxed) {
                    counts.record(text.as_str());
                }
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break,
        }
    }
    if counts.counting.load(Ordering::Relaxed) {
        counts.lost.fetch_add(1, Ordering::Relaxed);
    }
}

/// Opens a room socket and reads its first frame, the welcome, which it returns too (unlike
/// `client::connect`): its size grows with the room.
async fn connect_and_welcome(url: &str) -> Result<(client::Ws, String), String> {
    let limit = Duration::from_secs(30);
    let (mut ws, _) = tokio::time::timeout(limit, tokio_tungstenite::connect_async(url))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| format!("connect: {e}"))?;
    match tokio::time::timeout(limit, ws.next()).await {
        Ok(Some(Ok(Message::Text(welcome)))) => Ok((ws, welcome.as_str().to_owned())),
        other => Err(format!("no welcome: {other:?}")),
    }
}

/// `sockets` viewers, each a different user, join one task room, `JOIN_PARALLEL` at a time.
async fn join_one_room(system: &System, task_id: &str, sockets: usize) -> Result<Join, String> {
    let urls: Vec<String> = (0..sockets)
        .map(|i| {
            let viewer = token(&format!("joiner-{i}"), Role::Viewer, SMALL);
            system.room_url(i, task_id, &viewer)
        })
        .collect();
    let counts = Arc::new(JoinCounts::default());
    counts.counting.store(true, Ordering::Relaxed);
    let mut readers = Vec::with_capacity(sockets);
    let started = Instant::now();
    let mut joined = Ok(());
    let mut group_ms = Vec::new();
    for (chunk_index, chunk) in urls.chunks(JOIN_PARALLEL).enumerate() {
        let group_started = Instant::now();
        let opened =
            futures::future::join_all(chunk.iter().map(|url| connect_and_welcome(url))).await;
        group_ms.push(group_started.elapsed().as_millis() as u64);
        for (offset, ws) in opened.into_iter().enumerate() {
            match ws {
                Ok((ws, welcome)) => {
                    counts.record(&welcome);
                    counts
                        .largest_welcome
                        .fetch_max(welcome.len() as u64, Ordering::Relaxed);
                    readers.push(tokio::spawn(count_frames(ws, counts.clone())));
                }
                Err(error) if joined.is_ok() => {
                    joined = Err(format!(
                        "socket {} of {sockets} did not join: {error:.300}",
                        chunk_index * JOIN_PARALLEL + offset + 1
                    ))
                }
                Err(_) => {}
            }
        }
        if joined.is_err() {
            break;
        }
    }
    let last_welcome = started.elapsed();
    if joined.is_ok() {
        tokio::time::sleep(JOIN_TAIL).await;
    }
    counts.counting.store(false, Ordering::Relaxed);
    for reader in readers {
        reader.abort();
    }
    joined?;
    let lost = counts.lost.load(Ordering::Relaxed);
    if lost > 0 {
        return Err(format!(
            "{lost} of {sockets} sockets were closed while the room filled"
        ));
    }
    let frames = counts.frames.load(Ordering::Relaxed);
    let mut frames_by_type = std::mem::take(&mut *counts.by_type.lock().unwrap());
    frames_by_type.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let seconds_to_last_welcome = (last_welcome.as_secs_f64() * 100.0).round() / 100.0;
    let target_frames = JOIN_TARGET_FRAMES_PER_SOCKET * sockets as u64;
    Ok(Join {
        sockets,
        parallel: JOIN_PARALLEL,
        seconds_to_last_welcome,
        frames,
        frames_by_type,
        bytes: counts.bytes.load(Ordering::Relaxed),
        largest_welcome_bytes: counts.largest_welcome.load(Ordering::Relaxed),
        group_ms,
        tail_seconds: JOIN_TAIL.as_secs_f64(),
        target_seconds: JOIN_TARGET_SECONDS,
        target_frames,
        met_seconds: seconds_to_last_welcome <= JOIN_TARGET_SECONDS,
        met_frames: frames <= target_frames,
    })
}

// ---------------------------------------------------------------------------------------
// Reporting

/// The targets, for the report's goals table.
pub fn goals(scale: &Scale) -> Vec<Goal> {
    let mut goals = Vec::new();
    let sizes = format!("{} vs {} tasks", scale.large_tasks, scale.small_tasks);
    let (patch, reads): (Vec<&Comparison>, Vec<&Comparison>) = scale
        .comparisons
        .iter()
        .partition(|c| c.target_p50_ratio == PATCH_TO_BOARD_TARGET);
    let summary = |rows: &[&Comparison]| {
        let missed: Vec<String> = rows
            .iter()
            .filter(|c| !c.met)
            .map(|c| format!("{} {:.2}×", c.what, c.ratio_p50))
            .collect();
        match rows.iter().map(|c| c.ratio_p50).reduce(f64::max) {
            Some(worst) if missed.is_empty() => format!("worst {worst:.2}×"),
            Some(_) => format!("missed: {}", missed.join(", ")),
            None => String::new(),
        }
    };
    if !reads.is_empty() {
        goals.push(Goal {
            what: format!(
                "hero: scale, every list query and analytics ≤ {READ_TARGET}× at p50 ({sizes})"
            ),
            met: reads.iter().all(|c| c.met),
            detail: summary(&reads),
        });
    }
    if !patch.is_empty() {
        goals.push(Goal {
            what: format!("hero: scale, PATCH → board ≤ {PATCH_TO_BOARD_TARGET}× at p50 ({sizes})"),
            met: patch.iter().all(|c| c.met),
            detail: summary(&patch),
        });
    }
    if let Some(join) = &scale.join {
        goals.push(Goal {
            what: format!(
                "hero: {} sockets join one room in ≤ {} s",
                join.sockets, join.target_seconds
            ),
            met: join.met_seconds,
            detail: format!("{:.2} s to the last welcome", join.seconds_to_last_welcome),
        });
        goals.push(Goal {
            what: format!(
                "hero: the join of {} sockets costs ≤ {} frames",
                join.sockets, join.target_frames
            ),
            met: join.met_frames,
            detail: format!("{} frames", join.frames),
        });
    }
    goals
}

fn rows_read(cost: Option<Cost>) -> String {
    cost.map_or("?".into(), |c| c.rows_read.to_string())
}

fn yes_no(met: bool) -> &'static str {
    if met {
        "yes"
    } else {
        "**no**"
    }
}

/// The scale section of the Markdown report (nothing when the phase did not run).
pub fn markdown(scale: Option<&Scale>) -> String {
    use std::fmt::Write as _;
    let Some(scale) = scale else {
        return String::new();
    };
    let mut md = format!(
        "\n## Scale: {} tasks against {}\n\nOne workspace of {} tasks and one of {} in the same local D1, seeded straight into SQLite (a recursive-CTE `INSERT … SELECT` per table through `wrangler d1 execute`; the triggers fill `task_tags` and the search index), with the same mix in both: five statuses, four priorities, {USERS} assignees, `{COMMON_TAG}` on about one task in five, `{COMMON_WORD}` in one title in five, `{RARE_WORD}` in exactly {RARE_TASKS}. Hero on workerd (Miniflare) over that state. One client, one request at a time, large and small alternating: {} warm-up requests, then {} timed per workspace. Rows read are D1's own count for one request of each kind (`X-Hero-Cost`), the drift-free sign of a scan. A missed target is reported, not failed.\n",
        scale.large_tasks,
        scale.small_tasks,
        scale.large_tasks,
        scale.small_tasks,
        scale.warmup,
        scale.samples,
    );
    if let Some(seed) = &scale.seed {
        let _ = writeln!(
            md,
            "\nSeeding took {:.1} s (not a target; migrations not included).",
            seed.seconds
        );
        let _ = writeln!(
            md,
            "\n| workspace | tasks | change records | last ws_seq | task_tags rows | tagged `{COMMON_TAG}` | titles with `{COMMON_WORD}` | titles with `{RARE_WORD}` |\n|---|---:|---:|---:|---:|---:|---:|---:|"
        );
        for w in &seed.workspaces {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                w.workspace,
                w.tasks,
                w.changes,
                w.last_ws_seq,
                w.tag_rows,
                w.tagged_common_tag,
                w.titles_with_common_word,
                w.titles_with_rare_word
            );
        }
    }

    let table_head = "| measurement | large p50 ms | small p50 ms | ratio p50 | large p99 ms | small p99 ms | ratio p99 | target (p50) | met | rows read, large / small |\n|---|---:|---:|---:|---:|---:|---:|---:|---|---:|";
    let table_row = |md: &mut String, c: &Comparison| {
        let _ = writeln!(
            md,
            "| {} | {:.1} | {:.1} | {:.2}× | {:.1} | {:.1} | {:.2}× | ≤ {}× | {} | {} / {} |",
            c.what,
            c.large.p50_ms,
            c.small.p50_ms,
            c.ratio_p50,
            c.large.p99_ms,
            c.small.p99_ms,
            c.ratio_p99,
            c.target_p50_ratio,
            yes_no(c.met),
            rows_read(c.large_cost),
            rows_read(c.small_cost),
        );
    };
    let lists: Vec<&Comparison> = scale
        .comparisons
        .iter()
        .filter(|c| c.what.starts_with("GET /api/tasks"))
        .collect();
    if !lists.is_empty() {
        let _ = writeln!(
            md,
            "\n### List queries (`GET /api/tasks`, a page of 50)\n\n{table_head}"
        );
        for c in lists {
            table_row(&mut md, c);
        }
    }
    if let Some(c) = scale
        .comparisons
        .iter()
        .find(|c| c.what == "GET /api/analytics")
    {
        let _ = writeln!(
            md,
            "\n### Analytics (`GET /api/analytics`, from the workspace board)\n\n{table_head}"
        );
        table_row(&mut md, c);
    }
    if !scale.analytics_first_call.is_empty() {
        let _ = writeln!(
            md,
            "\nThe first call of each workspace, which has its board count the workspace (not a target, not in the samples):\n\n| workspace | tasks | ms | D1 calls | rows read |\n|---|---:|---:|---:|---:|"
        );
        for call in &scale.analytics_first_call {
            let _ = writeln!(
                md,
                "| {} | {} | {:.1} | {} | {} |",
                call.workspace,
                call.tasks,
                call.ms,
                call.cost.map_or("?".into(), |c| c.d1_calls.to_string()),
                rows_read(call.cost)
            );
        }
    }
    if let Some(c) = scale
        .comparisons
        .iter()
        .find(|c| c.target_p50_ratio == PATCH_TO_BOARD_TARGET)
    {
        let _ = writeln!(
            md,
            "\n### PATCH → board\n\nA PATCH of a seeded task's title over REST, timed until the workspace board's socket has the `task_updated` for it (rows read: the PATCH's answer).\n\n{table_head}"
        );
        table_row(&mut md, c);
    }
    if let Some(join) = &scale.join {
        let _ = writeln!(
            md,
            "\n### Joining a full room\n\n{} sockets, each a different viewer, join one task room of the small workspace, {} at a time. Frames: all that every socket received from the first connect until {} s after the last welcome (the welcomes included), with the room's default presence settings.\n\n| sockets | first connect → last welcome (s) | target | met | frames | per socket | target | met | by type | MiB received | largest welcome (KiB) | first / last {} welcomed in (ms) |\n|---:|---:|---:|---|---:|---:|---:|---|---|---:|---:|---:|",
            join.sockets, join.parallel, join.tail_seconds, join.parallel
        );
        let _ = writeln!(
            md,
            "| {} | {:.2} | ≤ {} | {} | {} | {:.1} | ≤ {} | {} | {} | {:.1} | {:.1} | {} / {} |",
            join.sockets,
            join.seconds_to_last_welcome,
            join.target_seconds,
            yes_no(join.met_seconds),
            join.frames,
            join.frames as f64 / join.sockets.max(1) as f64,
            join.target_frames,
            yes_no(join.met_frames),
            join.frames_by_type
                .iter()
                .map(|(kind, n)| format!("{kind} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            join.bytes as f64 / 1048576.0,
            join.largest_welcome_bytes as f64 / 1024.0,
            join.group_ms.first().copied().unwrap_or(0),
            join.group_ms.last().copied().unwrap_or(0),
        );
    }
    if let Some(db) = &scale.database {
        let mib = |bytes: u64| format!("{:.1}", bytes as f64 / 1048576.0);
        let _ = writeln!(
            md,
            "\n### Database size\n\nThe D1 SQLite file after seeding {} tasks, and its write-ahead log and shared-memory index beside it. SQLite leaves the `-wal` file at its largest until something truncates it, and a checkpoint copies its pages into the database file, so the database row is the data's size and `all` counts much of it twice.\n\n| file | bytes | MiB | bytes per task |\n|---|---:|---:|---:|\n| database | {} | {} | {} |\n| -wal | {} | {} | |\n| -shm | {} | {} | |\n| all | {} | {} | {} |",
            db.tasks,
            db.database_bytes,
            mib(db.database_bytes),
            db.database_bytes_per_task,
            db.wal_bytes,
            mib(db.wal_bytes),
            db.shm_bytes,
            mib(db.shm_bytes),
            db.total_bytes,
            mib(db.total_bytes),
            db.total_bytes_per_task
        );
    }
    if let Some(error) = &scale.error {
        let _ = writeln!(md, "\n**The scale phase failed:** {error}");
    }
    md
}
