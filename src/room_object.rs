//! The `Room` Durable Object: runtime glue around [`crate::room`].
//!
//! One instance per task (`task:<id>`) and one per workspace board (`board:<workspace>`).
//! It is hibernation-safe by construction:
//! - each connection's state is its socket attachment, and sockets come from
//!   `get_websockets()`; nothing about connections is kept in memory;
//! - the event log, its position in D1's change log and pending departures live in the
//!   object's SQLite storage;
//! - `{"type":"ping"}` is answered by the runtime (`set_websocket_auto_response`) without
//!   waking the object, and the only timer is the storage alarm, set to the next
//!   time-driven job (typing expiry, presence grace, token expiry) and cleared when none.
//!
//! The in-memory fields are caches and a re-entrancy guard, all safe to lose.

use std::cell::{Cell, OnceCell};
use std::panic::AssertUnwindSafe;

use serde::Deserialize;
use tracing::Instrument;
use wasm_bindgen::JsCast;
use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, SqlStorage, SqlStorageValue,
    State, WebSocket, WebSocketIncomingMessage, WebSocketPair, WebSocketRequestResponsePair,
};

use crate::api::REQUEST_ID_HEADER;
use crate::auth::Principal;
use crate::config::room_limits;
use crate::domain::ChangeKind;
use crate::protocol::codes;
use crate::protocol::{
    batch_frames, close, ServerMessage, UserInfo, BATCH_MAX_BYTES, BATCH_MAX_EVENTS,
};
use crate::room::{self, Connection, Departure, Frame, Limits, Outbound, RateWindow, Resume};
use crate::rooms::{RoomKey, PRINCIPAL_HEADER, ROOM_HEADER};
use crate::store;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// A WebSocket seen only for its `send`. `send_with_str` takes a Rust `&str` and copies
    /// it into a fresh JS string on every call; a broadcast converts its frame once and hands
    /// the same JS string to every socket through this binding.
    type TextSocket;

    #[wasm_bindgen(method, catch, js_name = send)]
    fn send(
        this: &TextSocket,
        frame: &wasm_bindgen::JsValue,
    ) -> std::result::Result<(), wasm_bindgen::JsValue>;
}

/// How many D1 change rows a room reads per query while catching up.
const DRAIN_BATCH: u32 = 200;

/// The exact frame the runtime answers for us, so pings never wake a hibernating room.
pub const PING_FRAME: &str = r#"{"type":"ping"}"#;
pub const PONG_FRAME: &str = r#"{"type":"pong"}"#;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS room_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    room          TEXT    NOT NULL,            -- RoomKey as JSON
    seq           INTEGER NOT NULL DEFAULT 0,  -- last durable event's seq
    change_cursor INTEGER NOT NULL DEFAULT 0   -- last D1 task_changes.id applied
);
CREATE TABLE IF NOT EXISTS room_events (
    seq   INTEGER PRIMARY KEY,                 -- the event's seq
    frame TEXT    NOT NULL                     -- the JSON frame, sent as-is on replay
);
CREATE TABLE IF NOT EXISTS room_departures (
    user_id TEXT    PRIMARY KEY,
    due_ms  INTEGER NOT NULL                   -- when user_left goes out unless they return
);";

#[derive(Deserialize)]
struct StateRow {
    seq: f64,
    change_cursor: f64,
}

#[derive(Deserialize)]
struct OldestRow {
    oldest: Option<f64>,
}

#[derive(Deserialize)]
struct FrameRow {
    frame: String,
}

#[derive(Deserialize)]
struct DepartureRow {
    user_id: String,
    due_ms: f64,
}

#[durable_object]
pub struct Room {
    state: State,
    env: Env,
    sql: SqlStorage,
    limits: AssertUnwindSafe<OnceCell<Limits>>,
    /// The room's name for logs, read once from storage.
    name: AssertUnwindSafe<OnceCell<String>>,
    /// True while a drain is reading D1; a second caller sets `drain_again` instead of
    /// starting a parallel drain that could apply the same changes twice.
    draining: AssertUnwindSafe<Cell<bool>>,
    drain_again: AssertUnwindSafe<Cell<bool>>,
    /// When the last durable events went out, and to how many sockets: paces the next
    /// broadcast (`room::broadcast_delay_ms`). Losing it only means one unpaced broadcast.
    last_broadcast: AssertUnwindSafe<Cell<Option<(i64, usize)>>>,
}

