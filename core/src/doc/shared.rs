//! The task's shared document: a Yjs document (yrs) holding one text, [`ROOT`], that counts
//! offsets in UTF-16 as JavaScript does, with garbage collection on.
//!
//! The room keeps it in memory while it is awake and rebuilds it from its SQLite (a snapshot
//! and the updates stored since) when it wakes. Every client update is read first
//! ([`super::scan`]) and applied second; one the document cannot integrate (it depends on
//! history the room never had) spoils this copy, so the caller drops it and loads again from
//! storage, where the update never went.

use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Doc, GetString, OffsetKind, Options, ReadTxn, StateVector, Text, TextRef, Transact, Update,
};

use super::diff::{minimal_edit, utf16_offset};
use super::scan::{scan_update, ScanError};
use crate::task::DESCRIPTION_MAX_CHARS;

/// The document's one root type: the description's text.
pub const ROOT: &str = "description";

/// Why the document did not take an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocError {
    /// It does not decode.
    Malformed(String),
    /// It decodes but breaks the document's rules; `spoiled` when it was applied (and this
    /// copy of the document must be dropped).
    Refused { reason: String, spoiled: bool },
}

impl From<ScanError> for DocError {
    fn from(error: ScanError) -> Self {
        match error {
            ScanError::Malformed(what) => DocError::Malformed(format!("update: {what}")),
            ScanError::Refused(reason) => DocError::Refused {
                reason,
                spoiled: false,
            },
        }
    }
}

/// What applying a client's update did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// It added or deleted something this document did not have.
    pub changed: bool,
    /// The text ran past [`DESCRIPTION_MAX_CHARS`]: the room's own update that cut it back,
    /// for everyone (the sender included) and for storage.
    pub trim: Option<Vec<u8>>,
}

pub struct SharedDoc {
    doc: Doc,
    text: TextRef,
}

impl SharedDoc {
    /// An empty document whose own edits carry `client_id`.
    fn empty(client_id: u64) -> Self {
        let mut options = Options::with_client_id(yrs::block::ClientID::new(client_id));
        options.offset_kind = OffsetKind::Utf16;
        let doc = Doc::with_options(options);
        let text = doc.get_or_insert_text(ROOT);
        SharedDoc { doc, text }
    }

    /// The document as stored: its snapshot and the updates since, in order.
    pub fn load<'a>(
        client_id: u64,
        stored: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Self, DocError> {
        let shared = Self::empty(client_id);
        {
            let mut txn = shared.doc.transact_mut();
            for bytes in stored {
                let update =
                    Update::decode_v1(bytes).map_err(|e| DocError::Malformed(e.to_string()))?;
                txn.apply_update(update)
                    .map_err(|e| DocError::Malformed(e.to_string()))?;
            }
        }
        Ok(shared)
    }

    /// A new document holding `description`, and the update that makes it (to store in the
    /// same step, so it is made once).
    pub fn seed(client_id: u64, description: &str) -> (Self, Vec<u8>) {
        let shared = Self::empty(client_id);
        let update = {
            let mut txn = shared.doc.transact_mut();
            if !description.is_empty() {
                shared.text.insert(&mut txn, 0, description);
            }
            txn.encode_update_v1()
        };
        (shared, update)
    }

    /// The text as it stands.
    pub fn text(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }

    /// The state vector (sync step 1).
    pub fn state_vector(&self) -> Vec<u8> {
        self.doc.transact().state_vector().encode_v1()
    }

    /// What a peer with state vector `remote` lacks (sync step 2).
    pub fn missing_for(&self, remote: &StateVector) -> Vec<u8> {
        self.doc.transact().encode_diff_v1(remote)
    }

    /// The whole document as one update: a snapshot to store instead of the updates so far.
    pub fn snapshot(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    /// Applies a client's update, read first (see the module doc), and cuts the text back to
    /// its limit if it ran past it.
    pub fn apply(&mut self, update: &[u8]) -> Result<Applied, DocError> {
        scan_update(update, ROOT)?;
        let decoded = Update::decode_v1(update).map_err(|e| DocError::Malformed(e.to_string()))?;
        let changed = {
            let mut txn = self.doc.transact_mut();
            let before = txn.state_vector();
            txn.apply_update(decoded).map_err(|e| DocError::Refused {
                reason: format!("the update does not apply: {e}"),
                spoiled: true,
            })?;
            if txn.has_missing_updates() {
                return Err(DocError::Refused {
                    reason: "the update depends on history this document does not have".into(),
                    spoiled: true,
                });
            }
            txn.state_vector() != before || !txn.delete_set().is_empty()
        };
        Ok(Applied {
            changed,
            trim: self.trim(),
        })
    }

    /// The room's own update cutting the text to [`DESCRIPTION_MAX_CHARS`], if it is longer.
    fn trim(&mut self) -> Option<Vec<u8>> {
        let mut txn = self.doc.transact_mut();
        // UTF-16 units are never fewer than characters: short enough in units, short enough.
        let units = self.text.len(&txn);
        if units as usize <= DESCRIPTION_MAX_CHARS {
            return None;
        }
        let text = self.text.get_string(&txn);
        if text.chars().count() <= DESCRIPTION_MAX_CHARS {
            return None;
        }
        let keep = utf16_offset(&text, DESCRIPTION_MAX_CHARS);
        self.text.remove_range(&mut txn, keep, units - keep);
        Some(txn.encode_update_v1())
    }

    /// Turns the text into `target` with the smallest edit (see [`super::diff`]). The update,
    /// when anything changed.
    pub fn set_text(&mut self, target: &str) -> Option<Vec<u8>> {
        let mut txn = self.doc.transact_mut();
        let edit = minimal_edit(&self.text.get_string(&txn), target);
        if edit.is_empty() {
            return None;
        }
        if edit.delete > 0 {
            self.text.remove_range(&mut txn, edit.at, edit.delete);
        }
        if !edit.insert.is_empty() {
            self.text.insert(&mut txn, edit.at, &edit.insert);
        }
        Some(txn.encode_update_v1())
    }
}

#[cfg(test)]
#[path = "shared_tests.rs"]
mod tests;
