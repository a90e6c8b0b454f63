//! What the Workers runtime gives every layer: the clock and the settings.

use worker::Env;

/// Milliseconds since the Unix epoch (the isolate's clock, which only moves between I/O).
pub fn now_ms() -> i64 {
    i64::try_from(worker::Date::now().as_millis()).unwrap_or(i64::MAX)
}

pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(now_ms()).unwrap_or_default()
}

/// Reads a var or a secret (secrets first, so a secret can never be shadowed by a var).
pub fn setting(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
}

/// Where a request's time went, stage by stage, for the `Server-Timing` response header.
///
/// The isolate's clock only moves across I/O, so a stage that only computes shows about
/// 0 ms; what the stages measure is waiting: on D1, on a room, on a turn.
#[derive(Debug, Default, Clone)]
pub struct Stages {
    started_at: Option<i64>,
    marks: Vec<(String, i64)>,
}

impl Stages {
    /// Stages whose work began at `at_ms`.
    pub fn starting(at_ms: i64) -> Self {
        Stages {
            started_at: Some(at_ms),
            marks: Vec::new(),
        }
    }

    pub fn started_at(&self) -> Option<i64> {
        self.started_at
    }

    pub fn marks(&self) -> impl Iterator<Item = (&str, i64)> + '_ {
        self.marks.iter().map(|(name, ms)| (name.as_str(), *ms))
    }

    /// Records that `stage` took `ms` (or, for a count such as a group size, was `ms`).
    pub fn record(&mut self, stage: &str, ms: i64) {
        self.marks.push((stage.to_owned(), ms.max(0)));
    }

    /// Runs `work` and records how long it took as `stage`.
    pub async fn time<T>(&mut self, stage: &str, work: impl std::future::Future<Output = T>) -> T {
        let started = now_ms();
        let out = work.await;
        self.record(stage, now_ms() - started);
        out
    }

    /// Adds the stages of another `Server-Timing` header (a room's), names prefixed.
    pub fn add_header(&mut self, header: &str, prefix: &str) {
        for part in header.split(',') {
            let Some((name, rest)) = part.trim().split_once(";dur=") else {
                continue;
            };
            if let Ok(ms) = rest.trim().parse::<i64>() {
                self.record(&format!("{prefix}{name}"), ms);
            }
        }
    }

    /// `name;dur=ms, …`, with `prefix` before each name.
    pub fn header(&self, prefix: &str) -> String {
        self.marks
            .iter()
            .map(|(name, ms)| format!("{prefix}{name};dur={ms}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
