//! What a task's room logged about its document (at info level): each D1 write of the
//! description (`document_written`, with `rows_written`) and each compaction of its stored
//! updates into one snapshot (`document_compacted`, with `bytes_before` and `bytes_after`).
//!
//! Lines logged while the room handles a document socket (a frame, a close) carry no `room`
//! field (the room's span is not around them), so they are found by event and timing: the
//! scenarios make sure only one room can log such a line while they wait for it.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::systems::System;

/// Which of a room's lines to take.
#[derive(Clone, Copy)]
pub enum Room<'a> {
    /// Lines naming this task's room.
    Task(&'a str),
    /// Those, and lines that name no room (document socket events).
    TaskOrUnnamed(&'a str),
}

impl Room<'_> {
    fn takes(self, line: &Value) -> bool {
        let room = line["room"].as_str();
        let named = |task: &str| room.is_some_and(|r| r.ends_with(task));
        match self {
            Room::Task(task) => named(task),
            Room::TaskOrUnnamed(task) => named(task) || room.is_none(),
        }
    }
}

/// The lines with `"event": event` that `room` takes, oldest first, as JSON.
pub fn events(system: &System, room: Room<'_>, event: &str) -> Vec<Value> {
    let needle = format!("\"event\":\"{event}\"");
    system
        .log()
        .lines()
        .filter(|line| line.contains(&needle))
        .filter_map(|line| serde_json::from_str::<Value>(line.get(line.find('{')?..)?).ok())
        .filter(|line| room.takes(line))
        .collect()
}

/// Waits until there are more than `after` such lines (or `limit` passes); all of them.
pub async fn more_than(
    system: &System,
    room: Room<'_>,
    event: &str,
    after: usize,
    limit: Duration,
) -> Vec<Value> {
    let deadline = Instant::now() + limit;
    loop {
        let lines = events(system, room, event);
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
