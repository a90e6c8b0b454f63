//! One frame on a document socket: [`admit_doc_frame`] (expiry, size, rate, form), then
//! the message: [`on_doc_sync`] against the document (an edit is stored before anyone hears
//! of it; a viewer's is answered with permission-denied and never applied),
//! [`on_awareness`] (one's own client ids only), [`on_query_awareness`].

use std::collections::BTreeMap;

use super::documents::{
    awareness_of, clip, close_effects, AwarenessState, DocConnection, Stored, AWARENESS_MAX_IDS,
    AWARENESS_MAX_STATE_BYTES, COMPACT_AFTER_UPDATES, READ_ONLY,
};
use super::effects::{Alarm, Effects, StorageWrite};
use super::{Frame, Limits, Outbound};
use crate::doc::flush::{edited, Unsaved};
use crate::doc::wire::{self, Awareness, DocMessage};
use crate::doc::{DocError, SharedDoc};
use crate::protocol::{close, Actor, ServerMessage, PING_FRAME};

/// The first look at a document frame: expiry, size and form (the user's frame budget was
/// checked before: see [`super::budget`]). The message, or what to do instead (a close).
pub fn admit_doc_frame<'f>(
    connection: &DocConnection,
    frame: Frame<'f>,
    now_ms: i64,
    limits: &Limits,
) -> Result<DocMessage<'f>, Box<Effects>> {
    let close = |code, reason: String| Err(Box::new(close_effects(&connection.id, code, reason)));
    if connection.expires_at_ms <= now_ms {
        return close(close::TOKEN_EXPIRED, "token expired".into());
    }
    match frame {
        // The keep-alive every socket of the room may send (the runtime answers it without
        // waking the room; should one get through, the room answers it the same).
        Frame::Text(PING_FRAME) => Err(Box::new(Effects::frames(vec![Outbound::Reply(
            ServerMessage::Pong { id: None },
        )]))),
        Frame::Text(_) => close(close::UNSUPPORTED, "send binary y-protocols frames".into()),
        Frame::Binary(bytes) if bytes.len() > limits.doc_max_frame_bytes => close(
            close::TOO_BIG,
            format!("frames are limited to {} bytes", limits.doc_max_frame_bytes),
        ),
        Frame::Binary(bytes) => match wire::parse(bytes) {
            Ok(message) => Ok(message),
            Err(error) => close(
                close::INVALID_PAYLOAD,
                clip(format!("not a y-protocols message: {}", error.0)),
            ),
        },
    }
}

/// Sync step 1, step 2 or an update, decided against the document (which takes a writer's
/// update here: `doc` is the room's copy).
pub fn on_doc_sync(
    connection: &DocConnection,
    message: DocMessage<'_>,
    doc: &mut SharedDoc,
    unsaved: Option<Unsaved>,
    stored: Stored,
    now_ms: i64,
) -> Effects {
    let update = match message {
        DocMessage::SyncStep1(state_vector) => {
            return match yrs_state_vector(state_vector) {
                Some(remote) => Effects::frames(vec![Outbound::DocReply(wire::sync_step_2(
                    &doc.missing_for(&remote),
                ))]),
                None => close_effects(
                    &connection.id,
                    close::INVALID_PAYLOAD,
                    "a state vector that does not decode".into(),
                ),
            };
        }
        DocMessage::SyncStep2(update) | DocMessage::Update(update) => update,
        _ => return Effects::default(),
    };
    if !connection.can_write {
        return if update == EMPTY_UPDATE {
            Effects::default()
        } else {
            Effects::frames(vec![Outbound::DocReply(wire::permission_denied(READ_ONLY))])
        };
    }
    match doc.apply(update) {
        Ok(applied) if !applied.changed => Effects::default(),
        Ok(applied) => {
            let editor = Actor {
                id: connection.user.id.clone(),
                name: connection.user.name.clone(),
            };
            let unsaved = edited(unsaved, &editor, now_ms);
            let mut storage = vec![StorageWrite::DocUpdate(update.to_vec())];
            let mut frames = vec![Outbound::DocOthers(wire::update(update))];
            if let Some(trim) = applied.trim {
                frames.push(Outbound::DocAll(wire::update(&trim)));
                storage.push(StorageWrite::DocUpdate(trim));
            }
            let added = storage.len() as u64;
            if stored.updates + added > COMPACT_AFTER_UPDATES {
                storage.push(StorageWrite::DocSnapshot(doc.snapshot()));
            }
            let due = unsaved.due_ms();
            storage.push(StorageWrite::Unsaved(Some(unsaved)));
            Effects {
                storage,
                frames,
                alarm: Alarm::NoLaterThan(due),
                ..Effects::default()
            }
        }
        Err(DocError::Malformed(reason)) => {
            close_effects(&connection.id, close::INVALID_PAYLOAD, clip(reason))
        }
        Err(DocError::Refused { reason, spoiled }) => Effects {
            reload_doc: spoiled,
            ..close_effects(&connection.id, close::UPDATE_REFUSED, clip(reason))
        },
    }
}

/// The empty update: what a peer with nothing new sends as its step 2.
const EMPTY_UPDATE: &[u8] = &[0, 0];

fn yrs_state_vector(bytes: &[u8]) -> Option<yrs::StateVector> {
    use yrs::updates::decoder::Decode;
    yrs::StateVector::decode_v1(bytes).ok()
}

/// Awareness: every state within its size, for client ids this socket introduced or
/// introduces now (no other socket's); kept and passed on to the other editors as sent.
/// `owners` names the socket that holds each client id of the message, where one does.
pub fn on_awareness(
    connection: &DocConnection,
    awareness: &Awareness,
    owners: &BTreeMap<u64, String>,
    frame: &[u8],
) -> Effects {
    let mut claimed = connection.awareness.clone();
    for (client_id, (_, state)) in &awareness.states {
        if state.len() > AWARENESS_MAX_STATE_BYTES {
            let reason =
                format!("awareness states are limited to {AWARENESS_MAX_STATE_BYTES} bytes");
            return close_effects(&connection.id, close::TOO_BIG, reason);
        }
        match owners.get(client_id) {
            Some(owner) if *owner != connection.id => {
                let reason = format!("awareness client {client_id} belongs to another connection");
                return close_effects(&connection.id, close::NOT_YOURS, reason);
            }
            _ if claimed.contains(client_id) => {}
            _ if claimed.len() >= AWARENESS_MAX_IDS => {
                let reason = format!(
                    "one connection speaks for at most {AWARENESS_MAX_IDS} awareness clients"
                );
                return close_effects(&connection.id, close::NOT_YOURS, reason);
            }
            _ => claimed.push(*client_id),
        }
    }
    let connection_id = connection.id.clone();
    let newly_claimed = claimed != connection.awareness;
    let mut attachment = connection.clone();
    attachment.awareness = claimed;
    let storage = awareness
        .states
        .iter()
        .map(|(client_id, (clock, state))| {
            StorageWrite::Awareness(AwarenessState {
                client_id: *client_id,
                connection_id: connection_id.clone(),
                clock: *clock,
                state: state.clone(),
            })
        })
        .collect();
    Effects {
        // Written only when it speaks for a new client id.
        doc_attachments: if newly_claimed {
            vec![attachment]
        } else {
            Vec::new()
        },
        storage,
        frames: vec![Outbound::DocOthers(frame.to_vec())],
        ..Effects::default()
    }
}

/// Query awareness: every state the room holds, to the one who asked.
pub fn on_query_awareness(states: &[AwarenessState]) -> Effects {
    Effects::frames(vec![Outbound::DocReply(awareness_of(states))])
}
