//! The measuring side: subscribers that time every delivery, and an open-loop publisher.
//!
//! Every update carries a marker `bench#<n>#` (in the task's description, or in the relayed
//! payload). The publisher stamps the time it sent update `n`; a subscriber that finds
//! marker `n` in a frame records now − sent[n]. Frames and events are counted apart, so a
//! `batch` frame of ten updates is one frame and ten events.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use crate::score::markers;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Latencies are recorded in microseconds, up to a minute.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// When each update was sent, as microseconds since the run began (0 = not sent).
pub struct SentTimes {
    origin: Instant,
    at: Vec<AtomicU64>,
}

impl SentTimes {
    pub fn new(capacity: usize) -> Arc<SentTimes> {
        Arc::new(SentTimes {
            origin: Instant::now(),
            at: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    pub fn capacity(&self) -> usize {
        self.at.len()
    }

    fn now_us(&self) -> u64 {
        self.origin.elapsed().as_micros() as u64 + 1
    }

    pub fn stamp(&self, n: usize) {
        self.at[n].store(self.now_us(), Ordering::Relaxed);
    }

    /// Microseconds since update `n` was sent, if it was.
    fn age_us(&self, n: usize) -> Option<u64> {
        let sent = self.at.get(n)?.load(Ordering::Relaxed);
        (sent > 0).then(|| self.now_us().saturating_sub(sent).max(1))
    }
}

/// What one subscriber saw since the last [`SubscriberStats::reset`].
pub struct SubscriberStats {
    /// Markers below this belong to an earlier step and are not counted.
    pub first_marker: usize,
    pub frames: u64,
    pub events: u64,
    pub latency: Histogram<u64>,
    pub failed: Option<String>,
}

impl SubscriberStats {
    fn new() -> SubscriberStats {
        SubscriberStats {
            first_marker: usize::MAX,
            frames: 0,
            events: 0,
            latency: histogram(),
            failed: None,
        }
    }

    pub fn reset(&mut self, first_marker: usize) {
        self.first_marker = first_marker;
        self.frames = 0;
        self.events = 0;
        self.latency.reset();
    }
}

/// Opens a WebSocket, waits for the first frame (the welcome) and returns the stream.
pub async fn connect(url: &str) -> Result<Ws, String> {
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(30),
        tokio_tungstenite::connect_async(url),
    )
    .await
    .map_err(|_| format!("connect timed out: {url}"))?
    .map_err(|e| format!("connect {url}: {e}"))?;
    match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
        Ok(Some(Ok(Message::Text(_)))) => Ok(ws),
        other => Err(format!("no welcome from {url}: {other:?}")),
    }
}

/// A room full of subscribers, each timing its deliveries on its own task.
pub struct Audience {
    pub stats: Vec<Arc<Mutex<SubscriberStats>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Audience {
    /// Connects one subscriber per url, `parallel` at a time.
    pub async fn connect(
        urls: Vec<String>,
        sent: Arc<SentTimes>,
        parallel: usize,
    ) -> Result<Audience, String> {
        let mut audience = Audience {
            stats: Vec::new(),
            tasks: Vec::new(),
        };
        for chunk in urls.chunks(parallel.max(1)) {
            let opened = futures::future::join_all(chunk.iter().map(|url| connect(url))).await;
            for ws in opened {
                let stats = Arc::new(Mutex::new(SubscriberStats::new()));
                audience
                    .tasks
                    .push(tokio::spawn(listen(ws?, stats.clone(), sent.clone())));
                audience.stats.push(stats);
            }
        }
        Ok(audience)
    }

    pub fn len(&self) -> usize {
        self.stats.len()
    }

    /// Starts a new measurement window: only markers from `first_marker` on count.
    pub fn reset(&self, first_marker: usize) {
        for stats in &self.stats {
            stats.lock().unwrap().reset(first_marker);
        }
    }

    /// Waits until every subscriber has `events` events, or `limit` passes.
    pub async fn settle(&self, events: u64, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.stats.iter().all(|s| {
                let s = s.lock().unwrap();
                s.events >= events || s.failed.is_some()
            }) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The window's totals over every subscriber.
    pub fn totals(&self) -> Window {
        let mut window = Window {
            frames: 0,
            events: 0,
            latency: histogram(),
            failures: Vec::new(),
        };
        for stats in &self.stats {
            let stats = stats.lock().unwrap();
            window.frames += stats.frames;
            window.events += stats.events;
            window.latency.add(&stats.latency).expect("same bounds");
            if let Some(failure) = &stats.failed {
                window.failures.push(failure.clone());
            }
        }
        window
    }

    pub fn close(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

pub struct Window {
    pub frames: u64,
    pub events: u64,
    pub latency: Histogram<u64>,
    pub failures: Vec<String>,
}

async fn listen(mut ws: Ws, stats: Arc<Mutex<SubscriberStats>>, sent: Arc<SentTimes>) {
    let failure = loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let mut stats = stats.lock().unwrap();
                let mut counted = false;
                for n in markers(text.as_str()) {
                    if n < stats.first_marker {
                        continue;
                    }
                    counted = true;
                    stats.events += 1;
                    if let Some(age) = sent.age_us(n) {
                        let _ = stats.latency.record(age);
                    }
                }
                if counted {
                    stats.frames += 1;
                }
            }
            Some(Ok(Message::Close(frame))) => break format!("closed by the server: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(error)) => break format!("socket error: {error}"),
            None => break "socket ended".to_owned(),
        }
    };
    stats.lock().unwrap().failed = Some(failure);
}

/// How updates are sent to the system under test.
#[derive(Clone)]
pub enum Publisher {
    /// `PATCH /api/tasks/{id}` with a new description (Hero and the Node baseline).
    PatchTask {
        client: reqwest::Client,
        url: String,
        token: String,
    },
    /// `POST` the event itself to a relay (the bare JS Durable Object).
    PostEvent {
        client: reqwest::Client,
        url: String,
    },
    /// A text frame on a WebSocket that the server rebroadcasts (the bare tokio server).
    Frame(Arc<tokio::sync::Mutex<futures::stream::SplitSink<Ws, Message>>>),
}

/// The description an update writes: the marker plus padding, about the size of a real
/// edit, so every system moves the same bytes.
pub fn description(n: usize) -> String {
    format!("bench#{n}# {}", "Edited while benchmarking. ".repeat(4))
}

/// An event shaped and sized like Hero's `task_updated`, for the relays that only forward.
pub fn sample_event(n: usize) -> String {
    serde_json::json!({
        "type": "task_updated", "seq": n + 2, "at": "2026-11-26T12:00:00.000Z",
        "actor": {"id": "bench-writer", "name": "BENCH-WRITER"},
        "task": {
            "id": "0b9c8a43-3f6e-4d53-9b61-1c1d3c3f4a10", "workspace_id": "ws-bench",
            "title": "bench room", "description": description(n), "status": "todo",
            "priority": "medium", "assignee_id": null, "due_date": null, "tags": [],
            "created_by": "bench-writer", "created_at": "2026-11-26T12:00:00.000Z",
            "updated_at": "2026-11-26T12:00:00.000Z", "completed_at": null, "version": n + 2
        },
        "changed": ["description"]
    })
    .to_string()
}

impl Publisher {
    pub async fn publish(&self, n: usize) -> Result<(), String> {
        match self {
            Publisher::PatchTask { client, url, token } => {
                let response = client
                    .patch(url)
                    .bearer_auth(token)
                    .json(&serde_json::json!({ "description": description(n) }))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                check(response).await
            }
            Publisher::PostEvent { client, url } => {
                let response = client
                    .post(url)
                    .body(sample_event(n))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                check(response).await
            }
            Publisher::Frame(sink) => sink
                .lock()
                .await
                .send(Message::text(sample_event(n)))
                .await
                .map_err(|e| e.to_string()),
        }
    }
}

async fn check(response: reqwest::Response) -> Result<(), String> {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {status}: {body:.200}"))
    }
}

/// What an open-loop run sent.
pub struct Sent {
    pub ok: u64,
    pub errors: Vec<String>,
    pub elapsed: Duration,
}

/// Sends updates `first..` at `rate` per second for `duration`, without waiting for
/// answers (open loop), with at most `max_in_flight` outstanding; an update that finds no
/// room is an error, since the system has fallen behind the rate.
pub async fn publish_at_rate(
    publisher: &Publisher,
    sent: &Arc<SentTimes>,
    first: usize,
    rate: f64,
    duration: Duration,
    max_in_flight: usize,
) -> (Sent, usize) {
    let count = ((rate * duration.as_secs_f64()).round() as usize).max(1);
    let count = count.min(sent.capacity().saturating_sub(first));
    let period = Duration::from_secs_f64(1.0 / rate);
    let permits = Arc::new(Semaphore::new(max_in_flight));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let ok = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        tokio::time::sleep_until((started + period * i as u32).into()).await;
        let n = first + i;
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            errors
                .lock()
                .unwrap()
                .push(format!("{max_in_flight} updates in flight"));
            continue;
        };
        let (publisher, sent, errors, ok) =
            (publisher.clone(), sent.clone(), errors.clone(), ok.clone());
        tasks.push(tokio::spawn(async move {
            sent.stamp(n);
            match publisher.publish(n).await {
                Ok(()) => {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => errors.lock().unwrap().push(error),
            }
            drop(permit);
        }));
    }
    futures::future::join_all(tasks).await;
    let elapsed = started.elapsed();
    let errors = std::mem::take(&mut *errors.lock().unwrap());
    (
        Sent {
            ok: ok.load(Ordering::Relaxed),
            errors,
            elapsed,
        },
        first + count,
    )
}
