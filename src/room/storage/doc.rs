//! A task room's shared description: the document as a snapshot and the updates stored
//! since (each stored before anyone hears of it), every editor's awareness state, and the
//! edits D1 does not have yet.

use serde::Deserialize;
use worker::SqlStorageValue;

use super::{int, RoomStorage};
use crate::room::error::RoomResult;
use hero_core::doc::flush::Unsaved;
use hero_core::room::{AwarenessState, Stored};

/// The document as stored: its snapshot first, then every update since, in order.
pub struct StoredDoc {
    pub parts: Vec<Vec<u8>>,
    pub stored: Stored,
}

impl RoomStorage {
    /// The stored document, or `None` when this room has never made one.
    pub fn doc(&self) -> RoomResult<Option<StoredDoc>> {
        let Some(snapshot) = self
            .blob("SELECT data FROM doc_snapshot WHERE id = 1")?
            .pop()
        else {
            return Ok(None);
        };
        let updates = self.blob("SELECT data FROM doc_updates ORDER BY seq")?;
        let stored = Stored {
            updates: updates.len() as u64,
        };
        let mut parts = vec![snapshot];
        parts.extend(updates);
        Ok(Some(StoredDoc { parts, stored }))
    }

    /// Whether this room has ever made its document.
    pub fn has_doc(&self) -> RoomResult<bool> {
        let row: Option<BytesRow> = self.first_row(
            "SELECT length(data) AS bytes FROM doc_snapshot WHERE id = 1",
            None,
        )?;
        Ok(row.is_some())
    }

    fn blob(&self, query: &str) -> RoomResult<Vec<Vec<u8>>> {
        let mut blobs = Vec::new();
        for row in self.sql.exec(query, None)?.raw() {
            if let Some(SqlStorageValue::Blob(bytes)) = row?.into_iter().next() {
                blobs.push(bytes);
            }
        }
        Ok(blobs)
    }

    pub fn add_doc_update(&self, update: &[u8]) -> RoomResult<()> {
        self.sql.exec(
            "INSERT INTO doc_updates (data) VALUES (?)",
            vec![SqlStorageValue::Blob(update.to_vec())],
        )?;
        Ok(())
    }

    /// The whole document, in place of the snapshot and every update before it.
    pub fn replace_doc(&self, snapshot: &[u8]) -> RoomResult<()> {
        self.sql.exec(
            "INSERT INTO doc_snapshot (id, data) VALUES (1, ?) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            vec![SqlStorageValue::Blob(snapshot.to_vec())],
        )?;
        self.sql.exec("DELETE FROM doc_updates", None)?;
        Ok(())
    }

    pub fn forget_doc(&self) -> RoomResult<()> {
        for statement in [
            "DELETE FROM doc_snapshot",
            "DELETE FROM doc_updates",
            "DELETE FROM doc_awareness",
            "DELETE FROM doc_unsaved",
        ] {
            self.sql.exec(statement, None)?;
        }
        *self.unsaved.borrow_mut() = Some(None);
        Ok(())
    }

    /// How many bytes the stored document takes (snapshot and updates).
    pub fn doc_bytes(&self) -> RoomResult<u64> {
        let row: Option<BytesRow> = self.first_row(
            "SELECT (SELECT COALESCE(SUM(length(data)), 0) FROM doc_snapshot) + \
                    (SELECT COALESCE(SUM(length(data)), 0) FROM doc_updates) AS bytes",
            None,
        )?;
        Ok(row.map_or(0, |r| r.bytes as u64))
    }

    pub fn set_awareness(&self, state: &AwarenessState) -> RoomResult<()> {
        if state.state == "null" {
            self.sql.exec(
                "DELETE FROM doc_awareness WHERE client_id = ?",
                vec![int(state.client_id as i64)],
            )?;
            return Ok(());
        }
        self.sql.exec(
            "INSERT INTO doc_awareness (client_id, connection_id, clock, state) VALUES (?, ?, ?, ?) \
             ON CONFLICT (client_id) DO UPDATE SET connection_id = excluded.connection_id, \
             clock = excluded.clock, state = excluded.state",
            vec![
                int(state.client_id as i64),
                state.connection_id.as_str().into(),
                int(state.clock as i64),
                state.state.as_str().into(),
            ],
        )?;
        Ok(())
    }

