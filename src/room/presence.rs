//! Presence on the runtime: the room's list is kept in storage as connections come and
//! go (a join reads it, not every socket's attachment), and presence changes go out at
//! once in a quiet room, or held back and merged into one `presence_diff` in a busy one
//! (`hero_core::room::presence_delay_ms`). A held-back diff is stored with its due time
//! and the storage alarm sends it, so nothing is lost if the room hibernates meanwhile.

use worker::Result;

use super::object::Room;
use super::sockets::Sockets;
use crate::runtime::now_ms;
use hero_core::protocol::ServerMessage;
use hero_core::room::{entry_of, presence_delay_ms, PendingPresence};

impl Room {
    /// Re-reads one user's connections (by their tag) and records their entry.
    pub(super) fn refresh_presence_of(&self, user_id: &str) -> Result<()> {
        let theirs = Sockets::of(&self.state).connections_of(user_id);
        self.storage
            .set_presence(user_id, entry_of(&theirs).as_ref())
    }

    /// Sends a presence change now, or holds it back for the next diff (see the module
    /// doc). `skip` is the connection it need not reach (the one that joined).
    pub(super) fn presence_out(&self, message: ServerMessage, skip: Option<&str>) -> Result<()> {
        let now = now_ms();
        let sockets = self.state.get_websockets().len();
        let delay = presence_delay_ms(
            now,
            self.last_presence.get(),
            sockets,
            self.limits().frames_per_sec,
            (
                self.limits().presence_batch_above,
                self.limits().presence_gap_ms,
            ),
        );
        let pending = self.storage.pending_presence()?;
        if delay == 0 && pending.is_none() {
            Sockets::of(&self.state).broadcast(&message.to_json(), skip);
            self.last_presence.set(Some(now));
            return Ok(());
        }
        let (mut held, due) =
            pending.unwrap_or_else(|| (PendingPresence::default(), now + delay.max(1)));
        held.add(&message);
        self.storage.save_pending_presence(Some((&held, due)))?;
        self.presence_due.set(Some(due));
        Ok(())
    }

    /// Sends the held-back diff if it is due.
    pub(super) fn flush_presence_if_due(&self) -> Result<()> {
        let Some((held, due)) = self.storage.pending_presence()? else {
            return Ok(());
        };
        let now = now_ms();
        if due > now {
            self.presence_due.set(Some(due));
            return Ok(());
        }
        self.storage.save_pending_presence(None)?;
        if !held.is_empty() {
            Sockets::of(&self.state).broadcast(&held.into_message().to_json(), None);
            self.last_presence.set(Some(now));
        }
        Ok(())
    }

    /// After an event: makes sure the alarm wakes the room for a held-back diff.
    pub(super) async fn settle_presence(&self) -> Result<()> {
        match self.presence_due.take() {
            Some(due) => self.alarm_no_later_than(due).await,
            None => Ok(()),
        }
    }
}
