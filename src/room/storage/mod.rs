//! The room's own SQLite: its identity, its place in the change log, the event log it
//! replays from, who is in the room (presence, departures in their grace period, connects),
//! a task room's copy of its task, and (on a board) its counts and who is in each task's
//! room. One file per thing stored; every method is one or a few bound statements.
//!
//! Everything a room must not forget lives here, so eviction or hibernation loses nothing.

mod board;
mod log;
mod people;
mod task;

use serde::de::DeserializeOwned;
use worker::{Result, SqlStorage, SqlStorageValue};

pub use task::KnownTask;

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
);
-- A task room: the task as the room last committed or loaded it. No row: not loaded yet.
CREATE TABLE IF NOT EXISTS room_task (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    state       TEXT    NOT NULL DEFAULT 'unknown'
                CHECK (state IN ('unknown', 'current', 'gone')),
    task        TEXT,                          -- the Task as JSON while 'current'
    log_version INTEGER NOT NULL DEFAULT 0     -- the version of the last change in the log
);
-- A board: whether it has counted its workspace (its room_state.change_cursor is then a
-- ws_seq), and the UTC day of the analytics it last sent.
CREATE TABLE IF NOT EXISTS board_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    analytics_day INTEGER NOT NULL DEFAULT 0
);
-- A board's compact copy of its workspace: the facts it counts, per task...
CREATE TABLE IF NOT EXISTS board_tasks (
    task_id TEXT PRIMARY KEY,
    facts   TEXT NOT NULL                      -- TaskFacts as JSON
);
-- ...and the counters, one per bucket (status:todo, due:2026-01-02, ...).
CREATE TABLE IF NOT EXISTS board_counts (
    bucket TEXT    PRIMARY KEY,
    n      INTEGER NOT NULL
);
-- The room's presence list, one entry per user present, kept as connections come and go,
-- so a join reads the list instead of every socket's attachment.
CREATE TABLE IF NOT EXISTS room_presence (
    user_id TEXT PRIMARY KEY,
    entry   TEXT NOT NULL                      -- PresenceEntry as JSON
);
-- Presence changes a busy room holds back, and when they are due out.
CREATE TABLE IF NOT EXISTS room_presence_pending (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    pending TEXT    NOT NULL,                  -- PendingPresence as JSON
    due_ms  INTEGER NOT NULL
);
-- A task room: the users the board was last told are here (user_joined and user_left
-- keep it, so the grace period holds there too), one row per user so that a join into a
-- full room writes one row.
CREATE TABLE IF NOT EXISTS room_viewer_users (
    user_id TEXT PRIMARY KEY,
    user    TEXT NOT NULL                      -- UserInfo as JSON
);
-- The same set as rooms before room_viewer_users kept it, as one JSON array: moved into
-- room_viewer_users the first time such a room opens, and empty ever after.
CREATE TABLE IF NOT EXISTS room_viewers (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    users TEXT    NOT NULL                     -- [UserInfo] as JSON
);
INSERT OR IGNORE INTO room_viewer_users (user_id, user)
    SELECT json_extract(viewer.value, '$.id'), viewer.value
    FROM room_viewers, json_each(room_viewers.users) AS viewer;
DELETE FROM room_viewers;
-- A board: who is in each task's room, as that room last reported it.
CREATE TABLE IF NOT EXISTS board_task_presence (
    task_id TEXT    PRIMARY KEY,
    users   TEXT    NOT NULL,                  -- [UserInfo] as JSON, never empty
    at_ms   INTEGER NOT NULL                   -- the report's time: older ones are ignored
);
-- Each user's connects in the current minute (ROOM_CONNECTS_PER_MINUTE).
CREATE TABLE IF NOT EXISTS room_connects (
    user_id  TEXT    PRIMARY KEY,
    start_ms INTEGER NOT NULL,
    count    INTEGER NOT NULL
);";

fn storage_error(error: impl std::fmt::Display) -> worker::Error {
    worker::Error::RustError(error.to_string())
}

fn int(value: i64) -> SqlStorageValue {
    SqlStorageValue::from(value)
}

/// The room's SQLite, with one method per thing it stores.
#[derive(Clone)]
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

    /// The first row a statement returns, if any: for the statements that read one row.
    fn first_row<T: DeserializeOwned>(
        &self,
        query: &str,
        bindings: impl Into<Option<Vec<SqlStorageValue>>>,
    ) -> Result<Option<T>> {
        let rows: Vec<T> = self.sql.exec(query, bindings)?.to_array()?;
        Ok(rows.into_iter().next())
    }
}
