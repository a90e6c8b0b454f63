//! What a task's room logged about its document (at info level): each D1 write of the
//! description (`document_written`, with `rows_written`) and each compaction of its stored
//! updates into one snapshot (`document_compacted`, with `bytes_before` and `bytes_after`).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::systems::System;

/// The room's log lines with `"event": event`, oldest first, as JSON.
pub fn events(system: &System, task_id: &str, event: &str) -> Vec<Value> {
    let needle = format!("\"event\":\"{event}\"");
    system
        .log()
        .lines()
        .filter(|line| line.contains(&needle) && line.contains(task_id))
        .filter_map(|line| serde_json::from_str::<Value>(line.get(line.find('{')?..)?).ok())
        .collect()
}

/// Waits until the room has logged more than `after` lines of `event` (or `limit` passes);
/// every such line.
pub async fn more_than(
    system: &System,
    task_id: &str,
    event: &str,
    after: usize,
    limit: Duration,
) -> Vec<Value> {
    let deadline = Instant::now() + limit;
    loop {
        let lines = events(system, task_id, event);
        if lines.len() > after || Instant::now() > deadline {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A numeric field of a log line.
pub fn number(line: &Value, field: &str) -> u64 {
    line[field].as_u64().unwrap_or(0)
}
