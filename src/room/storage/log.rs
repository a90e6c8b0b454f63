//! The room's identity, its place in D1's change log, and the event log it replays from
//! (with a deleted task's events redacted in place).

use crate::room::error::RoomResult;
use serde::Deserialize;

use super::{int, RoomStorage};
use hero_core::protocol::ServerMessage;
use hero_core::room::{LogCursor, LogPosition, LogView, RoomKey, StoredAppend};
use hero_core::task::TaskId;

impl RoomStorage {
    /// Records which room this object is, the first time it hears.
    pub fn remember(&self, key: &RoomKey) -> RoomResult<()> {
        let key_json = serde_json::to_string(key)?;
        self.sql.exec(
            "INSERT OR IGNORE INTO room_state (id, room) VALUES (1, ?)",
            vec![key_json.into()],
        )?;
        Ok(())
    }

    /// Which room this is, once it has been told.
    pub fn key(&self) -> Option<RoomKey> {
        let row: Option<RoomRow> = self
            .first_row("SELECT room FROM room_state WHERE id = 1", None)
            .ok()
            .flatten();
        row.and_then(|row| serde_json::from_str(&row.room).ok())
    }

    /// Where the log stands, its cursor read as this room's kind counts it.
    pub fn position<C: LogCursor>(&self) -> RoomResult<LogPosition<C>> {
        let row: Option<StateRow> = self.first_row(
            "SELECT seq, change_cursor FROM room_state WHERE id = 1",
            None,
        )?;
        Ok(row.map_or(LogPosition::default(), |r| LogPosition {
            seq: r.seq as u64,
            cursor: C::from_raw(r.change_cursor as i64),
        }))
    }

    /// The last `seq`, the lowest still kept, and the bytes kept after `since`, in one read.
    pub fn log_view(&self, since: Option<u64>) -> RoomResult<LogView> {
        let row: Option<ViewRow> = self.first_row(
            "SELECT (SELECT seq FROM room_state WHERE id = 1) AS seq, \
                    (SELECT MIN(seq) FROM room_events) AS oldest, \
                    (SELECT COALESCE(SUM(length(frame)), 0) FROM room_events WHERE seq > ?) \
                        AS bytes",
            vec![int(
                since.map_or(i64::MAX, |s| s.min(i64::MAX as u64) as i64)
            )],
        )?;
        Ok(row.map_or(LogView::default(), |row| LogView {
            seq: row.seq.unwrap_or(0.0) as u64,
            oldest_kept: row.oldest.map(|v| v as u64),
            bytes_after_since: row.bytes.unwrap_or(0.0) as u64,
        }))
    }

    /// The stored frames of every event after `since`, in order.
    pub fn events_after(&self, since: u64) -> RoomResult<Vec<String>> {
        let rows: Vec<FrameRow> = self
            .sql
            .exec(
                "SELECT frame FROM room_events WHERE seq > ? ORDER BY seq",
                vec![int(since as i64)],
            )?
            .to_array()?;
        Ok(rows.into_iter().map(|row| row.frame).collect())
    }

    /// Sets where the log stands in the change log (a board that has just counted its
    /// workspace starts from there).
    pub fn set_cursor<C: LogCursor>(&self, cursor: C) -> RoomResult<()> {
        self.sql.exec(
            "UPDATE room_state SET change_cursor = ? WHERE id = 1",
            vec![int(cursor.raw())],
        )?;
        Ok(())
    }

    /// Stores what [`hero_core::room::on_committed`] decided: the new events, the new
    /// position, and the log trimmed to its size.
    pub fn append(&self, plan: &StoredAppend) -> RoomResult<()> {
        for (seq, frame) in &plan.events {
            self.sql.exec(
                "INSERT INTO room_events (seq, frame) VALUES (?, ?)",
                vec![int(*seq as i64), frame.clone().into()],
            )?;
        }
        self.sql.exec(
            "UPDATE room_state SET seq = ?, change_cursor = ? WHERE id = 1",
            vec![int(plan.seq as i64), int(plan.cursor)],
        )?;
        self.sql.exec(
            "DELETE FROM room_events WHERE seq <= ?",
            vec![int(plan.trim_through as i64)],
        )?;
        if let Some(version) = plan.last_version {
            self.sql.exec(
                "INSERT INTO room_task (id, log_version) VALUES (1, ?) \
                 ON CONFLICT (id) DO UPDATE SET log_version = excluded.log_version",
                vec![int(version)],
            )?;
        }
        Ok(())
    }

    /// Board only: a deleted task's earlier events stay in the log (their `seq`s stay
    /// contiguous) but no longer carry its fields: each becomes `task_redacted`.
    pub fn redact_task(&self, task_id: &TaskId) -> RoomResult<usize> {
        let rows: Vec<EventRow> = self
            .sql
            .exec(
                "SELECT seq, frame FROM room_events WHERE instr(frame, ?) > 0",
                vec![task_id.as_str().into()],
            )?
            .to_array()?;
        let mut redacted = 0;
        for row in rows {
            let Ok(event) = serde_json::from_str::<ServerMessage>(&row.frame) else {
                continue;
            };
            if event.task_id() != Some(task_id.as_str()) || event.is_redaction() {
                continue;
            }
            let Some(stub) = event.redacted() else {
                continue;
            };
            self.sql.exec(
                "UPDATE room_events SET frame = ? WHERE seq = ?",
                vec![stub.to_json().into(), int(row.seq as i64)],
            )?;
            redacted += 1;
        }
        Ok(redacted)
    }
}

#[derive(Deserialize)]
struct StateRow {
    seq: f64,
    change_cursor: f64,
}

#[derive(Deserialize)]
struct RoomRow {
    room: String,
}

#[derive(Deserialize)]
struct ViewRow {
    seq: Option<f64>,
    oldest: Option<f64>,
    bytes: Option<f64>,
}

#[derive(Deserialize)]
struct FrameRow {
    frame: String,
}

#[derive(Deserialize)]
struct EventRow {
    seq: f64,
    frame: String,
}
