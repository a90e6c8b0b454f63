//! The `Room` Durable Object's entry points: the Worker's calls (`/connect`, `/catch-up`),
//! socket messages and closes, and the alarm.
//!
//! One instance per task (`task:<workspace>:<id>`) and one per workspace board
//! (`board:<workspace>`). It is hibernation-safe by construction:
//! - each connection's state is its socket attachment ([`super::sockets`]); nothing about
//!   connections is kept in memory;
//! - the event log, its position in D1's change log and pending departures live in the
//!   object's SQLite ([`super::storage`]);
//! - `{"type":"ping"}` is answered by the runtime (`set_websocket_auto_response`) without
//!   waking the object;
//! - the only timer is the storage alarm ([`super::alarm`]), set to the next time-driven
//!   job (typing expiry, presence grace, token expiry) and cleared when there is none. (A
//!   busy room's broadcast pacing waits inside the request that is already running; it
//!   never wakes a room.)
//!
//! The in-memory fields are caches and a re-entrancy guard, all safe to lose.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;

use futures::lock::Mutex;
use serde::de::DeserializeOwned;

use tracing::Instrument;
use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, State, WebSocket,
    WebSocketIncomingMessage, WebSocketRequestResponsePair,
};

use super::sockets::Sockets;
use super::storage::RoomStorage;
use super::stub::{
    ANALYTICS_PATH, CONNECT_PATH, NOTICE_PATH, REQUEST_ID_HEADER, ROOM_HEADER, VIEWERS_PATH,
    WRITE_PATH,
};
use crate::runtime::{now_ms, setting};
use crate::store::Store;
use hero_core::config::{room_limits, Config};
use hero_core::cost::{Cost, COST_HEADER};
use hero_core::error::ApiError;
use hero_core::protocol::{ServerMessage, PING_FRAME, PONG_FRAME};
use hero_core::room::{
    self, day_number, Connection, Frame, Limits, Outbound, RoomKey, RoomKind, TaskViewers,
};

#[durable_object]
pub struct Room {
    pub(super) state: State,
    pub(super) env: Env,
    pub(super) storage: RoomStorage,
    limits: AssertUnwindSafe<OnceCell<Limits>>,
    /// Which room this is, read once from storage.
    key: AssertUnwindSafe<OnceCell<RoomKey>>,
    /// Commits to a task (and a board's first count of its workspace) take turns, one at a
    /// time, so each is decided against the row the one before it left. In memory: after
    /// eviction it starts free, and the task's row is in storage.
    pub(super) turn: AssertUnwindSafe<Mutex<()>>,
    /// True while a catch-up is reading D1; a second caller sets `catch_up_again` instead
    /// of starting a parallel one that could apply the same changes twice.
    pub(super) catching_up: AssertUnwindSafe<Cell<bool>>,
    pub(super) catch_up_again: AssertUnwindSafe<Cell<bool>>,
    /// When the last durable events went out, and to how many sockets: paces the next
    /// broadcast. Losing it only means one unpaced broadcast.
    pub(super) last_broadcast: AssertUnwindSafe<Cell<Option<(i64, usize)>>>,
    /// Writes waiting for the commit under way ([`super::write`]), and whether one is.
    pub(super) queue: AssertUnwindSafe<RefCell<VecDeque<super::write::QueuedWrite>>>,
    pub(super) committing: AssertUnwindSafe<Cell<bool>>,
    /// The idempotency keys (user and key) of the keyed writes being made right now, so a
    /// second request with the same key is told it is in use. In memory on purpose: a write
    /// in progress keeps the room awake, and an evicted room has none.
    pub(super) keys_in_flight: AssertUnwindSafe<RefCell<std::collections::HashSet<String>>>,
    /// A task room tells its board who is here one report at a time; what changes meanwhile
    /// goes in the next one, so a room filling up sends a few reports, not one per join.
    pub(super) viewers_report: AssertUnwindSafe<std::rc::Rc<super::dispatch::ReportInFlight>>,
    /// Events in the log that the next flush sends ([`super::publish`]).
    pub(super) unsent: AssertUnwindSafe<RefCell<Vec<String>>>,
    /// True while a flush waits for the room's frame budget; later events go with it.
    pub(super) flush_waiting: AssertUnwindSafe<Cell<bool>>,
    /// The task was deleted: every socket closes once the last events are out.
    pub(super) close_after_flush: AssertUnwindSafe<Cell<bool>>,
    /// When presence last went out, and when a held-back diff is due ([`super::presence`]).
    pub(super) last_presence: AssertUnwindSafe<Cell<Option<i64>>>,
    pub(super) presence_due: AssertUnwindSafe<Cell<Option<i64>>>,
}