    pub fn forget_awareness_of(&self, connection_id: &str) -> RoomResult<()> {
        self.sql.exec(
            "DELETE FROM doc_awareness WHERE connection_id = ?",
            vec![connection_id.into()],
        )?;
        Ok(())
    }

    /// Every awareness state, or one connection's.
    pub fn awareness(&self, connection_id: Option<&str>) -> RoomResult<Vec<AwarenessState>> {
        let rows: Vec<AwarenessRow> = match connection_id {
            None => self
                .sql
                .exec(
                    "SELECT client_id, connection_id, clock, state FROM doc_awareness",
                    None,
                )?
                .to_array()?,
            Some(id) => self
                .sql
                .exec(
                    "SELECT client_id, connection_id, clock, state FROM doc_awareness \
                     WHERE connection_id = ?",
                    vec![id.into()],
                )?
                .to_array()?,
        };
        Ok(rows.into_iter().map(AwarenessRow::into_state).collect())
    }

    /// Who holds each of these awareness client ids, where someone does.
    pub fn awareness_owner(&self, client_id: u64) -> RoomResult<Option<String>> {
        let row: Option<OwnerRow> = self.first_row(
            "SELECT connection_id FROM doc_awareness WHERE client_id = ?",
            vec![int(client_id as i64)],
        )?;
        Ok(row.map(|row| row.connection_id))
    }

    /// The edits D1 does not have yet, from memory once read.
    pub fn unsaved(&self) -> RoomResult<Option<Unsaved>> {
        if let Some(known) = self.unsaved.borrow().as_ref() {
            return Ok(known.clone());
        }
        let row: Option<UnsavedRow> =
            self.first_row("SELECT unsaved FROM doc_unsaved WHERE id = 1", None)?;
        let unsaved: Option<Unsaved> = row
            .map(|row| serde_json::from_str(&row.unsaved))
            .transpose()?;
        *self.unsaved.borrow_mut() = Some(unsaved.clone());
        Ok(unsaved)
    }

    /// Records the unsaved edits. A keystroke that only moves `last_ms` is kept in memory
    /// and not written: after an eviction the row's older `last_ms` makes the flush due
    /// sooner, never later, and nothing is lost (the updates themselves are stored).
    pub fn set_unsaved(&self, unsaved: Option<&Unsaved>) -> RoomResult<()> {
        let stored_differs = match self.unsaved.borrow().as_ref() {
            Some(Some(known)) => unsaved.is_none_or(|new| !same_but_last(known, new)),
            Some(None) => unsaved.is_some(),
            None => true,
        };
        if stored_differs {
            self.write_unsaved(unsaved)?;
        }
        *self.unsaved.borrow_mut() = Some(unsaved.cloned());
        Ok(())
    }

    fn write_unsaved(&self, unsaved: Option<&Unsaved>) -> RoomResult<()> {
        // Forget first: if the write fails, the next read goes to storage.
        self.unsaved.borrow_mut().take();
        match unsaved {
            Some(unsaved) => {
                self.sql.exec(
                    "INSERT INTO doc_unsaved (id, unsaved) VALUES (1, ?) \
                     ON CONFLICT (id) DO UPDATE SET unsaved = excluded.unsaved",
                    vec![serde_json::to_string(unsaved)?.into()],
                )?;
            }
            None => {
                self.sql.exec("DELETE FROM doc_unsaved", None)?;
            }
        }
        Ok(())
    }
}

/// The same unsaved edits but for when the last one was.
fn same_but_last(known: &Unsaved, new: &Unsaved) -> bool {
    known.first_ms == new.first_ms && known.editors == new.editors
}

#[derive(Deserialize)]
struct BytesRow {
    bytes: f64,
}

#[derive(Deserialize)]
struct OwnerRow {
    connection_id: String,
}

#[derive(Deserialize)]
struct UnsavedRow {
    unsaved: String,
}

#[derive(Deserialize)]
struct AwarenessRow {
    client_id: f64,
    connection_id: String,
    clock: f64,
    state: String,
}

impl AwarenessRow {
    fn into_state(self) -> AwarenessState {
        AwarenessState {
            client_id: self.client_id as u64,
            connection_id: self.connection_id,
            clock: self.clock as u64,
            state: self.state,
        }
    }
}
