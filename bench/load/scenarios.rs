//! The six scenarios of the report. Each takes a running [`System`] and returns figures;
//! none asserts anything about speed (the report does the comparing).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use hdrhistogram::Histogram;
use hero_core::auth::Role;
use serde::Serialize;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, histogram, Audience, Publisher, SentTimes};
use crate::score::{check_versions, tally, VersionCheck};
use crate::systems::{token, Kind, System};

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub samples: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(histogram: &Histogram<u64>) -> Latency {
        let ms = |us: u64| (us as f64 / 1000.0 * 10.0).round() / 10.0;
        Latency {
            samples: histogram.len(),
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p90_ms: ms(histogram.value_at_quantile(0.90)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            max_ms: ms(histogram.max()),
        }
    }
}

/// One measured window of updates into one room.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub sockets: usize,
    pub rate_per_sec: f64,
    pub updates_sent: u64,
    pub publish_errors: usize,
    /// The first few publish errors, as the client saw them.
    pub publish_error_samples: Vec<String>,
    /// Events received over all sockets, and frames they came in.
    pub events: u64,
    pub frames: u64,
    pub missing: u64,
    pub socket_failures: usize,
    pub events_per_sec: f64,
    pub frames_per_sec: f64,
    pub latency: Latency,
}

impl Delivery {
    /// Within the goal: every event delivered, no errors, p99 within `p99_limit_ms`.
    pub fn sustained(&self, p99_limit_ms: f64) -> bool {
        self.missing == 0
            && self.publish_errors == 0
            && self.socket_failures == 0
            && self.latency.p99_ms <= p99_limit_ms
    }
}

pub struct Room {
    pub id: String,
    pub audience: Audience,
}

/// What the harness needs to drive one system.
pub struct Driver<'a> {
    pub system: &'a System,
    pub http: reqwest::Client,
    pub workspace: String,
    pub writer: String,
    pub sent: Arc<SentTimes>,
    pub next_marker: usize,
}

