//! The room's own SQLite: its identity, its place in the change log, the event log it
//! replays from, who is in the room (presence, departures in their grace period, connects),
//! a task room's copy of its task, and (on a board) its counts and who is in each task's
//! room. One file per thing stored; every method is one or a few bound statements.
//!
//! Everything a room must not forget lives here, so eviction or hibernation loses nothing.

mod board;
mod doc;
mod log;
mod people;
mod task;

use std::cell::RefCell;
use std::rc::Rc;

use crate::room::error::RoomResult;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use worker::{SqlStorage, SqlStorageValue};

pub use task::KnownTask;

use hero_core::doc::flush::Unsaved;
use hero_core::room::StorageWrite;

/// The room's schema, one migration per version, each applied once: `room_schema` holds the
/// version a room is at. A migration that has shipped is never edited; a change is the next
/// one. (Rooms from before the version was kept have version 0 and every table of
/// migration 1 already, which is why it says IF NOT EXISTS.)
const MIGRATIONS: &[&str] = &[
    // 1: the tables.
    "
CREATE TABLE IF NOT EXISTS room_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    room          TEXT    NOT NULL,            -- RoomKey as JSON
    seq           INTEGER NOT NULL DEFAULT 0,  -- last durable event's seq
    change_cursor INTEGER NOT NULL DEFAULT 0   -- the last change applied: a task_changes.id
                                               -- in a task room, a ws_seq on a board
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
-- A board: whether it has counted its workspace, and the UTC day of the analytics it last
-- sent.
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
);",
    // 2: rooms from before room_viewer_users kept the same set as one JSON array in
    // room_viewers: moved over once, and the old table dropped.
    "
CREATE TABLE IF NOT EXISTS room_viewers (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    users TEXT    NOT NULL
);
INSERT OR IGNORE INTO room_viewer_users (user_id, user)
    SELECT json_extract(viewer.value, '$.id'), viewer.value
    FROM room_viewers, json_each(room_viewers.users) AS viewer;
DROP TABLE room_viewers;",
    // 3: a task room's shared description (a Yjs document): a snapshot and the updates since,
    // each editor's awareness state, the edits D1 does not have yet; and, for If-Match, the
    // version of the task's last change that was not a write of the document.
    "
CREATE TABLE doc_snapshot (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    data BLOB    NOT NULL                       -- the whole document, one Yjs update (v1)
);
CREATE TABLE doc_updates (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    data BLOB    NOT NULL                       -- one update, stored before it was relayed
);
CREATE TABLE doc_awareness (
    client_id     INTEGER PRIMARY KEY,          -- a Yjs client id (below 2^53)
    connection_id TEXT    NOT NULL,             -- the document socket that speaks for it
    clock         INTEGER NOT NULL,
    state         TEXT    NOT NULL              -- its JSON state
);
CREATE INDEX doc_awareness_by_connection ON doc_awareness (connection_id);
CREATE TABLE doc_unsaved (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    unsaved TEXT    NOT NULL                    -- Unsaved as JSON: since when, who
);
ALTER TABLE room_task ADD COLUMN field_version INTEGER;",
    // 4: a board remembers the tasks that were deleted, so a task room's report of who is
    // in it, arriving after the delete, cannot put its viewers back.
    "
CREATE TABLE board_deleted_tasks (
    task_id TEXT PRIMARY KEY
);",
];

/// The version a room's schema is at after [`MIGRATIONS`].
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

fn int(value: i64) -> SqlStorageValue {
    SqlStorageValue::from(value)
}

/// The room's SQLite, with one method per thing it stores.
#[derive(Clone)]
pub struct RoomStorage {
    sql: SqlStorage,
    /// The unsaved edits of the shared description as last read or written (`None`: not
    /// read yet), so a keystroke does not read them back ([`RoomStorage::set_unsaved`]).
    /// Shared by every clone: a delivery writes through its own.
    unsaved: Rc<RefCell<Option<Option<Unsaved>>>>,
}

