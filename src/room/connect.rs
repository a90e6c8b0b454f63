//! A new connection: a task room checks that its task exists in this workspace (a 404
//! otherwise, before any upgrade), a board counts its workspace if it never has; the room
//! catches up, applies its cap, accepts the socket with its attachment and tags, and sends
//! the first frames in the order [`greeting`] fixes.

use worker::{Request, Response, Result, WebSocketPair};

use super::object::{refuse, Room};
use super::sockets::Sockets;
use super::stub::{DEV_TOKENS_HEADER, PRINCIPAL_HEADER};
use crate::runtime::now_ms;
use crate::store::Store;
use hero_core::auth::Principal;
use hero_core::error::ApiError;
use hero_core::protocol::{ServerMessage, UserInfo};
use hero_core::room::{
    self, admission, count_connect, greeting, Connection, Outbound, RateWindow, Resume, RoomKey,
};

impl Room {
    pub(super) async fn accept_connection(
        &self,
        req: &Request,
        key: &RoomKey,
        store: &Store,
    ) -> Result<Response> {
        let principal: Principal = match req
            .headers()
            .get(PRINCIPAL_HEADER)?
            .map(|raw| serde_json::from_str(&raw))
        {
            Some(Ok(principal)) => principal,
            _ => return Response::error("missing principal", 400),
        };
        let since = req
            .url()?
            .query_pairs()
            .find(|(name, _)| name == "since")
            .and_then(|(_, value)| value.parse::<u64>().ok());
        if key.is_board() {
            self.storage.remember(key)?;
            self.ensure_board_counted(key, store).await?;
        } else {
            let turn = self.turn.lock().await;
            let exists = self.current_task(key, store, &turn).await?.is_some();
            drop(turn);
            if !exists {
                return refuse(&ApiError::task_not_found(), store.cost());
            }
        }
        // Catch up first, so a resuming client replays everything committed so far.
        if let Err(error) = self.catch_up(key, store).await {
            tracing::error!(cause = %error, "room catch-up from D1 failed");
        }
        let pair = WebSocketPair::new()?;
        let server = pair.server;
        let sockets = Sockets::of(&self.state);
        // Counted without reading anyone else's attachment: the runtime's socket list, and
        // this user's own sockets by their tag.
        let open = self.state.get_websockets().len();
        // A restart drops sockets without a close event: whoever the stored list still
        // names without a socket is dropped here, and leaves (see `room::reconcile`).
        let mut listed = self.storage.presence()?;
        if let Some((rebuilt, ghosts)) = room::reconcile(&listed, open, || sockets.connections()) {
            tracing::warn!(
                event = "presence_rebuilt",
                ghosts = ghosts.len(),
                "room event"
            );
            self.storage.replace_presence(&rebuilt)?;
            listed = rebuilt;
            self.dispatch(None, ghosts);
        }
        let same_user = sockets.connections_of(&principal.user_id);
        let connects = count_connect(self.storage.connect_window(&principal.user_id)?, now_ms());
        self.storage
            .save_connect_window(&principal.user_id, connects)?;
        if let Err((code, reason)) = admission(open, same_user.len(), connects, self.limits()) {
            tracing::warn!(
                event = "refused",
                code,
                reason,
                connections = open,
                user_connections = same_user.len(),
                "room event"
            );
            server.accept()?;
            server.close(Some(code), Some(reason))?;
            return upgraded(pair.client, store);
        }
        let connection = Connection {
            id: uuid::Uuid::new_v4().to_string(),
            user: UserInfo {
                id: principal.user_id.clone(),
                name: principal.name.clone(),
                avatar_url: principal.avatar_url.clone(),
            },
            can_write: principal.can_write(),
            dev_tokens: req
                .headers()
                .get(DEV_TOKENS_HEADER)?
                .is_some_and(|v| v == "true"),
            expires_at_ms: principal.expires_at.saturating_mul(1000),
            typing: None,
            editing: None,
            rate: RateWindow::default(),
        };
        sockets.accept(&server, &connection)?;

        let mut departures = self.storage.departure_of(&connection.user.id)?;
        let seq = self.storage.position()?.seq;
        let resume = room::resume(since, seq, self.storage.oldest_kept()?);
        let replay = match resume {
            Resume::Replay { since } => self.storage.events_after(since)?,
            _ => Vec::new(),
        };
        tracing::Span::current().record("connection_id", connection.id.as_str());
        tracing::Span::current().record("user_id", connection.user.id.as_str());
        tracing::info!(
            event = "connected",
            connections = open + 1,
            resumed = matches!(resume, Resume::Replay { .. }),
            replayed = replay.len(),
            "room event"
        );
        if let Resume::Resync { reason } = &resume {
            tracing::info!(event = "resync", reason = %reason, since = since.unwrap_or_default(), "room event");
        }
        let mut first_frames = greeting(
            &connection,
            &same_user,
            listed,
            &mut departures,
            seq,
            &resume,
            replay,
        );
        if key.is_board() {
            // Who is in each task's room, for the cards the board shows.
            if let Some(Outbound::Reply(ServerMessage::Welcome { task_presence, .. })) =
                first_frames.first_mut()
            {
                *task_presence = Some(self.storage.task_viewers()?);
            }
        }
        self.storage
            .save_departure_of(&connection.user.id, &departures)?;
        self.refresh_presence_of(&connection.user.id)?;
        self.dispatch(Some((&connection.id, &server)), first_frames);
        self.settle_presence().await?;
        if key.is_board() {
            self.send_analytics(Some(&server));
            // While watched, the board's figures are refreshed when the day turns.
            if let Some(day_turn) = room::board_day_turn(now_ms(), true) {
                self.alarm_no_later_than(day_turn).await?;
            }
        }
        // Joining removes departures and adds only this token's expiry.
        self.alarm_no_later_than(connection.expires_at_ms).await?;
        upgraded(pair.client, store)
    }
}

/// The 101 that hands the client its socket, with what accepting it cost.
fn upgraded(client: worker::WebSocket, store: &Store) -> Result<Response> {
    let response = Response::from_websocket(client)?;
    response
        .headers()
        .set(hero_core::cost::COST_HEADER, &store.cost().to_header())?;
    Ok(response)
}