impl<'a> Driver<'a> {
    pub fn new(system: &'a System) -> Driver<'a> {
        let workspace = format!("ws-bench-{}", uuid::Uuid::new_v4().simple());
        Driver {
            system,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
            writer: token("bench-writer", Role::Member, &workspace),
            workspace,
            sent: SentTimes::new(2_000_000),
            next_marker: 0,
        }
    }

    /// A task to talk about: created over REST, or just a name for the relays.
    pub async fn create_room(&self, title: &str) -> Result<String, String> {
        match self.system.kind {
            Kind::Hero | Kind::Baseline => {
                let response = self
                    .http
                    .post(format!("{}/api/tasks", self.system.http))
                    .bearer_auth(&self.writer)
                    .json(&json!({ "title": title }))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if response.status().as_u16() != 201 {
                    let status = response.status();
                    let body = response.text().await.unwrap_or_default();
                    return Err(format!("create task: HTTP {status}: {body:.300}"));
                }
                let task: Value = response.json().await.map_err(|e| e.to_string())?;
                Ok(task["id"].as_str().unwrap_or_default().to_owned())
            }
            Kind::JsRelay | Kind::RawTokio | Kind::YjsReference => {
                Ok(format!("room-{}", uuid::Uuid::new_v4().simple()))
            }
        }
    }

    /// Polls with task creations until one succeeds (or `limit` passes).
    pub async fn wait_until_answering(&self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            match self.create_room("are you there").await {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() > deadline => {
                    return Err(format!(
                        "not answering {limit:?} after the fan-out test: {error}"
                    ))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    pub fn publisher(&self, room: &str) -> Publisher {
        match self.system.kind {
            Kind::Hero | Kind::Baseline => Publisher::PatchTask {
                client: self.http.clone(),
                url: format!("{}/api/tasks/{room}", self.system.http),
                token: self.writer.clone(),
            },
            Kind::JsRelay => Publisher::PostEvent {
                client: self.http.clone(),
                url: format!("{}/publish/{room}", self.system.http),
            },
            Kind::RawTokio => unreachable!("the raw server publishes over a socket"),
            Kind::YjsReference => unreachable!("the Yjs reference only takes documents"),
        }
    }

    async fn publisher_for(&self, room: &str) -> Result<Publisher, String> {
        if self.system.kind != Kind::RawTokio {
            return Ok(self.publisher(room));
        }
        let url = format!("{}/publish", self.system.ws[0]);
        let ws = client::connect(&url).await?;
        let (sink, mut stream) = ws.split();
        tokio::spawn(async move { while stream.next().await.is_some() {} });
        Ok(Publisher::Frame(Arc::new(tokio::sync::Mutex::new(sink))))
    }

    /// Opens `sockets` subscribers to `room`, each a different viewer.
    pub async fn audience(&self, room: &str, sockets: usize) -> Result<Audience, String> {
        let urls = (0..sockets)
            .map(|i| {
                let viewer = token(&format!("viewer-{i}"), Role::Viewer, &self.workspace);
                self.system.room_url(i, room, &viewer)
            })
            .collect();
        Audience::connect(urls, self.sent.clone(), 50).await
    }

    /// Sends updates at `rate` for `seconds` into a room and measures every delivery.
    pub async fn deliver(
        &mut self,
        room: &Room,
        rate: f64,
        seconds: f64,
    ) -> Result<Delivery, String> {
        let publisher = self.publisher_for(&room.id).await?;
        let first = self.next_marker;
        room.audience.reset(first);
        let (sent, next) = client::publish_at_rate(
            &publisher,
            &self.sent,
            first,
            rate,
            Duration::from_secs_f64(seconds),
            512,
        )
        .await;
        self.next_marker = next;
        room.audience.settle(sent.ok, Duration::from_secs(10)).await;
        let window = room.audience.totals();
        let expected = sent.ok * room.audience.len() as u64;
        let seconds = sent.elapsed.as_secs_f64().max(1e-3);
        Ok(Delivery {
            sockets: room.audience.len(),
            rate_per_sec: rate,
            updates_sent: sent.ok,
            publish_errors: sent.errors.len(),
            publish_error_samples: sent.errors.iter().take(3).cloned().collect(),
            events: window.events,
            frames: window.frames,
            missing: expected.saturating_sub(window.events),
            socket_failures: window.failures.len(),
            events_per_sec: (window.events as f64 / seconds).round(),
            frames_per_sec: (window.frames as f64 / seconds).round(),
            latency: Latency::of(&window.latency),
        })
    }
}

/// Scenario 2: raise the rate until p99 passes the limit or anything fails.
#[derive(Debug, Clone, Serialize)]
pub struct Saturation {
    pub p99_limit_ms: f64,
    pub steps: Vec<Delivery>,
    /// The highest rate that was sustained, if any.
    pub best: Option<Delivery>,
}

pub async fn saturate(
    driver: &mut Driver<'_>,
    room: &Room,
    rates: &[f64],
    step_seconds: f64,
    p99_limit_ms: f64,
    progress: &dyn Fn(&str),
) -> Result<Saturation, String> {
    /// Steps between the last good rate and the first bad one, halving the interval.
    const REFINEMENTS: usize = 2;
    let mut steps = Vec::new();
    let mut best: Option<Delivery> = None;
    let mut failed_at: Option<f64> = None;
    let mut refinements = 0;
    let mut index = 0;
    let mut rate = rates[0];
    loop {
        let step = driver.deliver(room, rate, step_seconds).await?;
        let ok = step.sustained(p99_limit_ms);
        progress(&format!(
            "  {rate:>6.0} updates/s → {:>8.0} events/s in {:>7.0} frames/s, p99 {:>7.1} ms{}",
            step.events_per_sec,
            step.frames_per_sec,
            step.latency.p99_ms,
            if ok { "" } else { "  (not sustained)" }
        ));
        steps.push(step.clone());
        if step.socket_failures > 0 {
            break;
        }
        if ok {
            best = Some(step);
        } else {
            failed_at = Some(rate);
        }
        let good = best.as_ref().map(|b| b.rate_per_sec);
        rate = match (good, failed_at) {
            // still climbing
            (_, None) => {
                index += 1;
                match rates.get(index) {
                    Some(&next) => next,
                    None => break,
                }
            }
            // between a good rate and a bad one: try the middle, while the gap is worth it
            (Some(good), Some(bad)) if refinements < REFINEMENTS && bad / good > 1.15 => {
                refinements += 1;
                ((good + bad) / 2.0).round()
            }
            _ => break,
        };
        if !ok {
            // let the backlog of the failed step clear first
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
    }
    Ok(Saturation {
        p99_limit_ms,
        steps,
        best,
    })
}

/// Scenario 3: subscribers drop and come back while updates flow.
#[derive(Debug, Clone, Serialize)]
pub struct Churn {
    pub clients: usize,
    pub updates_sent: u64,
    pub reconnects: u64,
    pub resumes_with_since: bool,
    /// Per client, events expected (every update after it first joined).
    pub expected: u64,
    pub exactly_once_in_order: u64,
    pub missing: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub share_exactly_once_in_order: f64,
}

struct Xorshift(u64);

impl Xorshift {
    fn next_in(&mut self, low: u64, high: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low).max(1)
    }
}

/// Reads one connection's durable events (unpacking batches) until `until` or a close.
async fn read_seqs(ws: &mut client::Ws, until: Instant, seqs: &mut Vec<u64>) -> bool {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Err(_) => return true,
            Ok(Some(Ok(Message::Text(text)))) => {
                let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                let events = match frame["type"].as_str() {
                    Some("batch") => frame["events"].as_array().cloned().unwrap_or_default(),
                    _ => vec![frame],
                };
                for event in events {
                    if event["type"] == "task_updated" {
                        if let Some(seq) = event["seq"].as_u64() {
                            seqs.push(seq);
                        }
                    }
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(_) => return false,
        }
    }
}

pub async fn churn(
    driver: &mut Driver<'_>,
    clients: usize,
    rate: f64,
    seconds: f64,
) -> Result<Churn, String> {
    let resumes = driver.system.kind == Kind::Hero;
    let room = driver.create_room("churn").await?;
    let base_urls: Vec<String> = (0..clients)
        .map(|i| {
            let viewer = token(&format!("churn-{i}"), Role::Viewer, &driver.workspace);
            driver.system.room_url(i, &room, &viewer)
        })
        .collect();
    // Everyone joins before the first update: each expects every update.
    let mut first = Vec::new();
    for url in &base_urls {
        first.push(client::connect(url).await?);
    }
    let publishing_ends = Instant::now() + Duration::from_secs_f64(seconds);
    let mut readers = Vec::new();
    for (index, (url, ws)) in base_urls.into_iter().zip(first).enumerate() {
        readers.push(tokio::spawn(async move {
            let mut random = Xorshift(0x9E37_79B9_7F4A_7C15 ^ ((index as u64 + 1) * 0x2545_F491));
            let mut seqs = Vec::new();
            let mut reconnects = 0u64;
            let mut ws = Some(ws);
            // The last seq seen; the task's creation is seq 1.
            let resume_url = |seqs: &Vec<u64>| {
                let since = seqs.last().copied().unwrap_or(1);
                if resumes {
                    format!("{url}&since={since}")
                } else {
                    url.clone()
                }
            };
            while Instant::now() < publishing_ends {
                let mut socket = match ws.take() {
                    Some(socket) => socket,
                    None => {
                        reconnects += 1;
                        match client::connect(&resume_url(&seqs)).await {
                            Ok(socket) => socket,
                            Err(_) => continue,
                        }
                    }
                };
                let stay = Duration::from_millis(random.next_in(300, 1500));
                read_seqs(&mut socket, Instant::now() + stay, &mut seqs).await;
                let _ = socket.close(None).await;
                tokio::time::sleep(Duration::from_millis(random.next_in(50, 400))).await;
            }
            // After the last update: one more (resuming) connection collects the tail.
            tokio::time::sleep(Duration::from_millis(500)).await;
            if let Ok(mut socket) = client::connect(&resume_url(&seqs)).await {
                reconnects += 1;
                read_seqs(
                    &mut socket,
                    Instant::now() + Duration::from_secs(3),
                    &mut seqs,
                )
                .await;
            }
            (seqs, reconnects)
        }));
    }
    let publisher = driver.publisher(&room);
    let first_marker = driver.next_marker;
    let (sent, next) = client::publish_at_rate(
        &publisher,
        &driver.sent,
        first_marker,
        rate,
        Duration::from_secs_f64(seconds),
        512,
    )
    .await;
    driver.next_marker = next;
    if !sent.errors.is_empty() {
        return Err(format!("churn updates failed: {:?}", &sent.errors[..1]));
    }
    let mut result = Churn {
        clients,
        updates_sent: sent.ok,
        reconnects: 0,
        resumes_with_since: resumes,
        expected: 0,
        exactly_once_in_order: 0,
        missing: 0,
        duplicates: 0,
        out_of_order: 0,
        share_exactly_once_in_order: 0.0,
    };
    // seq 1 is the creation; updates are 2..=sent+1.
    let last = sent.ok + 1;
    for reader in readers {
        let (seqs, reconnects) = reader.await.map_err(|e| e.to_string())?;
        result.reconnects += reconnects;
        let tally = tally(&seqs, 2..=last);
        result.expected += tally.expected;
        result.exactly_once_in_order += tally.exactly_once_in_order;
        result.missing += tally.missing;
        result.duplicates += tally.duplicates;
        result.out_of_order += tally.out_of_order;
    }
    result.share_exactly_once_in_order =
        result.exactly_once_in_order as f64 / result.expected.max(1) as f64;
    Ok(result)
}

/// Scenario 4: one REST operation at a fixed concurrency.
#[derive(Debug, Clone, Serialize)]
pub struct Crud {
    pub operation: &'static str,
    pub concurrency: usize,
    pub requests: u64,
    pub errors: u64,
    pub requests_per_sec: f64,
    pub latency: Latency,
}

pub async fn crud(
    driver: &Driver<'_>,
    concurrency: usize,
    seconds: f64,
) -> Result<Vec<Crud>, String> {
    // Each worker owns a task to read and edit.
    let mut own = Vec::new();
    for i in 0..concurrency {
        own.push(driver.create_room(&format!("crud {i}")).await?);
    }
    let mut results = Vec::new();
    for operation in ["create", "get", "list", "patch"] {
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let started = Instant::now();
        let workers = own.iter().enumerate().map(|(worker, task_id)| {
            let (http, base, token) = (
                driver.http.clone(),
                driver.system.http.clone(),
                driver.writer.clone(),
            );
            let task_id = task_id.clone();
            async move {
                let mut latency = histogram();
                let (mut ok, mut errors, mut n) = (0u64, 0u64, 0usize);
                while Instant::now() < deadline {
                    n += 1;
                    let request = match operation {
                        "create" => http
                            .post(format!("{base}/api/tasks"))
                            .json(&json!({"title": format!("crud {worker}/{n}")})),
                        "get" => http.get(format!("{base}/api/tasks/{task_id}")),
                        "list" => http.get(format!("{base}/api/tasks?limit=20")),
                        _ => http
                            .patch(format!("{base}/api/tasks/{task_id}"))
                            .json(&json!({"description": client::description(n)})),
                    };
                    let begun = Instant::now();
                    match request.bearer_auth(&token).send().await {
                        Ok(response) if response.status().is_success() => {
                            let _ = response.bytes().await;
                            ok += 1;
                            let _ = latency.record(begun.elapsed().as_micros().max(1) as u64);
                        }
                        _ => errors += 1,
                    }
                }
                (latency, ok, errors)
            }
        });
        let mut latency = histogram();
        let (mut ok, mut errors) = (0, 0);
        for (worker_latency, worker_ok, worker_errors) in futures::future::join_all(workers).await {
            latency.add(&worker_latency).expect("same bounds");
            ok += worker_ok;
            errors += worker_errors;
        }
        results.push(Crud {
            operation,
            concurrency,
            requests: ok,
            errors,
            requests_per_sec: (ok as f64 / started.elapsed().as_secs_f64()).round(),
            latency: Latency::of(&latency),
        });
    }
    Ok(results)
}

/// Scenario 6: many writers on one task, and one watcher in its room.
#[derive(Debug, Clone, Serialize)]
pub struct HotTask {
    pub writers: usize,
    pub seconds: f64,
    /// PATCHes sent, and how they were answered.
    pub requests: u64,
    pub ok: u64,
    pub conflicts: u64,
    pub server_errors: u64,
    /// Any other answer: another 4xx, a transport error, or a 2xx without this write in it.
    pub other: u64,
    /// The first few non-2xx answers, as the client saw them.
    pub error_samples: Vec<String>,
    /// Committed PATCHes (2xx) per second, and their latency.
    pub patches_per_sec: f64,
    pub latency: Latency,
    /// The watcher against the committed versions.
    pub committed_versions: u64,
    pub watcher_events: u64,
    pub watcher_exactly_once_in_order: u64,
    pub watcher_missing: u64,
    pub watcher_duplicates: u64,
    pub watcher_out_of_order: u64,
    /// Versions the watcher saw that no 2xx answer reported.
    pub watcher_extra: u64,
    /// 2xx answers that reported a version another 2xx answer had already reported.
    pub repeated_versions: u64,
    pub watcher_failure: Option<String>,
    pub every_version_once_in_order: bool,
    /// Where a committed PATCH's time went, as the server reports it (`Server-Timing`),
    /// averaged: ms per stage (`room-group` is the writes per D1 batch). Empty when the
    /// system reports none.
    pub stages: Vec<(String, f64)>,
    /// CPU every server process spent per committed PATCH, in ms, by command name
    /// (`workerd`; `node`, `redis-server`, `postgres`), counted from /proc around the run.
    pub cpu_ms_per_patch: std::collections::BTreeMap<String, f64>,
}

impl HotTask {
    /// CPU ms per committed PATCH, every server process together.
    pub fn cpu_ms_per_patch_total(&self) -> f64 {
        let total: f64 = self.cpu_ms_per_patch.values().sum();
        (total * 1000.0).round() / 1000.0
    }
}

/// One writer's answers.
#[derive(Default)]
struct WriterTally {
    requests: u64,
    ok: u64,
    conflicts: u64,
    server_errors: u64,
    other: u64,
    samples: Vec<String>,
    versions: Vec<u64>,
    /// Sums of each `Server-Timing` stage over the committed PATCHes (Hero reports them).
    stages: Vec<(String, f64)>,
}

impl WriterTally {
    fn add_stages(&mut self, header: &str) {
        for (name, ms) in crate::score::server_timing(header) {
            match self.stages.iter_mut().find(|(n, _)| *n == name) {
                Some((_, sum)) => *sum += ms,
                None => self.stages.push((name, ms)),
            }
        }
    }
}

impl WriterTally {
    fn sample(&mut self, what: String) {
        if self.samples.len() < 3 {
            self.samples.push(what);
        }
    }
}

/// Reads the room until aborted, keeping the `task.version` of every `task_updated` for
/// `task_id` (unpacking `batch` frames).
async fn watch_versions(
    mut ws: client::Ws,
    task_id: String,
    versions: Arc<std::sync::Mutex<Vec<u64>>>,
    failure: Arc<std::sync::Mutex<Option<String>>>,
) {
    let ended = loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                let events = match frame["type"].as_str() {
                    Some("batch") => frame["events"].as_array().cloned().unwrap_or_default(),
                    _ => vec![frame],
                };
                let mut versions = versions.lock().unwrap();
                for event in events {
                    if event["type"] == "task_updated" && event["task"]["id"] == task_id.as_str() {
                        if let Some(version) = event["task"]["version"].as_u64() {
                            versions.push(version);
                        }
                    }
                }
            }
            Some(Ok(Message::Close(frame))) => break format!("closed by the server: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(error)) => break format!("socket error: {error}"),
            None => break "socket ended".to_owned(),
        }
    };
    *failure.lock().unwrap() = Some(ended);
}

/// Scenario 6: `writers` clients PATCH one task back to back for `seconds` (no `If-Match`,
/// each PATCH a new description), while one socket in the task's room records every
/// `task_updated`. Versions committed are the versions of the 2xx answers; the watcher
/// should see each exactly once, in order.
pub async fn hot_task(
    driver: &Driver<'_>,
    writers: usize,
    seconds: f64,
) -> Result<HotTask, String> {
    /// Bounds each writer's loop by count as well as by time.
    const MAX_PATCHES_PER_WRITER: usize = 100_000;
    let task_id = driver.create_room("hot task").await?;
    let viewer = token("hot-watcher", Role::Viewer, &driver.workspace);
    let ws = client::connect(&driver.system.room_url(0, &task_id, &viewer)).await?;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let failure = Arc::new(std::sync::Mutex::new(None));
    let watcher = tokio::spawn(watch_versions(
        ws,
        task_id.clone(),
        seen.clone(),
        failure.clone(),
    ));

    let url = format!("{}/api/tasks/{task_id}", driver.system.http);
    let cpu_before = driver.system.cpu();
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let runs = (0..writers).map(|writer| {
        let (http, url, token) = (driver.http.clone(), url.clone(), driver.writer.clone());
        async move {
            let mut tally = WriterTally::default();
            let mut latency = histogram();
            for n in 0..MAX_PATCHES_PER_WRITER {
                if Instant::now() >= deadline {
                    break;
                }
                // A description no other PATCH writes, the size of the other scenarios'.
                let description = client::description(writer * MAX_PATCHES_PER_WRITER + n);
                tally.requests += 1;
                let begun = Instant::now();
                let response = http
                    .patch(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "description": description }))
                    .send()
                    .await;
                let response = match response {
                    Ok(response) => response,
                    Err(error) => {
                        tally.other += 1;
                        tally.sample(error.to_string());
                        continue;
                    }
                };
                let status = response.status();
                let timing = response
                    .headers()
                    .get("server-timing")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let body = response.text().await.unwrap_or_default();
                let elapsed = begun.elapsed();
                if status.is_success() {
                    let task: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    match task["version"].as_u64() {
                        Some(version) if task["description"] == description.as_str() => {
                            tally.add_stages(&timing);
                            tally.ok += 1;
                            tally.versions.push(version);
                            let _ = latency.record(elapsed.as_micros().max(1) as u64);
                        }
                        _ => {
                            tally.other += 1;
                            tally.sample(format!("HTTP {status} without this write: {body:.200}"));
                        }
                    }
                } else {
                    match status.as_u16() {
                        409 => tally.conflicts += 1,
                        500..=599 => tally.server_errors += 1,
                        _ => tally.other += 1,
                    }
                    tally.sample(format!("HTTP {status}: {body:.200}"));
                }
            }
            (tally, latency)
        }
    });
    let finished = futures::future::join_all(runs).await;
    let elapsed = started.elapsed().as_secs_f64().max(1e-3);
    let cpu_used = crate::cpu::used(&cpu_before, &driver.system.cpu());

