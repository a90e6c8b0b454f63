//! The room's own SQLite: its identity, its place in the change log, the event log it
//! replays from, and the departures whose grace period is running.
//!
//! Everything a room must not forget lives here, so eviction or hibernation loses nothing.

use serde::Deserialize;
use worker::{Result, SqlStorage, SqlStorageValue};

use hero_core::room::{AppendPlan, Departure, LogPosition, RoomKey};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS room_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    room          TEXT    NOT NULL,            -- RoomKey as JSON
    seq           INTEGER NOT NULL DEFAULT 0,  -- last durable event's seq
    change_cursor INTEGER NOT NULL DEFAULT 0   -- last D1 task_changes.id applied
);
CREATE TABLE IF NOT EXISTS room_events (
    seq   INTEGER PRIMARY KEY,                 -- the event's seq
    frame TEXT    NOT NULL                     -- the JSON frame, sent as-is on replay
);
CREATE TABLE IF NOT EXISTS room_departures (
    user_id TEXT    PRIMARY KEY,
    due_ms  INTEGER NOT NULL                   -- when user_left goes out unless they return
);";

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
struct OldestRow {
    oldest: Option<f64>,
}

#[derive(Deserialize)]
struct FrameRow {
    frame: String,
}

#[derive(Deserialize)]
struct DepartureRow {
    user_id: String,
    due_ms: f64,
}

fn int(value: i64) -> SqlStorageValue {
    SqlStorageValue::from(value)
}

/// The room's SQLite, with one method per thing it stores.
pub struct RoomStorage {
    sql: SqlStorage,
}

impl RoomStorage {
    /// Opens the storage and creates its tables if this is the room's first life.
    pub fn open(sql: SqlStorage) -> Self {
        if let Err(error) = sql.exec(SCHEMA, None) {
            tracing::error!(cause = %error, "room schema");
        }
        RoomStorage { sql }
    }

    /// Records which room this object is, the first time it hears.
    pub fn remember(&self, key: &RoomKey) -> Result<()> {
        let key_json =
            serde_json::to_string(key).map_err(|e| worker::Error::RustError(e.to_string()))?;
        self.sql.exec(
            "INSERT OR IGNORE INTO room_state (id, room) VALUES (1, ?)",
            vec![key_json.into()],
        )?;
        Ok(())
    }

    /// Which room this is, once it has been told.
    pub fn key(&self) -> Option<RoomKey> {
        let rows: Vec<RoomRow> = self
            .sql
            .exec("SELECT room FROM room_state WHERE id = 1", None)
            .and_then(|cursor| cursor.to_array())
            .unwrap_or_default();
        rows.first()
            .and_then(|row| serde_json::from_str(&row.room).ok())
    }

    pub fn position(&self) -> Result<LogPosition> {
        let rows: Vec<StateRow> = self
            .sql
            .exec(
                "SELECT seq, change_cursor FROM room_state WHERE id = 1",
                None,
            )?
            .to_array()?;
        Ok(rows
            .first()
            .map_or(LogPosition::default(), |r| LogPosition {
                seq: r.seq as u64,
                change_cursor: r.change_cursor as i64,
            }))
    }

    /// The lowest `seq` still in the log, if any.
    pub fn oldest_kept(&self) -> Result<Option<u64>> {
        let rows: Vec<OldestRow> = self
            .sql
            .exec("SELECT MIN(seq) AS oldest FROM room_events", None)?
            .to_array()?;
        Ok(rows.first().and_then(|r| r.oldest).map(|v| v as u64))
    }

    /// The stored frames of every event after `since`, in order.
    pub fn events_after(&self, since: u64) -> Result<Vec<String>> {
        let rows: Vec<FrameRow> = self
            .sql
            .exec(
                "SELECT frame FROM room_events WHERE seq > ? ORDER BY seq",
                vec![int(since as i64)],
            )?
            .to_array()?;
        Ok(rows.into_iter().map(|row| row.frame).collect())
    }

    /// Stores what [`hero_core::room::plan_append`] decided: the new events, the new
    /// position, and the log trimmed to its size.
    pub fn append(&self, plan: &AppendPlan) -> Result<()> {
        for (seq, frame) in &plan.events {
            self.sql.exec(
                "INSERT INTO room_events (seq, frame) VALUES (?, ?)",
                vec![int(*seq as i64), frame.clone().into()],
            )?;
        }
        self.sql.exec(
            "UPDATE room_state SET seq = ?, change_cursor = ? WHERE id = 1",
            vec![
                int(plan.position.seq as i64),
                int(plan.position.change_cursor),
            ],
        )?;
        self.sql.exec(
            "DELETE FROM room_events WHERE seq <= ?",
            vec![int(plan.trim_through as i64)],
        )?;
        Ok(())
    }

    /// Every pending departure.
    pub fn departures(&self) -> Result<Vec<Departure>> {
        self.read_departures("SELECT user_id, due_ms FROM room_departures", None)
    }

    /// The pending departure of one user, if any (a join needs no one else's).
    pub fn departure_of(&self, user_id: &str) -> Result<Vec<Departure>> {
        self.read_departures(
            "SELECT user_id, due_ms FROM room_departures WHERE user_id = ?",
            Some(vec![user_id.into()]),
        )
    }

    fn read_departures(
        &self,
        query: &str,
        bindings: Option<Vec<SqlStorageValue>>,
    ) -> Result<Vec<Departure>> {
        let rows: Vec<DepartureRow> = self.sql.exec(query, bindings)?.to_array()?;
        Ok(rows
            .into_iter()
            .map(|r| Departure {
                user_id: r.user_id,
                due_ms: r.due_ms as i64,
            })
            .collect())
    }

    /// Replaces every pending departure with `departures`.
    pub fn save_departures(&self, departures: &[Departure]) -> Result<()> {
        self.sql.exec("DELETE FROM room_departures", None)?;
        self.insert_departures(departures.iter())
    }

    /// Stores `departures` for `user_id` alone, leaving everyone else's as they are.
    pub fn save_departure_of(&self, user_id: &str, departures: &[Departure]) -> Result<()> {
        self.sql.exec(
            "DELETE FROM room_departures WHERE user_id = ?",
            vec![user_id.into()],
        )?;
        self.insert_departures(departures.iter().filter(|d| d.user_id == user_id))
    }

    fn insert_departures<'a>(&self, departures: impl Iterator<Item = &'a Departure>) -> Result<()> {
        for departure in departures {
            self.sql.exec(
                "INSERT INTO room_departures (user_id, due_ms) VALUES (?, ?)",
                vec![departure.user_id.clone().into(), int(departure.due_ms)],
            )?;
        }
        Ok(())
    }
}
