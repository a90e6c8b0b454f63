//! Structured logs: every `tracing` event becomes one JSON object on one line, with the
//! fields of the spans around it merged in, so a line logged deep in a handler still carries
//! the `request_id`, `route` and `user_id` of its request (or the `room` and
//! `connection_id` in a Durable Object).
//!
//! ```text
//! {"level":"info","msg":"request","request_id":"8c1f…","route":"update_task","method":"PATCH","user_id":"ana","status":200,"duration_ms":12}
//! {"level":"warn","msg":"room event","event":"rate_limited","room":"task:…","connection_id":"…","user_id":"bob"}
//! ```
//!
//! The level threshold is a process-wide setting ([`set_max_level`]) applied from the
//! `LOG_LEVEL` var on every request, since a Worker's `start` hook has no access to its env.
//! The writer is a plain function, so the layer is tested on the host.

use std::sync::atomic::{AtomicU8, Ordering};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// 0 = error … 4 = trace.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(2);

fn rank(level: Level) -> u8 {
    match level {
        Level::ERROR => 0,
        Level::WARN => 1,
        Level::INFO => 2,
        Level::DEBUG => 3,
        Level::TRACE => 4,
    }
}

/// Parses `LOG_LEVEL` (error, warn, info, debug, trace; case-insensitive).
pub fn parse_level(raw: &str) -> Option<Level> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "error" => Some(Level::ERROR),
        "warn" | "warning" => Some(Level::WARN),
        "info" => Some(Level::INFO),
        "debug" => Some(Level::DEBUG),
        "trace" => Some(Level::TRACE),
        _ => None,
    }
}

pub fn set_max_level(level: Level) {
    MAX_LEVEL.store(rank(level), Ordering::Relaxed);
}

/// Applies a `LOG_LEVEL` value; anything unparsable means `info`.
pub fn apply_log_level(raw: Option<&str>) {
    set_max_level(raw.and_then(parse_level).unwrap_or(Level::INFO));
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

/// Collects an event's or a span's fields as JSON values.
struct JsonFields<'a>(&'a mut Map<String, Value>);

impl JsonFields<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        let name = match field.name() {
            "message" => "msg",
            other => other,
        };
        self.0.insert(name.to_owned(), value);
    }
}

impl Visit for JsonFields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
}

/// A span's recorded fields, kept in its registry extensions.
struct SpanFields(Map<String, Value>);

/// The `tracing` layer that writes JSON lines to `sink(level, line)`.
pub struct JsonLines {
    sink: fn(Level, &str),
}

impl JsonLines {
    pub fn new(sink: fn(Level, &str)) -> Self {
        JsonLines { sink }
    }
}

impl<S> Layer<S> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        metadata.is_span() || rank(*metadata.level()) <= MAX_LEVEL.load(Ordering::Relaxed)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut JsonFields(&mut fields));
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
            values.record(&mut JsonFields(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        let mut line = Map::new();
        line.insert("level".into(), Value::from(level_name(level)));
        line.insert("msg".into(), Value::from(""));
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    for (key, value) in fields {
                        line.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        event.record(&mut JsonFields(&mut line));
        (self.sink)(level, &Value::Object(line).to_string());
    }
}

/// Installs the JSON layer as the global subscriber (once; later calls are no-ops).
pub fn init(sink: fn(Level, &str)) {
    use tracing_subscriber::prelude::*;
    let _ = tracing_subscriber::registry()
        .with(JsonLines::new(sink))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use tracing_subscriber::prelude::*;

    thread_local! {
        static LINES: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
    }

    fn capture(level: Level, line: &str) {
        LINES.with(|lines| lines.borrow_mut().push((level, line.to_owned())));
    }

    /// The threshold is process-wide; tests that set it take turns.
    static LEVEL_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn logged(run: impl FnOnce()) -> Vec<Value> {
        LINES.with(|lines| lines.borrow_mut().clear());
        let subscriber = tracing_subscriber::registry().with(JsonLines::new(capture));
        tracing::subscriber::with_default(subscriber, run);
        LINES.with(|lines| {
            lines
                .borrow()
                .iter()
                .map(|(_, line)| serde_json::from_str(line).expect("each line is one JSON object"))
                .collect()
        })
    }

    #[test]
    fn events_carry_their_span_fields() {
        let _turn = LEVEL_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        set_max_level(Level::INFO);
        let lines = logged(|| {
            let span = tracing::info_span!(
                "request",
                request_id = "r-1",
                route = "get_task",
                user_id = tracing::field::Empty
            );
            let _guard = span.enter();
            span.record("user_id", "ana");
            tracing::info!(status = 200u16, duration_ms = 12u64, "request");
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["level"], "info");
        assert_eq!(line["msg"], "request");
        assert_eq!(line["request_id"], "r-1");
        assert_eq!(line["route"], "get_task");
        assert_eq!(line["user_id"], "ana");
        assert_eq!(line["status"], 200);
        assert_eq!(line["duration_ms"], 12);
    }

    #[test]
    fn the_level_threshold_applies() {
        let _turn = LEVEL_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        apply_log_level(Some("warn"));
        let lines = logged(|| {
            tracing::info!("hidden");
            tracing::debug!("hidden");
            tracing::warn!(event = "rate_limited", "room event");
        });
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["event"], "rate_limited");
        apply_log_level(Some("nonsense"));
        assert_eq!(logged(|| tracing::info!("shown")).len(), 1);
        apply_log_level(Some("DEBUG"));
        assert_eq!(logged(|| tracing::debug!("shown")).len(), 1);
        set_max_level(Level::INFO);
    }
}
