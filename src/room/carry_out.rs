//! Carrying out what a room event decided ([`Effects`]), in one place and one order:
//! attachments, storage writes, frames (a close makes its connection leave, which is one
//! more decision carried out the same way), published events, the board's figures, a
//! held-back presence diff, viewers for the board, a token to check, and last the alarm.

use worker::WebSocket;

use super::object::Room;
use super::outbox::{send_figures, Delivery};
use super::sockets::{Origin, Sockets};
use crate::runtime::now_ms;
use hero_core::protocol::{
    batch_frames, codes, Actor, ServerMessage, BATCH_MAX_BYTES, BATCH_MAX_EVENTS,
};
use hero_core::room::{
    self, entry_of, Alarm, Audience, CloseSnapshot, Effects, Outbound, StorageWrite, TokenCheck,
};

use super::error::RoomResult;

impl Room {
    /// Carries out everything `effects` says, then sets the alarm.
    pub(super) async fn carry_out(
        &self,
        mut effects: Effects,
        origin: Option<Origin<'_>>,
    ) -> RoomResult<()> {
        let check = effects.verify.take();
        let (mut alarm, mut flush) = self.carry_out_now(effects, origin)?;
        if let Some(check) = check {
            let answer = self.check_token(check).await;
            let (more, _) = self.carry_out_now(answer, origin)?;
            alarm = alarm.and(more);
        }
        self.alarm.set(&self.state.storage(), alarm).await?;
        // The room's own write of the description goes through the write queue; only socket
        // events and the alarm decide one, never a write, so this never waits on itself.
        // (Boxed: a write carries out its own effects, so the future would contain itself.)
        if let Some(editors) = flush.take() {
            let write: std::pin::Pin<Box<dyn std::future::Future<Output = RoomResult<()>> + '_>> =
                Box::pin(self.write_description(editors));
            write.await?;
        }
        Ok(())
    }

    /// Everything but the alarm and a write (which need an await), with nothing awaited in
    /// between: no other event of this room runs while a decision is carried out. Returns
    /// the alarm, and the editors of a description write that is due.
    fn carry_out_now(&self, effects: Effects, origin: Option<Origin<'_>>) -> RoomResult<Carried> {
        let to = self.delivery();
        self.store_attachments(&effects, origin, &to)?;
        for write in &effects.storage {
            self.store(write, &to)?;
        }
        if effects.reload_doc {
            self.document.forget();
        }
        let (mut alarm, mut flush) = (effects.alarm, effects.flush);
        for frame in effects.frames {
            let (more, more_flush) = self.send(frame, origin, &to)?;
            alarm = alarm.and(more);
            flush = flush.or(more_flush);
        }
        if !effects.publish.is_empty() || effects.close_everyone {
            self.outbox
                .publish(effects.publish, effects.close_everyone, &to);
        }
        match effects.analytics {
            Some(Audience::Origin) => send_figures(&to, origin.map(|o| o.ws)),
            Some(Audience::Everyone) => send_figures(&to, None),
            None => {}
        }
        if effects.flush_held_presence {
            self.outbox.flush_held_presence(&to)?;
        }
        self.report_viewers(&effects.viewers);
        Ok((alarm, flush))
    }

    fn store_attachments(
        &self,
        effects: &Effects,
        origin: Option<Origin<'_>>,
        to: &Delivery,
    ) -> RoomResult<()> {
        for connection in &effects.attachments {
            match origin.filter(|o| o.connection_id == connection.id) {
                Some(o) if o.joining => to.sockets.accept(o.ws, connection)?,
                Some(o) => to.sockets.store(connection, Some(o.ws))?,
                None => to.sockets.store(connection, None)?,
            }
        }
        for connection in &effects.doc_attachments {
            match origin.filter(|o| o.connection_id == connection.id) {
                Some(o) if o.joining => to.sockets.accept_doc(o.ws, connection)?,
                Some(o) => to.sockets.store_doc(connection, Some(o.ws))?,
                None => to.sockets.store_doc(connection, None)?,
            }
        }
        Ok(())
    }

    /// One storage write; the document in memory follows what storage holds.
    fn store(&self, write: &StorageWrite, to: &Delivery) -> RoomResult<()> {
        match write {
            StorageWrite::PresenceFromSockets { user_id } => {
                let theirs = to.sockets.connections_of(user_id);
                return to.storage.set_presence(user_id, entry_of(&theirs).as_ref());
            }
            StorageWrite::DocUpdate(_) => self.document.stored_update(),
            StorageWrite::DocSnapshot(snapshot) => {
                let before = to.storage.doc_bytes()?;
                to.storage.write(write)?;
                self.document.stored_snapshot();
                tracing::info!(
                    event = "document_compacted",
                    bytes_before = before,
                    bytes_after = snapshot.len(),
                    "room event"
                );
                return Ok(());
            }
            StorageWrite::ForgetDoc => self.document.forget(),
            _ => {}
        }
        to.storage.write(write)
    }

