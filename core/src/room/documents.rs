//! A task room's document sockets (`/ws/tasks/{id}/doc`): the shared description over the
//! y-websocket protocol ([`crate::doc`]). Each event is decided here as the room's other
//! events are, into one [`Effects`]:
//!
//! - [`on_doc_connect`]: the caps (document sockets count toward the room's, and each user
//!   has a share of them of their own), then sync step 1 and everyone's awareness;
//! - a frame: `super::doc_frames`;
//! - [`on_doc_close`]: its awareness goes, and when the last editor leaves D1 gets the text
//!   at once and the stored updates become one snapshot;
//! - [`on_description_written`]: a REST write of the description reaches the document.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::connect::{admission, count_connect, ConnectWindow, Joining};
use super::effects::{Alarm, Effects, StorageWrite};
use super::{Limits, Outbound};
use crate::doc::flush::Unsaved;
use crate::doc::wire::{self, Awareness};
use crate::doc::SharedDoc;
use crate::protocol::UserInfo;

/// A JSON awareness state larger than this closes its socket (1009).
pub const AWARENESS_MAX_STATE_BYTES: usize = 2048;
/// The awareness client ids one socket may speak for.
pub const AWARENESS_MAX_IDS: usize = 8;
/// Stored updates past this many become one snapshot.
pub const COMPACT_AFTER_UPDATES: u64 = 500;
/// What a viewer's edit is answered with.
pub const READ_ONLY: &str = "viewers can read the description but not change it";

/// A document socket's state: its attachment, so it survives hibernation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocConnection {
    pub id: String,
    pub user: UserInfo,
    pub can_write: bool,
    pub expires_at_ms: i64,
    /// The awareness client ids this socket introduced, and so speaks for.
    pub awareness: Vec<u64>,
    /// Frames in the current second.
    pub window_start_ms: i64,
    pub frames: u32,
}

/// An awareness state as the room keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwarenessState {
    pub client_id: u64,
    pub connection_id: String,
    pub clock: u64,
    pub state: String,
}

/// What the room's document costs it in storage: updates stored since the last snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    pub updates: u64,
}

/// What a document connect needs to know.
pub struct DocConnectSnapshot<'a> {
    pub now_ms: i64,
    pub limits: &'a Limits,
    pub connection_id: String,
    pub joining: &'a Joining,
    pub task_gone: bool,
    /// Every socket of the room, both kinds.
    pub open_sockets: usize,
    /// This user's document sockets.
    pub open_of_user: usize,
    pub connect_window: Option<ConnectWindow>,
    pub state_vector: Vec<u8>,
    /// Every stored awareness state.
    pub awareness: Vec<AwarenessState>,
    /// The connection ids of the document sockets open now.
    pub live: BTreeSet<String>,
}

/// What a document connect comes to.
#[derive(Debug, Clone, PartialEq)]
pub enum DocConnected {
    NotFound,
    Refused {
        code: u16,
        reason: &'static str,
        effects: Effects,
    },
    /// In: `effects.doc_attachments[0]` is the new connection.
    Accepted {
        connection: DocConnection,
        effects: Effects,
    },
}

pub fn on_doc_connect(snapshot: DocConnectSnapshot<'_>) -> DocConnected {
    if snapshot.task_gone {
        return DocConnected::NotFound;
    }
    let principal = &snapshot.joining.principal;
    let window = count_connect(snapshot.connect_window, snapshot.now_ms);
    let (ghosts, states): (Vec<_>, Vec<_>) = snapshot
        .awareness
        .into_iter()
        .partition(|s| !snapshot.live.contains(&s.connection_id));
    let mut storage = vec![StorageWrite::ConnectWindow {
        user_id: doc_window_key(&principal.user_id),
        window,
    }];
    let gone: BTreeSet<String> = ghosts.into_iter().map(|s| s.connection_id).collect();
    storage.extend(
        gone.into_iter()
            .map(|connection_id| StorageWrite::AwarenessGone { connection_id }),
    );
    if let Err((code, reason)) = admission(
        snapshot.open_sockets,
        snapshot.open_of_user,
        window,
        snapshot.limits,
    ) {
        let effects = Effects {
            storage,
            ..Effects::default()
        };
        return DocConnected::Refused {
            code,
            reason,
            effects,
        };
    }
    let connection = DocConnection {
        id: snapshot.connection_id,
        user: UserInfo {
            id: principal.user_id.clone(),
            name: principal.name.clone(),
            avatar_url: principal.avatar_url.clone(),
        },
        can_write: principal.can_write(),
        expires_at_ms: principal.expires_at.saturating_mul(1000),
        awareness: Vec::new(),
        window_start_ms: snapshot.now_ms,
        frames: 0,
    };
    let mut frames = vec![Outbound::DocReply(wire::sync_step_1(
        &snapshot.state_vector,
    ))];
    if !states.is_empty() {
        frames.push(Outbound::DocReply(awareness_of(&states)));
    }
    let effects = Effects {
        doc_attachments: vec![connection.clone()],
        storage,
        frames,
        alarm: Alarm::NoLaterThan(connection.expires_at_ms),
        ..Effects::default()
    };
    DocConnected::Accepted {
        connection,
        effects,
    }
}