    let mut total = WriterTally::default();
    let mut latency = histogram();
    for (tally, writer_latency) in finished {
        latency.add(&writer_latency).expect("same bounds");
        total.requests += tally.requests;
        total.ok += tally.ok;
        total.conflicts += tally.conflicts;
        total.server_errors += tally.server_errors;
        total.other += tally.other;
        total.versions.extend(tally.versions);
        for sample in tally.samples {
            total.sample(sample);
        }
        for (name, sum) in tally.stages {
            match total.stages.iter_mut().find(|(n, _)| *n == name) {
                Some((_, total_sum)) => *total_sum += sum,
                None => total.stages.push((name, sum)),
            }
        }
    }

    // Give the watcher until it has the last committed version (or ten seconds).
    let last = total.versions.iter().copied().max().unwrap_or(0);
    let settle = Instant::now() + Duration::from_secs(10);
    while Instant::now() < settle
        && failure.lock().unwrap().is_none()
        && !seen.lock().unwrap().contains(&last)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Anything still on its way after the last one would be a duplicate: a moment for it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    watcher.abort();
    let received = std::mem::take(&mut *seen.lock().unwrap());
    let watcher_failure = failure.lock().unwrap().take();
    let check = check_versions(&received, &total.versions);
    let every_version_once_in_order = check.every_version_once_in_order();
    let VersionCheck {
        tally: score,
        repeated_answers,
        extra,
    } = check;
    Ok(HotTask {
        writers,
        seconds,
        requests: total.requests,
        ok: total.ok,
        conflicts: total.conflicts,
        server_errors: total.server_errors,
        other: total.other,
        error_samples: total.samples,
        patches_per_sec: (total.ok as f64 / elapsed).round(),
        latency: Latency::of(&latency),
        stages: total
            .stages
            .iter()
            .map(|(name, sum)| {
                (
                    name.clone(),
                    (sum / total.ok.max(1) as f64 * 10.0).round() / 10.0,
                )
            })
            .collect(),
        cpu_ms_per_patch: cpu_used
            .into_iter()
            .map(|(command, seconds)| {
                let per_patch = seconds * 1000.0 / total.ok.max(1) as f64;
                (command, (per_patch * 1000.0).round() / 1000.0)
            })
            .collect(),
        committed_versions: score.expected,
        watcher_events: received.len() as u64,
        watcher_exactly_once_in_order: score.exactly_once_in_order,
        watcher_missing: score.missing,
        watcher_duplicates: score.duplicates,
        watcher_out_of_order: score.out_of_order,
        watcher_extra: extra,
        repeated_versions: repeated_answers,
        watcher_failure,
        every_version_once_in_order,
    })
}