    /// One frame or close. Returns what it needs of the alarm (and, for a close, whether the
    /// leaving makes a description write due).
    fn send(
        &self,
        frame: Outbound,
        origin: Option<Origin<'_>>,
        to: &Delivery,
    ) -> RoomResult<Carried> {
        log_outbound(&frame);
        let skip = origin.map(|o| o.connection_id);
        match frame {
            Outbound::Reply(message) => {
                if let Some(o) = origin {
                    let _ = o.ws.send_with_str(message.to_json());
                }
            }
            Outbound::Replay { after } => {
                if let Some(o) = origin {
                    let events = to.storage.events_after(after)?;
                    for frame in batch_frames(&events, BATCH_MAX_EVENTS, BATCH_MAX_BYTES) {
                        let _ = o.ws.send_with_str(frame);
                    }
                }
            }
            // The origin never needs a presence change: it is the one joining or leaving.
            Outbound::Others(message) | Outbound::All(message) if is_presence(&message) => {
                if let Some(due) = self.outbox.presence(message, skip, to)? {
                    return Ok((Alarm::NoLaterThan(due), None));
                }
            }
            // Typing and editing go out coalesced, per user (see the outbox).
            Outbound::Others(message) if is_ephemeral(&message) => {
                self.outbox.ephemeral(&message, skip, to);
            }
            Outbound::All(message) if is_ephemeral(&message) => {
                self.outbox.ephemeral(&message, None, to);
            }
            Outbound::Others(message) => {
                to.sockets.broadcast(&message.to_json(), skip);
            }
            Outbound::All(message) => {
                to.sockets.broadcast(&message.to_json(), None);
            }
            Outbound::DocReply(bytes) => {
                if let Some(o) = origin {
                    let _ = o.ws.send_with_bytes(&bytes);
                }
            }
            Outbound::DocOthers(bytes) => to.sockets.broadcast_doc(&bytes, skip),
            Outbound::DocAll(bytes) => to.sockets.broadcast_doc(&bytes, None),
            Outbound::Close {
                connection_id,
                code,
                reason,
            } => return self.close(&connection_id, code, &reason, to),
        }
        Ok((Alarm::Keep, None))
    }

    /// Closes one connection from our side and lets the room know it is gone at once,
    /// without waiting for the client's close frame (a dead client never sends one).
    fn close(
        &self,
        connection_id: &str,
        code: u16,
        reason: &str,
        to: &Delivery,
    ) -> RoomResult<Carried> {
        let (mut alarm, mut flush) = (Alarm::Keep, None);
        for ws in to.sockets.by_connection_id(connection_id) {
            let _ = ws.close(Some(code), Some(reason));
            let origin = Origin {
                connection_id,
                ws: &ws,
                joining: false,
            };
            let departure = match to.sockets.is_doc(&ws) {
                true => self.depart_doc(&ws)?,
                false => self.depart(&ws)?,
            };
            let (more, more_flush) = self.carry_out_now(departure, Some(origin))?;
            alarm = alarm.and(more);
            flush = flush.or(more_flush);
        }
        Ok((alarm, flush))
    }

    /// What a socket's leaving decides: its connection is taken off it (so it is counted
    /// once), and only its user's other connections are read.
    pub(super) fn depart(&self, ws: &WebSocket) -> RoomResult<Effects> {
        let Some(kind) = self.kind() else {
            return Ok(Effects::default());
        };
        let sockets = Sockets::of(&self.state);
        let Some(gone) = sockets.take(ws)? else {
            return Ok(Effects::default());
        };
        let same_user: Vec<_> = sockets
            .connections_of(&gone.user.id)
            .into_iter()
            .filter(|c| c.id != gone.id)
            .collect();
        Ok(room::on_close(CloseSnapshot {
            gone: &gone,
            same_user: &same_user,
            now_ms: now_ms(),
            limits: self.limits(),
            kind,
        }))
    }

    /// A refreshed token, verified exactly as the Worker verifies a request's, and the
    /// room's answer to it.
    async fn check_token(&self, check: TokenCheck) -> Effects {
        let verified = self
            .verify_token(&check.token, check.connection.dev_tokens)
            .await;
        let workspace = self
            .key()
            .map(|k| k.workspace_id().to_owned())
            .unwrap_or_default();
        room::on_refresh(
            check,
            verified.as_ref().map_err(|e| e.problem().detail),
            &workspace,
        )
    }
}

/// What carrying out leaves to do once nothing more is decided: the alarm to set, and the
/// editors of a description write that is due.
type Carried = (Alarm, Option<Vec<Actor>>);

/// Typing and editing go through the outbox, coalesced per user.
fn is_ephemeral(message: &ServerMessage) -> bool {
    matches!(
        message,
        ServerMessage::Typing { .. } | ServerMessage::Editing { .. }
    )
}

/// Presence changes go through the outbox, which may hold them back.
fn is_presence(message: &ServerMessage) -> bool {
    matches!(
        message,
        ServerMessage::UserJoined { .. }
            | ServerMessage::UserLeft { .. }
            | ServerMessage::PresenceDiff { .. }
    )
}

/// The log line for what a room is about to do, where it is worth one.
fn log_outbound(outbound: &Outbound) {
    match outbound {
        Outbound::Close {
            connection_id,
            code,
            reason,
        } => {
            tracing::info!(event = "closed", closed_connection = %connection_id, code, reason = %reason, "room event");
        }
        Outbound::Reply(ServerMessage::Error { code, .. }) if code == codes::RATE_LIMITED => {
            tracing::warn!(event = "rate_limited", "room event");
        }
        Outbound::Reply(ServerMessage::Error { code, .. }) => {
            tracing::debug!(event = "bad_frame", code = %code, "room event");
        }
        Outbound::Others(ServerMessage::UserJoined { user, connections }) => {
            tracing::info!(event = "joined", joined_user = %user.id, connections, "room event");
        }
        Outbound::All(ServerMessage::UserLeft { user_id }) => {
            tracing::info!(event = "left", left_user = %user_id, "room event");
        }
        _ => {}
    }
}