/// A user's connects to the document counted apart from the room's (same limit).
pub fn doc_window_key(user_id: &str) -> String {
    format!("doc:{user_id}")
}

/// What a closing document socket needs to know.
pub struct DocCloseSnapshot<'a> {
    pub gone: &'a DocConnection,
    /// Its awareness states as the room holds them.
    pub states: Vec<AwarenessState>,
    /// Sockets that may write and are still open.
    pub writers_left: usize,
    pub unsaved: Option<Unsaved>,
    pub stored: Stored,
    /// The document, when the room holds it.
    pub doc: Option<&'a SharedDoc>,
}

/// A document socket closed: the others hear its awareness states end; the last editor
/// leaving writes D1 at once and compacts the stored updates into one snapshot.
pub fn on_doc_close(snapshot: DocCloseSnapshot<'_>) -> Effects {
    let mut effects = Effects::default();
    if !snapshot.states.is_empty() {
        let ended: Vec<AwarenessState> = snapshot
            .states
            .into_iter()
            .map(|s| AwarenessState {
                clock: s.clock + 1,
                state: "null".into(),
                ..s
            })
            .collect();
        effects
            .frames
            .push(Outbound::DocOthers(awareness_of(&ended)));
    }
    effects.storage.push(StorageWrite::AwarenessGone {
        connection_id: snapshot.gone.id.clone(),
    });
    if snapshot.writers_left == 0 {
        if let Some(unsaved) = snapshot.unsaved {
            effects.flush = Some(unsaved.editors);
            effects.storage.push(StorageWrite::Unsaved(None));
        }
        if let Some(doc) = snapshot.doc.filter(|_| snapshot.stored.updates > 0) {
            effects
                .storage
                .push(StorageWrite::DocSnapshot(doc.snapshot()));
        }
    }
    effects
}

/// A write of the description that did not come from the document (a REST `PATCH`) made
/// the text `written`: the document takes the same text as the smallest edit, so its
/// editors see an edit, and D1 has nothing unsaved when they agree.
pub fn on_description_written(doc: &mut SharedDoc, written: &str) -> Effects {
    let mut effects = Effects::default();
    if let Some(update) = doc.set_text(written) {
        effects.frames.push(Outbound::DocAll(wire::update(&update)));
        effects.storage.push(StorageWrite::DocUpdate(update));
    }
    effects.storage.push(StorageWrite::Unsaved(None));
    effects
}

/// The connection's attachment (with this frame counted) is written before anything else.
pub(super) fn attached(connection: DocConnection, mut effects: Effects) -> Effects {
    effects.doc_attachments.insert(0, connection);
    effects
}

/// One awareness message carrying `states`.
pub(super) fn awareness_of(states: &[AwarenessState]) -> Vec<u8> {
    let mut awareness = Awareness::default();
    for s in states {
        awareness
            .states
            .insert(s.client_id, (s.clock, s.state.clone()));
    }
    wire::awareness_message(&awareness)
}

pub(super) fn close_effects(connection_id: &str, code: u16, reason: String) -> Effects {
    Effects::frames(vec![Outbound::Close {
        connection_id: connection_id.to_owned(),
        code,
        reason,
    }])
}

/// A close reason fits in 123 bytes: as much of it as does, whole characters only.
pub(super) fn clip(reason: String) -> String {
    let mut end = 0;
    for (at, c) in reason.char_indices() {
        if at + c.len_utf8() > 120 {
            break;
        }
        end = at + c.len_utf8();
    }
    reason[..end].to_owned()
}

#[cfg(test)]
#[path = "documents_tests.rs"]
mod tests;
