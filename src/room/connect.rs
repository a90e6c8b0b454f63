//! A new connection, load → decide → carry out: the room makes sure it knows its task (a
//! task room) or has counted its workspace (a board) and catches up with D1; loads what
//! [`room::on_connect`] needs; and carries out its decision: a 404 before any upgrade, a
//! socket closed at once over a cap, or a socket accepted with its first frames.

use worker::{Response, WebSocketPair};

use super::error::{RoomError, RoomResult};
use super::object::Room;
use super::sockets::{Origin, Sockets};
use crate::runtime::now_ms;
use crate::store::Store;
use hero_core::error::ApiError;
use hero_core::room::{
    self, ConnectSnapshot, Connected, Connection, Joining, Resume, RoomKey, RoomKind,
};

impl Room {
    pub(super) async fn connect_socket(
        &self,
        key: &RoomKey,
        store: &Store,
        joining: Joining,
    ) -> RoomResult<Response> {
        self.load_for_connect(key, store).await?;
        // From here to the accept nothing is awaited: a delete that landed during the
        // loading is in storage, and one that lands later closes this socket with the rest.
        let sockets = Sockets::of(&self.state);
        let live = || sockets.connections();
        let snapshot = self.connect_snapshot(key, &joining, &sockets, &live)?;
        let open = snapshot.open_sockets;
        match room::on_connect(snapshot) {
            Connected::NotFound => Err(RoomError::Refused(ApiError::task_not_found())),
            Connected::Refused {
                code,
                reason,
                effects,
            } => {
                tracing::warn!(
                    event = "refused",
                    code,
                    reason,
                    connections = open,
                    "room event"
                );
                self.carry_out(effects, None).await?;
                let pair = WebSocketPair::new()?;
                pair.server.accept()?;
                pair.server.close(Some(code), Some(reason))?;
                upgraded(pair.client, store)
            }
            Connected::Accepted {
                connection,
                resume,
                effects,
            } => {
                log_connected(&connection, &resume, open, joining.since);
                let pair = WebSocketPair::new()?;
                let origin = Origin {
                    connection_id: &connection.id,
                    ws: &pair.server,
                    joining: true,
                };
                self.carry_out(effects, Some(origin)).await?;
                upgraded(pair.client, store)
            }
        }
    }

    /// A board counts its workspace if it never has; a task room loads its task if it does
    /// not know it (whether it exists is decided from storage afterwards). Then the room
    /// catches up, so a resuming client replays everything committed so far.
    pub(super) async fn load_for_connect(&self, key: &RoomKey, store: &Store) -> RoomResult<()> {
        match key.kind() {
            RoomKind::Board => {
                self.storage.remember(key)?;
                self.ensure_board_counted(key, store).await?;
            }
            RoomKind::Task => {
                let turn = self.turn.lock().await;
                let exists = self.current_task(key, store, &turn).await?.is_some();
                drop(turn);
                if !exists {
                    return Ok(());
                }
            }
        }
        if let Err(error) = self.catch_up(key, store).await {
            tracing::error!(cause = %error, "room catch-up from D1 failed");
        }
        Ok(())
    }

    /// Everything a connect decides on, read without reading anyone else's attachment: the
    /// runtime's socket count, this user's sockets by their tag, and storage.
    fn connect_snapshot<'a>(
        &'a self,
        key: &RoomKey,
        joining: &'a Joining,
        sockets: &Sockets,
        live: &'a dyn Fn() -> Vec<Connection>,
    ) -> RoomResult<ConnectSnapshot<'a>> {
        let user_id = &joining.principal.user_id;
        let kind = key.kind();
        Ok(ConnectSnapshot {
            now_ms: now_ms(),
            limits: self.limits(),
            kind,
            connection_id: uuid::Uuid::new_v4().to_string(),
            joining,
            task_gone: kind == RoomKind::Task && !self.storage.task_is_current()?,
            open_sockets: sockets.count(),
            room_sockets: sockets.count_room(),
            listed: self.storage.presence()?,
            live,
            same_user: sockets.connections_of(user_id),
            connect_window: self.storage.connect_window(user_id)?,
            returning: self.storage.departure_of(user_id)?,
            log: self.storage.log_view()?,
            task_presence: match kind {
                RoomKind::Board => self.storage.task_viewers()?,
                RoomKind::Task => Default::default(),
            },
        })
    }
}

fn log_connected(connection: &Connection, resume: &Resume, open: usize, since: Option<u64>) {
    tracing::Span::current().record("connection_id", connection.id.as_str());
    tracing::Span::current().record("user_id", connection.user.id.as_str());
    tracing::info!(
        event = "connected",
        connections = open + 1,
        resumed = matches!(resume, Resume::Replay { .. }),
        "room event"
    );
    if let Resume::Resync { reason } = resume {
        tracing::info!(event = "resync", reason = %reason, since = since.unwrap_or_default(), "room event");
    }
}

/// The 101 that hands the client its socket, with what accepting it cost.
pub(super) fn upgraded(client: worker::WebSocket, store: &Store) -> RoomResult<Response> {
    let response = Response::from_websocket(client)?;
    response
        .headers()
        .set(hero_core::cost::COST_HEADER, &store.cost().to_header())?;
    Ok(response)
}