/// A room's answer as JSON, with what answering cost in D1.
fn reply<T: serde::Serialize>(status: u16, body: &T, cost: Cost) -> Result<Response> {
    let response = Response::from_json(body)?.with_status(status);
    response.headers().set(COST_HEADER, &cost.to_header())?;
    Ok(response)
}

/// A refusal the Worker turns back into the error (see `stub::refusal`).
pub(super) fn refuse(error: &ApiError, cost: Cost) -> Result<Response> {
    reply(error.status_code(), error, cost)
}

async fn body<T: DeserializeOwned>(mut req: Request) -> std::result::Result<T, ApiError> {
    req.json::<T>()
        .await
        .map_err(|e| ApiError::BadRequest(format!("room call body: {e}")))
}

impl DurableObject for Room {
    fn new(state: State, env: Env) -> Self {
        hero_core::logging::apply_log_level(setting(&env, "LOG_LEVEL").as_deref());
        let storage = RoomStorage::open(state.storage().sql());
        if let Ok(pair) = WebSocketRequestResponsePair::new(PING_FRAME, PONG_FRAME) {
            state.set_websocket_auto_response(&pair);
        }
        Room {
            state,
            env,
            storage,
            limits: AssertUnwindSafe(OnceCell::new()),
            key: AssertUnwindSafe(OnceCell::new()),
            turn: AssertUnwindSafe(Mutex::new(())),
            catching_up: AssertUnwindSafe(Cell::new(false)),
            catch_up_again: AssertUnwindSafe(Cell::new(false)),
            last_broadcast: AssertUnwindSafe(Cell::new(None)),
            queue: AssertUnwindSafe(RefCell::new(VecDeque::new())),
            committing: AssertUnwindSafe(Cell::new(false)),
            keys_in_flight: AssertUnwindSafe(RefCell::new(Default::default())),
            viewers_report: AssertUnwindSafe(Default::default()),
            unsent: AssertUnwindSafe(RefCell::new(Vec::new())),
            flush_waiting: AssertUnwindSafe(Cell::new(false)),
            close_after_flush: AssertUnwindSafe(Cell::new(false)),
            last_presence: AssertUnwindSafe(Cell::new(None)),
            presence_due: AssertUnwindSafe(Cell::new(None)),
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
        let request_id = req.headers().get(REQUEST_ID_HEADER)?.unwrap_or_default();
        let span = tracing::info_span!(
            "room",
            room = %key.object_name(),
            request_id = %request_id,
            connection_id = tracing::field::Empty,
            user_id = tracing::field::Empty,
        );
        async {
            let store = match Store::open(&self.env) {
                Ok(store) => store,
                Err(error) => return refuse(&ApiError::internal(error), Cost::default()),
            };
            match (req.path().as_str(), key.is_board()) {
                (CONNECT_PATH, _) => self.accept_connection(&req, &key, &store).await,
                (WRITE_PATH, false) => match body(req).await {
                    Ok(write) => {
                        let (answer, stages) = self.write(&key, &store, write, &request_id).await?;
                        let response = reply(200, &answer, store.cost())?;
                        response
                            .headers()
                            .set("Server-Timing", &stages.header(""))?;
                        Ok(response)
                    }
                    Err(error) => refuse(&error, store.cost()),
                },
                (NOTICE_PATH, true) => match body(req).await {
                    Ok(notice) => {
                        self.storage.remember(&key)?;
                        self.take_notice(&key, &store, notice).await?;
                        let cost = store.cost();
                        tracing::info!(
                            event = "notice",
                            d1_calls = cost.d1_calls,
                            d1_queries = cost.d1_queries,
                            rows_read = cost.rows_read,
                            "room event"
                        );
                        reply(200, &serde_json::json!({}), cost)
                    }
                    Err(error) => refuse(&error, store.cost()),
                },
                (VIEWERS_PATH, true) => match body::<TaskViewers>(req).await {
                    Ok(report) => {
                        self.storage.remember(&key)?;
                        if self.storage.take_task_viewers(&report)? {
                            let frame = ServerMessage::TaskPresence {
                                task_id: report.task_id.to_string(),
                                users: report.users,
                            };
                            Sockets::of(&self.state).broadcast(&frame.to_json(), None);
                        }
                        reply(200, &serde_json::json!({}), store.cost())
                    }
                    Err(error) => refuse(&error, store.cost()),
                },
                (ANALYTICS_PATH, true) => {
                    self.storage.remember(&key)?;
                    let report = self.board_report(&key, &store).await?;
                    reply(200, &report, store.cost())
                }
                _ => refuse(
                    &ApiError::NotFound("unknown room call".into()),
                    Cost::default(),
                ),
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
            let editing_before = connection.editing.clone();
            let Some(key) = self.key() else {
                return Ok(());
            };
            let kind = match key.is_board() {
                true => RoomKind::Board,
                false => RoomKind::Task,
            };
            let mut outbounds =
                room::handle_frame(&mut connection, frame, now_ms(), self.limits(), kind);
            // A token refresh is verified here, as the Worker would (it may fetch keys).
            if let Some(Outbound::Verify { token, id }) = outbounds
                .iter()
                .find(|o| matches!(o, Outbound::Verify { .. }))
                .cloned()
            {
                outbounds.retain(|o| !matches!(o, Outbound::Verify { .. }));
                let verified = self.verify_refresh(&token, connection.dev_tokens).await;
                let answer = room::refreshed(
                    &mut connection,
                    verified.as_ref().map_err(|e| e.problem().detail),
                    key.workspace_id(),
                    id,
                );
                outbounds.extend(answer);
            }
            ws.serialize_attachment(&connection)?;
            if connection.editing != editing_before {
                self.refresh_presence_of(&connection.user.id)?;
            }
            self.dispatch(Some((&connection.id, &ws)), outbounds);
            self.settle_presence().await?;
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
            let sockets = Sockets::of(&self.state).all();
            let mut connections: Vec<Connection> = sockets.iter().map(|(_, c)| c.clone()).collect();
            let mut departures = self.storage.departures()?;
            let outbounds = room::on_alarm(&mut connections, &mut departures, now_ms());
            for ((ws, before), after) in sockets.iter().zip(&connections) {
                if before != after {
                    ws.serialize_attachment(after)?;
                }
            }
            self.storage.save_departures(&departures)?;
            self.dispatch(None, outbounds);
            self.flush_presence_if_due()?;
            // A board's figures move with the calendar: resend them when the day turned.
            if self.storage.board_counted()?
                && !connections.is_empty()
                && self.storage.analytics_day()? != day_number(now_ms())
            {
                self.send_analytics(None);
            }
            self.schedule_alarm().await?;
            Response::empty()
        }
        .instrument(span)
        .await
    }
}

impl Room {
    /// Which room this is, from storage (the key is recorded on first contact).
    pub(super) fn key(&self) -> Option<RoomKey> {
        if let Some(key) = self.key.get() {
            return Some(key.clone());
        }
        let key = self.storage.key()?;
        Some(self.key.get_or_init(|| key).clone())
    }

    /// This room's name for logs.
    fn name(&self) -> String {
        self.key()
            .map_or_else(|| "unknown".to_owned(), |key| key.object_name())
    }

    /// Verifies a refreshed token exactly as the Worker verifies a request's.
    async fn verify_refresh(
        &self,
        token: &str,
        dev_tokens: bool,
    ) -> std::result::Result<hero_core::auth::Principal, ApiError> {
        let config =
            Config::from_lookup(|name| setting(&self.env, name)).map_err(ApiError::internal)?;
        crate::tokens::verify(&config, token, dev_tokens).await
    }

    fn connection_span(&self, connection: &Connection) -> tracing::Span {
        tracing::info_span!(
            "room",
            room = %self.name(),
            connection_id = %connection.id,
            user_id = %connection.user.id,
        )
    }

    pub(super) fn limits(&self) -> &Limits {
        self.limits.get_or_init(|| {
            room_limits(|name| setting(&self.env, name)).unwrap_or_else(|error| {
                tracing::error!(cause = %error, "room limits invalid; using defaults");
                Limits::default()
            })
        })
    }

    /// Closes one connection from our side and lets the room know it is gone at once,
    /// without waiting for the client's close frame (a dead client never sends one).
    pub(super) fn close_connection(&self, connection_id: &str, code: u16, reason: &str) {
        for ws in Sockets::of(&self.state).by_connection_id(connection_id) {
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
        // Only this user's other tabs matter to their departure: a thousand sockets closing
        // at once is linear work.
        let same_user: Vec<Connection> = Sockets::of(&self.state)
            .connections_of(&gone.user.id)
            .into_iter()
            .filter(|c| c.id != gone.id)
            .collect();
        let mut departures = Vec::new();
        let outbounds = room::leave(&same_user, &mut departures, &gone, now_ms(), self.limits());
        self.storage.save_departure_of(&gone.user.id, &departures)?;
        self.refresh_presence_of(&gone.user.id)?;
        self.dispatch(Some((&gone.id, ws)), outbounds);
        Ok(departures.iter().map(|d| d.due_ms).min())
    }

    async fn forget(&self, ws: &WebSocket) -> Result<()> {
        // A departure only adds a deadline (its `user_left`), as does a held-back diff.
        let departure = self.leave(ws)?;
        self.settle_presence().await?;
        match departure {
            Some(due_ms) => self.alarm_no_later_than(due_ms).await,
            None => Ok(()),
        }
    }
}