/// The second tag of every socket (the first is its connection id): finds a user's other
/// tabs without reading every attachment. User ids are at most 128 bytes; tags may be 256.
fn user_tag(user_id: &str) -> String {
    format!("user:{user_id}")
}

fn now_ms() -> i64 {
    i64::try_from(worker::Date::now().as_millis()).unwrap_or(i64::MAX)
}

fn alarm_time(at_ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(at_ms.max(now_ms() + 1)).unwrap_or_default()
}

fn int(value: i64) -> SqlStorageValue {
    SqlStorageValue::from(value)
}

impl DurableObject for Room {
    fn new(state: State, env: Env) -> Self {
        crate::logging::apply_log_level(crate::api::lookup(&env, "LOG_LEVEL").as_deref());
        let sql = state.storage().sql();
        if let Err(error) = sql.exec(SCHEMA, None) {
            tracing::error!(cause = %error, "room schema");
        }
        if let Ok(pair) = WebSocketRequestResponsePair::new(PING_FRAME, PONG_FRAME) {
            state.set_websocket_auto_response(&pair);
        }
        Room {
            state,
            env,
            sql,
            limits: AssertUnwindSafe(OnceCell::new()),
            name: AssertUnwindSafe(OnceCell::new()),
            draining: AssertUnwindSafe(Cell::new(false)),
            drain_again: AssertUnwindSafe(Cell::new(false)),
            last_broadcast: AssertUnwindSafe(Cell::new(None)),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let key: RoomKey = match req
            .headers()
            .get(ROOM_HEADER)?
            .map(|raw| serde_json::from_str(&raw))
        {
            Some(Ok(key)) => key,
            _ => return Response::error("missing room identity", 400),
        };
        self.remember(&key)?;
        let request_id = req.headers().get(REQUEST_ID_HEADER)?.unwrap_or_default();
        let span = tracing::info_span!(
            "room",
            room = %key.object_name(),
            request_id = %request_id,
            connection_id = tracing::field::Empty,
            user_id = tracing::field::Empty,
        );
        async {
            match req.path().as_str() {
                "/drain" => {
                    self.drain(&key).await?;
                    Response::empty().map(|r| r.with_status(204))
                }
                "/connect" => self.accept_connection(&req, &key).await,
                _ => Response::error("unknown room call", 404),
            }
        }
        .instrument(span)
        .await
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        let Some(mut connection) = ws.deserialize_attachment::<Connection>()? else {
            return Ok(()); // already closed by us
        };
        let span = self.connection_span(&connection);
        async move {
            let frame = match &message {
                WebSocketIncomingMessage::String(text) => Frame::Text(text),
                WebSocketIncomingMessage::Binary(bytes) => Frame::Binary(bytes.len()),
            };
            let typing_before = connection.typing.clone();
            let outbounds = room::handle_frame(&mut connection, frame, now_ms(), self.limits());
            ws.serialize_attachment(&connection)?;
            self.dispatch(Some((&connection.id, &ws)), outbounds);
            if let Some(typing) = connection
                .typing
                .as_ref()
                .filter(|t| Some(*t) != typing_before.as_ref())
            {
                self.alarm_no_later_than(typing.until_ms).await?;
            }
            Ok(())
        }
        .instrument(span)
        .await
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> Result<()> {
        let _ = ws.close(Some(1000), Some("closed"));
        let span = match ws.deserialize_attachment::<Connection>() {
            Ok(Some(connection)) => self.connection_span(&connection),
            _ => tracing::Span::none(),
        };
        async {
            tracing::info!(event = "disconnected", code, "room event");
            self.forget(&ws).await
        }
        .instrument(span)
        .await
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        self.forget(&ws).await
    }

    async fn alarm(&self) -> Result<Response> {
        let span = tracing::info_span!("room", room = %self.name());
        async {
            tracing::debug!(event = "alarm", "room event");
            let sockets = self.sockets();
            let mut connections: Vec<Connection> = sockets.iter().map(|(_, c)| c.clone()).collect();
            let mut departures = self.departures()?;
            let outbounds = room::on_alarm(&mut connections, &mut departures, now_ms());
            for ((ws, before), after) in sockets.iter().zip(&connections) {
                if before != after {
                    ws.serialize_attachment(after)?;
                }
            }
            self.save_departures(&departures)?;
            self.dispatch(None, outbounds);
            self.schedule_alarm().await?;
            Response::empty()
        }
        .instrument(span)
        .await
    }
}

impl Room {
    /// This room's name for logs, from storage (the key is recorded on first contact).
    fn name(&self) -> String {
        if let Some(name) = self.name.get() {
            return name.clone();
        }
        #[derive(Deserialize)]
        struct RoomRow {
            room: String,
        }
        let rows: Vec<RoomRow> = self
            .sql
            .exec("SELECT room FROM room_state WHERE id = 1", None)
            .and_then(|cursor| cursor.to_array())
            .unwrap_or_default();
        match rows
            .first()
            .and_then(|row| serde_json::from_str::<RoomKey>(&row.room).ok())
        {
            Some(key) => self.name.get_or_init(|| key.object_name()).clone(),
            None => "unknown".to_owned(),
        }
    }

    fn connection_span(&self, connection: &Connection) -> tracing::Span {
        tracing::info_span!(
            "room",
            room = %self.name(),
            connection_id = %connection.id,
            user_id = %connection.user.id,
        )
    }

    fn limits(&self) -> &Limits {
        self.limits.get_or_init(|| {
            room_limits(|name| crate::api::lookup(&self.env, name)).unwrap_or_else(|error| {
                tracing::error!(cause = %error, "room limits invalid; using defaults");
                Limits::default()
            })
        })
    }

    /// Records which room this object is, the first time it hears.
    fn remember(&self, key: &RoomKey) -> Result<()> {
        let key_json =
            serde_json::to_string(key).map_err(|e| worker::Error::RustError(e.to_string()))?;
        self.sql.exec(
            "INSERT OR IGNORE INTO room_state (id, room) VALUES (1, ?)",
            vec![key_json.into()],
        )?;
        Ok(())
    }

    fn position(&self) -> Result<(u64, i64)> {
        let rows: Vec<StateRow> = self
            .sql
            .exec(
                "SELECT seq, change_cursor FROM room_state WHERE id = 1",
                None,
            )?
            .to_array()?;
        Ok(rows
            .first()
            .map_or((0, 0), |r| (r.seq as u64, r.change_cursor as i64)))
    }

    fn oldest_kept(&self) -> Result<Option<u64>> {
        let rows: Vec<OldestRow> = self
            .sql
            .exec("SELECT MIN(seq) AS oldest FROM room_events", None)?
            .to_array()?;
        Ok(rows.first().and_then(|r| r.oldest).map(|v| v as u64))
    }

    fn departures(&self) -> Result<Vec<Departure>> {
        self.read_departures("SELECT user_id, due_ms FROM room_departures", None)
    }

    /// The pending departure of one user, if any (a join needs no one else's).
    fn departure_of(&self, user_id: &str) -> Result<Vec<Departure>> {
        self.read_departures(
            "SELECT user_id, due_ms FROM room_departures WHERE user_id = ?",
            Some(vec![user_id.into()]),
        )
    }

    fn read_departures(
        &self,
        query: &str,
        bindings: Option<Vec<SqlStorageValue>>,
    ) -> Result<Vec<Departure>> {
        let rows: Vec<DepartureRow> = self.sql.exec(query, bindings)?.to_array()?;
        Ok(rows
            .into_iter()
            .map(|r| Departure {
                user_id: r.user_id,
                due_ms: r.due_ms as i64,
            })
            .collect())
    }

    /// Stores `departures` for `user_id` alone, leaving everyone else's as they are.
    fn save_departure_of(&self, user_id: &str, departures: &[Departure]) -> Result<()> {
        self.sql.exec(
            "DELETE FROM room_departures WHERE user_id = ?",
            vec![user_id.into()],
        )?;
        for departure in departures.iter().filter(|d| d.user_id == user_id) {
            self.sql.exec(
                "INSERT INTO room_departures (user_id, due_ms) VALUES (?, ?)",
                vec![departure.user_id.clone().into(), int(departure.due_ms)],
            )?;
        }
        Ok(())
    }

    /// The live connections of one user, found by their tag, without reading anyone else's.
    fn connections_of(&self, user_id: &str) -> Vec<Connection> {
        self.state
            .get_websockets_with_tag(&user_tag(user_id))
            .into_iter()
            .filter_map(|ws| ws.deserialize_attachment::<Connection>().ok().flatten())
            .collect()
    }

    fn save_departures(&self, departures: &[Departure]) -> Result<()> {
        self.sql.exec("DELETE FROM room_departures", None)?;
        for departure in departures {
            self.sql.exec(
                "INSERT INTO room_departures (user_id, due_ms) VALUES (?, ?)",
                vec![departure.user_id.clone().into(), int(departure.due_ms)],
            )?;
        }
        Ok(())
    }

    /// Every live connection with its state. A socket we closed has no attachment.
    fn sockets(&self) -> Vec<(WebSocket, Connection)> {
        self.state
            .get_websockets()
            .into_iter()
            .filter_map(|ws| match ws.deserialize_attachment::<Connection>() {
                Ok(Some(connection)) => Some((ws, connection)),
                _ => None,
            })
            .collect()
    }

    /// Sends one frame to every connection, except `skip`. The frame is serialized once and
    /// converted to a JS string once, however many sockets there are.
    /// Returns how many sockets there were.
    fn broadcast(&self, frame: &str, skip: Option<&str>) -> usize {
        let frame = wasm_bindgen::JsValue::from_str(frame);
        let sockets = self.state.get_websockets();
        let count = sockets.len();
        for ws in sockets {
            if let Some(skip) = skip {
                if self.state.get_tags(&ws).first().map(String::as_str) == Some(skip) {
                    continue;
                }
            }
            // A socket that is closing may refuse; its close handler cleans up.
            let _ = ws.as_ref().unchecked_ref::<TextSocket>().send(&frame);
        }
        count
    }

    fn dispatch(&self, sender: Option<(&str, &WebSocket)>, outbounds: Vec<Outbound>) {
        for outbound in outbounds {
            log_outbound(&outbound);
            match outbound {
                Outbound::Reply(message) => {
                    if let Some((_, ws)) = sender {
                        let _ = ws.send_with_str(message.to_json());
                    }
                }
                Outbound::Others(message) => {
                    self.broadcast(&message.to_json(), sender.map(|(id, _)| id));
                }
                Outbound::All(message) => {
                    self.broadcast(&message.to_json(), None);
                }
                Outbound::Close {
                    connection_id,
                    code,
                    reason,
                } => self.close_connection(&connection_id, code, &reason),
            }
        }
    }

    /// Closes one connection from our side and lets the room know it is gone at once,
    /// without waiting for the client's close frame (a dead client never sends one).
    fn close_connection(&self, connection_id: &str, code: u16, reason: &str) {
        for ws in self.state.get_websockets_with_tag(connection_id) {
            let _ = ws.close(Some(code), Some(reason));
            if let Err(error) = self.leave(&ws) {
                tracing::error!(cause = %error, "room leave after close");
            }
        }
    }

    /// Runs the departure logic for `ws` once, and clears its attachment so it is not
    /// counted again. Touches only the leaving user's sockets and departure row unless they
    /// still have another tab open, so a thousand sockets closing at once is linear work.
    /// Returns when the user's `user_left` is due, if they are gone.
    fn leave(&self, ws: &WebSocket) -> Result<Option<i64>> {
        let Some(gone) = ws.deserialize_attachment::<Connection>()? else {
            return Ok(None);
        };
        ws.serialize_attachment(())?;
        let still_here = self
            .connections_of(&gone.user.id)
            .into_iter()
            .any(|c| c.id != gone.id);
        // The full list is only needed for the `presence` a remaining tab causes.
        let remaining: Vec<Connection> = match still_here {
            true => self
                .sockets()
                .into_iter()
                .map(|(_, c)| c)
                .filter(|c| c.id != gone.id)
                .collect(),
            false => Vec::new(),
        };
        let mut departures = Vec::new();
        let outbounds = room::leave(&remaining, &mut departures, &gone, now_ms(), self.limits());
        self.save_departure_of(&gone.user.id, &departures)?;
        self.dispatch(Some((&gone.id, ws)), outbounds);
        Ok(departures.iter().map(|d| d.due_ms).min())
    }

    async fn forget(&self, ws: &WebSocket) -> Result<()> {
        // A departure only adds a deadline (its `user_left`); nothing else can come sooner.
        match self.leave(ws)? {
            Some(due_ms) => self.alarm_no_later_than(due_ms).await,
            None => Ok(()),
        }
    }

    /// Sets the one alarm to the next time-driven job, or clears it when there is none.
    async fn schedule_alarm(&self) -> Result<()> {
        let connections: Vec<Connection> = self.sockets().into_iter().map(|(_, c)| c).collect();
        let departures = self.departures()?;
        let storage = self.state.storage();
        match room::next_alarm(&connections, &departures) {
            Some(at_ms) => storage.set_alarm(alarm_time(at_ms)).await,
            None => storage.delete_alarm().await,
        }
    }

    /// Moves the alarm earlier if `at_ms` comes first. A join or a keystroke only ever adds a
    /// deadline, so the hot path need not re-read every socket's attachment; an alarm that
    /// fires early finds nothing due and reschedules from the full state.
    async fn alarm_no_later_than(&self, at_ms: i64) -> Result<()> {
        let storage = self.state.storage();
        if storage
            .get_alarm()
            .await?
            .is_some_and(|current| current <= at_ms)
        {
            return Ok(());
        }
        storage.set_alarm(alarm_time(at_ms)).await
    }

    /// Catches up with D1: applies every committed change after the room's cursor, in commit
    /// order, appending the resulting events to the log and broadcasting them.
    async fn drain(&self, key: &RoomKey) -> Result<()> {
        if self.draining.get() {
            self.drain_again.set(true);
            return Ok(());
        }
        self.draining.set(true);
        let result = self.drain_all(key).await;
        self.draining.set(false);
        result
    }

    async fn drain_all(&self, key: &RoomKey) -> Result<()> {
        let db = self.env.d1("DB")?;
        loop {
            // A busy room waits for its frame budget; what commits meanwhile is read below
            // and leaves with this broadcast, as one `batch` frame.
            if let Some((at_ms, sockets)) = self.last_broadcast.get() {
                let wait = room::broadcast_delay_ms(
                    now_ms(),
                    Some(at_ms),
                    sockets,
                    self.limits().frames_per_sec,
                );
                if wait > 0 {
                    worker::Delay::from(std::time::Duration::from_millis(wait as u64)).await;
                }
            }
            self.drain_again.set(false);
            let (_, cursor) = self.position()?;
            let rows =
                store::changes_after(&db, key.workspace_id(), key.task_id(), cursor, DRAIN_BATCH)
                    .await
                    .map_err(|e| worker::Error::RustError(e.to_string()))?;
            let fetched = rows.len();
            if fetched > 0 {
                tracing::info!(event = "applied", changes = fetched, "room event");
            }
            if fetched > 0 {
                self.append(key, rows)?;
                // The workspace report is a D1 aggregate: only worth it with someone watching.
                if key.is_board() && !self.state.get_websockets().is_empty() {
                    self.send_analytics(&db, key, None).await;
                }
            }
            if fetched < DRAIN_BATCH as usize && !self.drain_again.get() {
                return Ok(());
            }
        }
    }

    /// Appends the events of `rows` to the log and broadcasts them. Synchronous: no other
    /// event can run between the log write and the sends, and the runtime holds the sends
    /// until the write is durable.
    fn append(&self, key: &RoomKey, rows: Vec<(i64, crate::domain::Change)>) -> Result<()> {
        let (mut seq, mut cursor) = self.position()?;
        let mut frames = Vec::new();
        let mut deleted = false;
        for (change_id, change) in rows {
            if change_id <= cursor {
                continue;
            }
            for event in room::events_for_change(&change, seq + 1) {
                seq = event.seq().unwrap_or(seq + 1);
                let frame = event.to_json();
                self.sql.exec(
                    "INSERT INTO room_events (seq, frame) VALUES (?, ?)",
                    vec![int(seq as i64), frame.clone().into()],
                )?;
                frames.push(frame);
            }
            cursor = change_id;
            deleted |= !key.is_board() && change.kind == ChangeKind::Deleted;
        }
        self.sql.exec(
            "UPDATE room_state SET seq = ?, change_cursor = ? WHERE id = 1",
            vec![int(seq as i64), int(cursor)],
        )?;
        let keep_from = seq.saturating_sub(self.limits().log_size);
        self.sql.exec(
            "DELETE FROM room_events WHERE seq <= ?",
            vec![int(keep_from as i64)],
        )?;
        // Events that piled up while the room was busy (a drain reads everything committed
        // since the last one) leave as `batch` frames: one send per socket per batch.
        for frame in batch_frames(&frames, BATCH_MAX_EVENTS, BATCH_MAX_BYTES) {
            let sockets = self.broadcast(&frame, None);
            self.last_broadcast.set(Some((now_ms(), sockets)));
        }
        if deleted {
            for (ws, _) in self.sockets() {
                let _ = ws.close(Some(close::TASK_DELETED), Some("task deleted"));
                let _ = ws.serialize_attachment(());
            }
            self.save_departures(&[])?;
        }
        Ok(())
    }

    /// Board only: the workspace report, to everyone or to one new connection.
    async fn send_analytics(&self, db: &worker::D1Database, key: &RoomKey, to: Option<&WebSocket>) {
        let today = chrono::DateTime::from_timestamp_millis(now_ms())
            .unwrap_or_default()
            .date_naive();
        match store::analytics(db, key.workspace_id(), today).await {
            Ok(report) => {
                let message = ServerMessage::Analytics {
                    analytics: serde_json::to_value(report).unwrap_or_default(),
                };
                match to {
                    Some(ws) => {
                        let _ = ws.send_with_str(message.to_json());
                    }
                    None => {
                        self.broadcast(&message.to_json(), None);
                    }
                }
            }
            Err(error) => tracing::error!(cause = %error, "board analytics"),
        }
    }

    async fn accept_connection(&self, req: &Request, key: &RoomKey) -> Result<Response> {
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
        if let Err(error) = self.drain(key).await {
            tracing::error!(cause = %error, "room catch-up from D1 failed");
        }
        let pair = WebSocketPair::new()?;
        let server = pair.server;
        let existing: Vec<Connection> = self.sockets().into_iter().map(|(_, c)| c).collect();
        if existing.len() >= self.limits().max_connections {
            tracing::warn!(
                event = "room_full",
                connections = existing.len(),
                "room event"
            );
            server.accept()?;
            server.close(Some(close::TRY_AGAIN_LATER), Some("room is full"))?;
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
        self.state.accept_websocket_with_tags(
            &server,
            &[connection.id.as_str(), &user_tag(&connection.user.id)],
        );
        server.serialize_attachment(&connection)?;

        let mut departures = self.departure_of(&connection.user.id)?;
        let joined = room::join(&existing, &mut departures, &connection);
        self.save_departure_of(&connection.user.id, &departures)?;

        let (seq, _) = self.position()?;
        let mut everyone = existing;
        everyone.push(connection.clone());
        let (resumed, replay, resync) = match room::resume(since, seq, self.oldest_kept()?) {
            Resume::Fresh => (false, Vec::new(), None),
            Resume::Replay { since } => {
                let rows: Vec<FrameRow> = self
                    .sql
                    .exec(
                        "SELECT frame FROM room_events WHERE seq > ? ORDER BY seq",
                        vec![int(since as i64)],
                    )?
                    .to_array()?;
                (true, rows.into_iter().map(|row| row.frame).collect(), None)
            }
            Resume::Resync { reason } => (false, Vec::new(), Some(reason)),
        };
        let welcome = ServerMessage::Welcome {
            connection_id: connection.id.clone(),
            user: connection.user.clone(),
            presence: room::presence(&everyone),
            seq,
            resumed,
            replayed: replay.len() as u64,
        };
        tracing::Span::current().record("connection_id", connection.id.as_str());
        tracing::Span::current().record("user_id", connection.user.id.as_str());
        tracing::info!(
            event = "connected",
            connections = everyone.len(),
            resumed,
            replayed = replay.len(),
            "room event"
        );
        if let Some(reason) = &resync {
            tracing::info!(event = "resync", reason = %reason, since = since.unwrap_or_default(), "room event");
        }
        server.send_with_str(welcome.to_json())?;
        for frame in batch_frames(&replay, BATCH_MAX_EVENTS, BATCH_MAX_BYTES) {
            server.send_with_str(frame)?;
        }
        if let Some(reason) = resync {
            server.send_with_str(ServerMessage::Resync { reason, seq }.to_json())?;
        }
        self.dispatch(Some((&connection.id, &server)), joined);
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