impl RoomStorage {
    /// Opens the storage and brings its schema to [`SCHEMA_VERSION`]: the migrations a room
    /// has not had yet run, once. (Runs in the object's constructor, with no await, so the
    /// migrations and the new version are written together.)
    pub fn open(sql: SqlStorage) -> Self {
        let storage = RoomStorage {
            sql,
            unsaved: Rc::default(),
        };
        if let Err(error) = storage.migrate() {
            tracing::error!(cause = %error, "room schema");
        }
        storage
    }

    fn migrate(&self) -> RoomResult<()> {
        self.sql.exec(
            "CREATE TABLE IF NOT EXISTS room_schema (\
                 id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)",
            None,
        )?;
        let row: Option<VersionRow> =
            self.first_row("SELECT version FROM room_schema WHERE id = 1", None)?;
        let at = row.map_or(0, |row| row.version as usize);
        for migration in MIGRATIONS.iter().skip(at) {
            self.sql.exec(migration, None)?;
        }
        if at < SCHEMA_VERSION {
            self.sql.exec(
                "INSERT INTO room_schema (id, version) VALUES (1, ?) \
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version",
                vec![int(SCHEMA_VERSION as i64)],
            )?;
            tracing::info!(
                event = "migrated",
                from = at,
                to = SCHEMA_VERSION,
                "room event"
            );
        }
        Ok(())
    }

    /// Carries out one storage write a room event decided. (A presence entry computed from
    /// the sockets is the caller's: it reads attachments, which storage cannot.)
    pub fn write(&self, write: &StorageWrite) -> RoomResult<()> {
        match write {
            StorageWrite::Presence { user_id, entry } => self.set_presence(user_id, entry.as_ref()),
            StorageWrite::PresenceFromSockets { user_id } => unreachable_write(user_id),
            StorageWrite::ReplacePresence(entries) => self.replace_presence(entries),
            StorageWrite::DepartureOf { user_id, departure } => {
                self.save_departure_of(user_id, departure.as_ref())
            }
            StorageWrite::Departures(departures) => self.save_departures(departures),
            StorageWrite::ConnectWindow { user_id, window } => {
                self.save_connect_window(user_id, *window)
            }
            StorageWrite::Append(append) => self.append(append),
            StorageWrite::CountTask {
                task_id,
                facts,
                deltas,
            } => self.count_board_task(task_id, facts.as_ref(), deltas),
            StorageWrite::ForgetTask(task_id) => {
                self.redact_task(task_id)?;
                self.forget_deleted_task(task_id)
            }
            StorageWrite::DocUpdate(update) => self.add_doc_update(update),
            StorageWrite::DocSnapshot(snapshot) => self.replace_doc(snapshot),
            StorageWrite::ForgetDoc => self.forget_doc(),
            StorageWrite::Awareness(state) => self.set_awareness(state),
            StorageWrite::AwarenessGone { connection_id } => {
                self.forget_awareness_of(connection_id)
            }
            StorageWrite::Unsaved(unsaved) => self.set_unsaved(unsaved.as_ref()),
        }
    }

    /// The first row a statement returns, if any: for the statements that read one row.
    pub(super) fn first_row<T: DeserializeOwned>(
        &self,
        query: &str,
        bindings: impl Into<Option<Vec<SqlStorageValue>>>,
    ) -> RoomResult<Option<T>> {
        let rows: Vec<T> = self.sql.exec(query, bindings)?.to_array()?;
        Ok(rows.into_iter().next())
    }
}

/// A presence entry computed from sockets reaches storage only through the room, which
/// reads them first.
fn unreachable_write(user_id: &str) -> RoomResult<()> {
    Err(worker::Error::RustError(format!(
        "presence of {user_id} must be computed from the sockets before it is stored"
    ))
    .into())
}

#[derive(Deserialize)]
struct VersionRow {
    version: f64,
}
