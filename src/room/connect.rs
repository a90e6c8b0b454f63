//! A new connection: the room catches up, applies its cap, accepts the socket with its
//! attachment and tags, and sends the first frames in the order [`greeting`] fixes.

use worker::{Request, Response, Result, WebSocketPair};

use super::object::Room;
use super::sockets::Sockets;
use super::stub::PRINCIPAL_HEADER;
use hero_core::auth::Principal;
use hero_core::protocol::UserInfo;
use hero_core::room::{self, admission, greeting, Connection, RateWindow, Resume, RoomKey};

impl Room {
    pub(super) async fn accept_connection(&self, req: &Request, key: &RoomKey) -> Result<Response> {
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
        // Catch up first, so a resuming client replays everything committed so far.
        if let Err(error) = self.catch_up(key).await {
            tracing::error!(cause = %error, "room catch-up from D1 failed");
        }
        let pair = WebSocketPair::new()?;
        let server = pair.server;
        let sockets = Sockets::of(&self.state);
        let existing = sockets.connections();
        if let Err((code, reason)) = admission(existing.len(), self.limits()) {
            tracing::warn!(
                event = "room_full",
                connections = existing.len(),
                "room event"
            );
            server.accept()?;
            server.close(Some(code), Some(reason))?;
            return Response::from_websocket(pair.client);
        }
        let connection = Connection {
            id: uuid::Uuid::new_v4().to_string(),
            user: UserInfo {
                id: principal.user_id.clone(),
                name: principal.name.clone(),
                avatar_url: principal.avatar_url.clone(),
            },
            can_write: principal.can_write(),
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
            connections = existing.len() + 1,
            resumed = matches!(resume, Resume::Replay { .. }),
            replayed = replay.len(),
            "room event"
        );
        if let Resume::Resync { reason } = &resume {
            tracing::info!(event = "resync", reason = %reason, since = since.unwrap_or_default(), "room event");
        }
        let first_frames = greeting(
            &connection,
            &existing,
            &mut departures,
            seq,
            &resume,
            replay,
        );
        self.storage
            .save_departure_of(&connection.user.id, &departures)?;
        self.dispatch(Some((&connection.id, &server)), first_frames);
        if key.is_board() {
            if let Ok(db) = self.env.d1("DB") {
                self.send_analytics(&db, key, Some(&server)).await;
            }
        }
        // Joining removes departures and adds only this token's expiry.
        self.alarm_no_later_than(connection.expires_at_ms).await?;
        Response::from_websocket(pair.client)
    }
}
