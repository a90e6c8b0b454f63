//! The room's own SQLite: its identity, its place in the change log, the event log it
//! replays from, the departures whose grace period is running, presence, and (on a board)
//! its counts and who is in each task's room.
//!
//! Everything a room must not forget lives here, so eviction or hibernation loses nothing.

use std::collections::BTreeMap;

use serde::Deserialize;
use worker::{Result, SqlStorage, SqlStorageValue};

use hero_core::analytics::{Bucket, TaskFacts};
use hero_core::protocol::{PresenceEntry, ServerMessage, UserInfo};
use hero_core::room::{
    AppendPlan, ConnectWindow, Departure, LogPosition, PendingPresence, RoomKey, TaskViewers,
    ViewerChange,
};
use hero_core::task::{Task, TaskId};

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
struct TaskStateRow {
    state: String,
    task: Option<String>,
    log_version: f64,
}

#[derive(Deserialize)]
struct FactsRow {
    facts: String,
}

#[derive(Deserialize)]
struct CountRow {
    bucket: String,
    n: f64,
}

#[derive(Deserialize)]
struct UserIdRow {
    #[allow(dead_code)] // only counted: the rows a change touched
    user_id: String,
}

#[derive(Deserialize)]
struct AtRow {
    at_ms: f64,
}

#[derive(Deserialize)]
struct TaskUsersRow {
    task_id: String,
    users: String,
}

#[derive(Deserialize)]
struct ListRow {
    list: String,
}

#[derive(Deserialize)]
struct PendingRow {
    pending: String,
    due_ms: f64,
}

#[derive(Deserialize)]
struct WindowRow {
    start_ms: f64,
    count: f64,
}

#[derive(Deserialize)]
struct EventRow {
    seq: f64,
    frame: String,
}

#[derive(Deserialize)]
struct DayRow {
    analytics_day: f64,
}

/// What a task room knows of its task.
#[derive(Debug, Clone, PartialEq)]
pub enum KnownTask {
    /// Not loaded from D1 yet (a new room, or one that found its copy stale).
    Unknown,
    /// Deleted: the room answers 404 without asking D1 again.
    Gone,
    Current(Box<Task>),
}

