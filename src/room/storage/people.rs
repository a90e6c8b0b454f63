//! Who is in the room: the presence list, a held-back presence diff, the departures whose
//! grace period is running, each user's connects this minute, and (a task room) the users
//! it last reported to its board.

use crate::room::error::RoomResult;
use serde::Deserialize;
use worker::SqlStorageValue;

use super::{int, RoomStorage};
use hero_core::protocol::{PresenceEntry, UserInfo};
use hero_core::room::{ConnectWindow, Departure, PendingPresence, ViewerChange};

impl RoomStorage {
    /// The room's presence list, sorted by user id. Every join reads it whole, so SQLite
    /// hands it over as one JSON array: one row across the JS boundary instead of one per
    /// user (which made a join into a full room cost O(users) conversions).
    pub fn presence(&self) -> RoomResult<Vec<PresenceEntry>> {
        let row: Option<ListRow> = self.first_row(
            // Each entry is JSON this room wrote, so joining them makes an array
            // without SQLite re-parsing any (json_group_array(json(…)) would).
            "SELECT '[' || COALESCE(group_concat(entry, ','), '') || ']' AS list \
                 FROM room_presence",
            None,
        )?;
        let mut entries: Vec<PresenceEntry> = match row.as_ref() {
            Some(row) => serde_json::from_str(&row.list)?,
            None => Vec::new(),
        };
        // An aggregate's order is SQLite's choice; the list's is ours.
        entries.sort_by(|a, b| a.user.id.cmp(&b.user.id));
        Ok(entries)
    }

    /// Records one user's entry (`None`: they are gone).
    pub fn set_presence(&self, user_id: &str, entry: Option<&PresenceEntry>) -> RoomResult<()> {
        match entry {
            Some(entry) => {
                let json = serde_json::to_string(entry)?;
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
    pub fn replace_presence(&self, entries: &[PresenceEntry]) -> RoomResult<()> {
        self.sql.exec("DELETE FROM room_presence", None)?;
        for entry in entries {
            self.set_presence(&entry.user.id, Some(entry))?;
        }
        Ok(())
    }

    pub fn clear_presence(&self) -> RoomResult<()> {
        self.sql.exec("DELETE FROM room_presence", None)?;
        self.sql.exec("DELETE FROM room_presence_pending", None)?;
        self.sql.exec("DELETE FROM room_viewer_users", None)?;
        Ok(())
    }

    /// A task room: the users the board was last told of, sorted by user id.
    pub fn viewers(&self) -> RoomResult<Vec<UserInfo>> {
        let row: Option<ListRow> = self.first_row(
            "SELECT '[' || COALESCE(group_concat(user, ','), '') || ']' AS list \
                 FROM room_viewer_users",
            None,
        )?;
        let mut users: Vec<UserInfo> = match row.as_ref() {
            Some(row) => serde_json::from_str(&row.list)?,
            None => Vec::new(),
        };
        users.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(users)
    }

    /// A task room: applies who came and went to the set the board was last told of, a row
    /// each. Whether the set changed: someone it already had coming, or someone it never
    /// had going, changes nothing.
    pub fn change_viewers(&self, changes: &[ViewerChange]) -> RoomResult<bool> {
        let mut changed = false;
        for change in changes {
            let touched: Vec<UserIdRow> = match change {
                ViewerChange::Came(user) => {
                    let json = serde_json::to_string(user)?;
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

    /// Presence changes held back, and when they are due.
    pub fn pending_presence(&self) -> RoomResult<Option<(PendingPresence, i64)>> {
        let row: Option<PendingRow> = self.first_row(
            "SELECT pending, due_ms FROM room_presence_pending WHERE id = 1",
            None,
        )?;
        row.as_ref()
            .map(|row| {
                let pending = serde_json::from_str(&row.pending)?;
                Ok((pending, row.due_ms as i64))
            })
            .transpose()
    }

    pub fn save_pending_presence(
        &self,
        pending: Option<(&PendingPresence, i64)>,
    ) -> RoomResult<()> {
        match pending {
            Some((pending, due_ms)) => {
                let json = serde_json::to_string(pending)?;
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

    /// Every pending departure.
    pub fn departures(&self) -> RoomResult<Vec<Departure>> {
        self.read_departures("SELECT user_id, due_ms FROM room_departures", None)
    }

    /// The pending departure of one user, if any (a join needs no one else's).
    pub fn departure_of(&self, user_id: &str) -> RoomResult<Option<Departure>> {
        let mut theirs = self.read_departures(
            "SELECT user_id, due_ms FROM room_departures WHERE user_id = ?",
            Some(vec![user_id.into()]),
        )?;
        Ok(theirs.pop())
    }

    fn read_departures(
        &self,
        query: &str,
        bindings: Option<Vec<SqlStorageValue>>,
    ) -> RoomResult<Vec<Departure>> {
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
    pub fn save_departures(&self, departures: &[Departure]) -> RoomResult<()> {
        self.sql.exec("DELETE FROM room_departures", None)?;
        self.insert_departures(departures.iter())
    }

    /// Sets or cancels one user's departure, leaving everyone else's as they are.
    pub fn save_departure_of(
        &self,
        user_id: &str,
        departure: Option<&Departure>,
    ) -> RoomResult<()> {
        self.sql.exec(
            "DELETE FROM room_departures WHERE user_id = ?",
            vec![user_id.into()],
        )?;
        self.insert_departures(departure.into_iter().filter(|d| d.user_id == user_id))
    }

    fn insert_departures<'a>(
        &self,
        departures: impl Iterator<Item = &'a Departure>,
    ) -> RoomResult<()> {
        for departure in departures {
            self.sql.exec(
                "INSERT INTO room_departures (user_id, due_ms) VALUES (?, ?)",
                vec![departure.user_id.clone().into(), int(departure.due_ms)],
            )?;
        }
        Ok(())
    }

    /// A user's connects in the current minute, if any were counted.
    pub fn connect_window(&self, user_id: &str) -> RoomResult<Option<ConnectWindow>> {
        let row: Option<WindowRow> = self.first_row(
            "SELECT start_ms, count FROM room_connects WHERE user_id = ?",
            vec![user_id.into()],
        )?;
        Ok(row.as_ref().map(|row| ConnectWindow {
            start_ms: row.start_ms as i64,
            count: row.count as u32,
        }))
    }

    pub fn save_connect_window(&self, user_id: &str, window: ConnectWindow) -> RoomResult<()> {
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
}

#[derive(Deserialize)]
struct UserIdRow {
    #[allow(dead_code)] // only counted: the rows a change touched
    user_id: String,
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
struct DepartureRow {
    user_id: String,
    due_ms: f64,
}

#[derive(Deserialize)]
struct ListRow {
    list: String,
}