/// Scenario 5 (sockets): memory for idle connections.
#[derive(Debug, Clone, Serialize)]
pub struct Footprint {
    pub sockets: usize,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub rss_per_1000_sockets_kib: u64,
}

/// Scenario 5 (start): how soon a fresh server answers, and what its first requests cost.
#[derive(Debug, Clone, Serialize)]
pub struct ColdStart {
    pub startup_ms: f64,
    pub first_create_ms: f64,
    pub warm_create_ms: f64,
    pub first_socket_ms: f64,
    pub warm_socket_ms: f64,
}

pub async fn cold_start(driver: &Driver<'_>) -> Result<ColdStart, String> {
    let timed = Instant::now();
    let first_room = driver.create_room("cold").await?;
    let first_create_ms = timed.elapsed().as_secs_f64() * 1e3;
    let timed = Instant::now();
    let second_room = driver.create_room("warm").await?;
    let warm_create_ms = timed.elapsed().as_secs_f64() * 1e3;
    let viewer = token("cold-viewer", Role::Viewer, &driver.workspace);
    let timed = Instant::now();
    let first = client::connect(&driver.system.room_url(0, &first_room, &viewer)).await?;
    let first_socket_ms = timed.elapsed().as_secs_f64() * 1e3;
    // A second room is a new object too; a second socket into the first room is warm.
    drop(second_room);
    let timed = Instant::now();
    let warm = client::connect(&driver.system.room_url(0, &first_room, &viewer)).await?;
    let warm_socket_ms = timed.elapsed().as_secs_f64() * 1e3;
    drop((first, warm));
    let round = |ms: f64| (ms * 10.0).round() / 10.0;
    Ok(ColdStart {
        startup_ms: round(driver.system.startup_ms),
        first_create_ms: round(first_create_ms),
        warm_create_ms: round(warm_create_ms),
        first_socket_ms: round(first_socket_ms),
        warm_socket_ms: round(warm_socket_ms),
    })
}