fn storage_error(error: impl std::fmt::Display) -> worker::Error {
    worker::Error::RustError(error.to_string())
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

    /// Sets where the log stands in the change log (a board that has just counted its
    /// workspace starts from there).
    pub fn set_change_cursor(&self, cursor: i64) -> Result<()> {
        self.sql.exec(
            "UPDATE room_state SET change_cursor = ? WHERE id = 1",
            vec![int(cursor)],
        )?;
        Ok(())
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
        if let Some(version) = plan.last_version {
            self.sql.exec(
                "INSERT INTO room_task (id, log_version) VALUES (1, ?) \
                 ON CONFLICT (id) DO UPDATE SET log_version = excluded.log_version",
                vec![int(version)],
            )?;
        }
        Ok(())
    }

    /// What this task room knows of its task, and the version of the last change in its log.
    pub fn task(&self) -> Result<(KnownTask, i64)> {
        let rows: Vec<TaskStateRow> = self
            .sql
            .exec(
                "SELECT state, task, log_version FROM room_task WHERE id = 1",
                None,
            )?
            .to_array()?;
        let Some(row) = rows.into_iter().next() else {
            return Ok((KnownTask::Unknown, 0));
        };
        let known = match (row.state.as_str(), row.task.as_deref()) {
            ("current", Some(json)) => {
                KnownTask::Current(Box::new(serde_json::from_str(json).map_err(storage_error)?))
            }
            ("gone", _) => KnownTask::Gone,
            _ => KnownTask::Unknown,
        };
        Ok((known, row.log_version as i64))
    }

    /// Remembers the task as it is now (`None`: deleted).
    pub fn save_task(&self, task: Option<&Task>) -> Result<()> {
        let (state, json) = match task {
            Some(task) => (
                "current",
                serde_json::to_string(task).map_err(storage_error)?.into(),
            ),
            None => ("gone", SqlStorageValue::Null),
        };
        self.sql.exec(
            "INSERT INTO room_task (id, state, task) VALUES (1, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, task = excluded.task",
            vec![state.into(), json],
        )?;
        Ok(())
    }

    /// Forgets the task, so the next write loads it from D1 again.
    pub fn forget_task(&self) -> Result<()> {
        self.sql.exec(
            "UPDATE room_task SET state = 'unknown', task = NULL WHERE id = 1",
            None,
        )?;
        Ok(())
    }

    /// Whether this board has counted its workspace.
    pub fn board_counted(&self) -> Result<bool> {
        let rows: Vec<DayRow> = self
            .sql
            .exec("SELECT analytics_day FROM board_state WHERE id = 1", None)?
            .to_array()?;
        Ok(!rows.is_empty())
    }

    pub fn mark_board_counted(&self) -> Result<()> {
        self.sql.exec(
            "INSERT OR IGNORE INTO board_state (id, analytics_day) VALUES (1, 0)",
            None,
        )?;
        Ok(())
    }

    /// The UTC day (days since the epoch) of the analytics the board last sent.
    pub fn analytics_day(&self) -> Result<i64> {
        let rows: Vec<DayRow> = self
            .sql
            .exec("SELECT analytics_day FROM board_state WHERE id = 1", None)?
            .to_array()?;
        Ok(rows.first().map_or(0, |row| row.analytics_day as i64))
    }

    pub fn set_analytics_day(&self, day: i64) -> Result<()> {
        self.sql.exec(
            "UPDATE board_state SET analytics_day = ? WHERE id = 1",
            vec![int(day)],
        )?;
        Ok(())
    }

    /// The facts the board holds for one task, if it holds the task.
    pub fn board_facts(&self, task_id: &TaskId) -> Result<Option<TaskFacts>> {
        let rows: Vec<FactsRow> = self
            .sql
            .exec(
                "SELECT facts FROM board_tasks WHERE task_id = ?",
                vec![task_id.as_str().into()],
            )?
            .to_array()?;
        rows.first()
            .map(|row| serde_json::from_str(&row.facts).map_err(storage_error))
            .transpose()
    }

    /// Records a task's facts (`None`: gone) and moves the counters by `deltas`.
    pub fn count_board_task(
        &self,
        task_id: &TaskId,
        facts: Option<&TaskFacts>,
        deltas: &[(Bucket, i64)],
    ) -> Result<()> {
        match facts {
            Some(facts) => {
                let json = serde_json::to_string(facts).map_err(storage_error)?;
                self.sql.exec(
                    "INSERT INTO board_tasks (task_id, facts) VALUES (?, ?) \
                     ON CONFLICT (task_id) DO UPDATE SET facts = excluded.facts",
                    vec![task_id.as_str().into(), json.into()],
                )?;
            }
            None => {
                self.sql.exec(
                    "DELETE FROM board_tasks WHERE task_id = ?",
                    vec![task_id.as_str().into()],
                )?;
            }
        }
        for (bucket, delta) in deltas {
            self.sql.exec(
                "INSERT INTO board_counts (bucket, n) VALUES (?, ?) \
                 ON CONFLICT (bucket) DO UPDATE SET n = n + excluded.n",
                vec![bucket.key().into(), int(*delta)],
            )?;
        }
        self.sql
            .exec("DELETE FROM board_counts WHERE n = 0", None)?;
        Ok(())
    }

    /// The room's presence list, sorted by user id. Every join reads it whole, so SQLite
    /// hands it over as one JSON array: one row across the JS boundary instead of one per
    /// user (which made a join into a full room cost O(users) conversions).
    pub fn presence(&self) -> Result<Vec<PresenceEntry>> {
        let rows: Vec<ListRow> = self
            .sql
            .exec(
                // Each entry is JSON this room wrote, so joining them makes an array
                // without SQLite re-parsing any (json_group_array(json(…)) would).
                "SELECT '[' || COALESCE(group_concat(entry, ','), '') || ']' AS list \
                 FROM room_presence",
                None,
            )?
            .to_array()?;
        let mut entries: Vec<PresenceEntry> = match rows.first() {
            Some(row) => serde_json::from_str(&row.list).map_err(storage_error)?,
            None => Vec::new(),
        };
        // An aggregate's order is SQLite's choice; the list's is ours.
        entries.sort_by(|a, b| a.user.id.cmp(&b.user.id));
        Ok(entries)
    }

    /// Records one user's entry (`None`: they are gone).
    pub fn set_presence(&self, user_id: &str, entry: Option<&PresenceEntry>) -> Result<()> {
        match entry {
            Some(entry) => {
                let json = serde_json::to_string(entry).map_err(storage_error)?;
                self.sql.exec(
                    "INSERT INTO room_presence (user_id, entry) VALUES (?, ?) \
                     ON CONFLICT (user_id) DO UPDATE SET entry = excluded.entry",
                    vec![user_id.into(), json.into()],
                )?;
            }
            None => {
                self.sql.exec(
                    "DELETE FROM room_presence WHERE user_id = ?",
                    vec![user_id.into()],
                )?;
            }
        }
        Ok(())
    }

    /// Replaces the whole list (one that [`hero_core::room::reconcile`] rebuilt).
    pub fn replace_presence(&self, entries: &[PresenceEntry]) -> Result<()> {
        self.sql.exec("DELETE FROM room_presence", None)?;
        for entry in entries {
            self.set_presence(&entry.user.id, Some(entry))?;
        }
        Ok(())
    }

    pub fn clear_presence(&self) -> Result<()> {
        self.sql.exec("DELETE FROM room_presence", None)?;
        self.sql.exec("DELETE FROM room_presence_pending", None)?;
        self.sql.exec("DELETE FROM room_viewer_users", None)?;
        Ok(())
    }

    /// A task room: the users the board was last told of, sorted by user id.
    pub fn viewers(&self) -> Result<Vec<UserInfo>> {
        let rows: Vec<ListRow> = self
            .sql
            .exec(
                "SELECT '[' || COALESCE(group_concat(user, ','), '') || ']' AS list \
                 FROM room_viewer_users",
                None,
            )?
            .to_array()?;
        let mut users: Vec<UserInfo> = match rows.first() {
            Some(row) => serde_json::from_str(&row.list).map_err(storage_error)?,
            None => Vec::new(),
        };
        users.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(users)
    }

    /// A task room: applies who came and went to the set the board was last told of, a row
    /// each. Whether the set changed: someone it already had coming, or someone it never
    /// had going, changes nothing.
    pub fn change_viewers(&self, changes: &[ViewerChange]) -> Result<bool> {
        let mut changed = false;
        for change in changes {
            let touched: Vec<UserIdRow> = match change {
                ViewerChange::Came(user) => {
                    let json = serde_json::to_string(user).map_err(storage_error)?;
                    self.sql.exec(
                        "INSERT INTO room_viewer_users (user_id, user) VALUES (?, ?) \
                         ON CONFLICT (user_id) DO NOTHING RETURNING user_id",
                        vec![user.id.as_str().into(), json.into()],
                    )?
                }
                ViewerChange::Went(user_id) => self.sql.exec(
                    "DELETE FROM room_viewer_users WHERE user_id = ? RETURNING user_id",
                    vec![user_id.as_str().into()],
                )?,
            }
            .to_array()?;
            changed |= !touched.is_empty();
        }
        Ok(changed)
    }

    /// A board: takes a task room's report unless a newer one is already in. `false` when
    /// it was older (and changed nothing).
    pub fn take_task_viewers(&self, report: &TaskViewers) -> Result<bool> {
        let task_id = report.task_id.as_str();
        let rows: Vec<AtRow> = self
            .sql
            .exec(
                "SELECT at_ms FROM board_task_presence WHERE task_id = ?",
                vec![task_id.into()],
            )?
            .to_array()?;
        if rows
            .first()
            .is_some_and(|row| row.at_ms as i64 > report.at_ms)
        {
            return Ok(false);
        }
        if report.users.is_empty() {
            self.forget_task_viewers(&report.task_id)?;
        } else {
            let json = serde_json::to_string(&report.users).map_err(storage_error)?;
            self.sql.exec(
                "INSERT INTO board_task_presence (task_id, users, at_ms) VALUES (?, ?, ?) \
                 ON CONFLICT (task_id) DO UPDATE SET users = excluded.users, \
                 at_ms = excluded.at_ms",
                vec![task_id.into(), json.into(), int(report.at_ms)],
            )?;
        }
        Ok(true)
    }

    /// A board: a deleted task has nobody in its room.
    pub fn forget_task_viewers(&self, task_id: &TaskId) -> Result<()> {
        self.sql.exec(
            "DELETE FROM board_task_presence WHERE task_id = ?",
            vec![task_id.as_str().into()],
        )?;
        Ok(())
    }

    /// A board: who is in each task's room, for a welcome.
    pub fn task_viewers(&self) -> Result<BTreeMap<String, Vec<UserInfo>>> {
        let rows: Vec<TaskUsersRow> = self
            .sql
            .exec("SELECT task_id, users FROM board_task_presence", None)?
            .to_array()?;
        rows.into_iter()
            .map(|row| {
                let users = serde_json::from_str(&row.users).map_err(storage_error)?;
                Ok((row.task_id, users))
            })
            .collect()
    }

    /// Presence changes held back, and when they are due.
    pub fn pending_presence(&self) -> Result<Option<(PendingPresence, i64)>> {
        let rows: Vec<PendingRow> = self
            .sql
            .exec(
                "SELECT pending, due_ms FROM room_presence_pending WHERE id = 1",
                None,
            )?
            .to_array()?;
        rows.first()
            .map(|row| {
                let pending = serde_json::from_str(&row.pending).map_err(storage_error)?;
                Ok((pending, row.due_ms as i64))
            })
            .transpose()
    }

    pub fn save_pending_presence(&self, pending: Option<(&PendingPresence, i64)>) -> Result<()> {
        match pending {
            Some((pending, due_ms)) => {
                let json = serde_json::to_string(pending).map_err(storage_error)?;
                self.sql.exec(
                    "INSERT INTO room_presence_pending (id, pending, due_ms) VALUES (1, ?, ?) \
                     ON CONFLICT (id) DO UPDATE SET pending = excluded.pending, due_ms = excluded.due_ms",
                    vec![json.into(), int(due_ms)],
                )?;
            }
            None => {
                self.sql.exec("DELETE FROM room_presence_pending", None)?;
            }
        }
        Ok(())
    }

    /// A user's connects in the current minute, if any were counted.
    pub fn connect_window(&self, user_id: &str) -> Result<Option<ConnectWindow>> {
        let rows: Vec<WindowRow> = self
            .sql
            .exec(
                "SELECT start_ms, count FROM room_connects WHERE user_id = ?",
                vec![user_id.into()],
            )?
            .to_array()?;
        Ok(rows.first().map(|row| ConnectWindow {
            start_ms: row.start_ms as i64,
            count: row.count as u32,
        }))
    }

    pub fn save_connect_window(&self, user_id: &str, window: ConnectWindow) -> Result<()> {
        self.sql.exec(
            "INSERT INTO room_connects (user_id, start_ms, count) VALUES (?, ?, ?) \
             ON CONFLICT (user_id) DO UPDATE SET start_ms = excluded.start_ms, count = excluded.count",
            vec![user_id.into(), int(window.start_ms), int(i64::from(window.count))],
        )?;
        // Windows more than a minute old say nothing any more.
        self.sql.exec(
            "DELETE FROM room_connects WHERE start_ms < ?",
            vec![int(window.start_ms - 60_000)],
        )?;
        Ok(())
    }

    /// Board only: a deleted task's earlier events stay in the log (their `seq`s stay
    /// contiguous) but no longer carry its fields: each becomes `task_redacted`.
    pub fn redact_task(&self, task_id: &TaskId) -> Result<usize> {
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

    /// Every counter the board keeps.
    pub fn board_counts(&self) -> Result<Vec<(Bucket, u64)>> {
        let rows: Vec<CountRow> = self
            .sql
            .exec("SELECT bucket, n FROM board_counts", None)?
            .to_array()?;
        Ok(rows
            .into_iter()
            .filter_map(|row| Some((Bucket::parse(&row.bucket)?, row.n.max(0.0) as u64)))
            .collect())
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
