//! The `Room` Durable Object's entry points: the calls (one [`RoomCall`] each, answered in
//! one `match`), socket messages and closes, and the alarm. Each is load → decide → carry
//! out: it loads a snapshot, a `hero_core::room` entry point decides, and
//! [`Room::carry_out`](super::carry_out) does what it says.
//!
//! One instance per task (`task:<workspace>:<id>`) and one per workspace board
//! (`board:<workspace>`). It is hibernation-safe by construction:
//! - each connection's state is its socket attachment ([`super::sockets`]); nothing about
//!   connections is kept in memory;
//! - the event log, its position in D1's change log, presence and pending departures live
//!   in the object's SQLite ([`super::storage`]);
//! - `{"type":"ping"}` is answered by the runtime (`set_websocket_auto_response`) without
//!   waking the object;
//! - the only timer is the storage alarm, set to the next time-driven job (typing expiry,
//!   presence grace, token expiry) and cleared when there is none.
//!
//! What it keeps in memory is grouped by job, each owned by its module and safe to lose: the
//! write queue ([`super::queue`]), the outbox and its pacer ([`super::outbox`]), and the
//! one-at-a-time guards of the catch-up and the board report ([`super::guard`]).

use std::cell::OnceCell;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;

use futures::lock::Mutex;
use tracing::Instrument;
use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, State, WebSocket,
    WebSocketIncomingMessage, WebSocketRequestResponsePair,
};

use super::alarm::KnownAlarm;
use super::budgets::Budgets;
use super::document::Document;
use super::error::{RoomError, RoomResult};
use super::guard::OneAtATime;
use super::outbox::{Delivery, Outbox};
use super::queue::WriteQueue;
use super::sockets::{Origin, Sockets, Tagged};
use super::storage::RoomStorage;
use super::stub::{read_envelope, refusal_response, reply};
use crate::runtime::{now_ms, setting};
use crate::store::Store;
use hero_core::config::{room_limits, Config};
use hero_core::cost::Cost;
use hero_core::error::ApiError;
use hero_core::protocol::{PING_FRAME, PONG_FRAME};
use hero_core::room::{
    self, AlarmSnapshot, Connection, Done, Envelope, Frame, FrameSnapshot, Limits, RoomCall,
    RoomKey, RoomKind, Spend,
};

#[durable_object]
pub struct Room {
    pub(super) state: State,
    pub(super) env: Env,
    pub(super) storage: RoomStorage,
    /// Which room this is and its limits, each read once.
    settings: AssertUnwindSafe<Settings>,
    /// Commits to a task (and a board's first count of its workspace) take turns, one at a
    /// time, so each is decided against the row the one before it left. In memory: after
    /// eviction it starts free, and the task's row is in storage.
    pub(super) turn: AssertUnwindSafe<Mutex<()>>,
    pub(super) writes: AssertUnwindSafe<WriteQueue>,
    pub(super) outbox: AssertUnwindSafe<Rc<Outbox>>,
    pub(super) catching_up: AssertUnwindSafe<OneAtATime>,
    pub(super) reporting: AssertUnwindSafe<Rc<OneAtATime>>,
    /// A task room's shared description, while it is awake ([`super::document`]).
    pub(super) document: AssertUnwindSafe<Document>,
    /// What each user may still send ([`super::budgets`]).
    pub(super) budgets: AssertUnwindSafe<Budgets>,
    pub(super) alarm: AssertUnwindSafe<KnownAlarm>,
}

#[derive(Default)]
struct Settings {
    key: OnceCell<RoomKey>,
    limits: OnceCell<Limits>,
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
            settings: AssertUnwindSafe(Settings::default()),
            turn: AssertUnwindSafe(Mutex::new(())),
            writes: AssertUnwindSafe(WriteQueue::default()),
            outbox: AssertUnwindSafe(Rc::default()),
            catching_up: AssertUnwindSafe(OneAtATime::default()),
            reporting: AssertUnwindSafe(Rc::default()),
            document: AssertUnwindSafe(Document::default()),
            budgets: AssertUnwindSafe(Budgets::default()),
            alarm: AssertUnwindSafe(KnownAlarm::default()),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let envelope = match read_envelope(req).await {
            Ok(envelope) => envelope,
            Err(error) => return refusal_response(&error, Cost::default()),
        };
        let span = tracing::info_span!(
            "room",
            room = %envelope.room.object_name(),
            request_id = %envelope.request_id,
            connection_id = tracing::field::Empty,
            user_id = tracing::field::Empty,
        );
        async {
            let store = match Store::open(&self.env) {
                Ok(store) => store,
                Err(error) => return refusal_response(&ApiError::from(error), Cost::default()),
            };
            match self.answer(envelope, &store).await {
                Ok(response) => Ok(response),
                Err(error) => {
                    if !matches!(error, RoomError::Refused(_)) {
                        tracing::error!(cause = %error, "room call failed");
                    }
                    refusal_response(&ApiError::from(error), store.cost())
                }
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
        let frame = match &message {
            WebSocketIncomingMessage::String(text) => Frame::Text(text),
            WebSocketIncomingMessage::Binary(bytes) => Frame::Binary(bytes),
        };
        let Some(tagged) = Sockets::of(&self.state).tags(&ws) else {
            return Ok(());
        };
        let span = self.tag_span(&tagged);
        async {
            // The user's budget first: a frame that is dropped reads nothing else.
            if !self.within_budget(&ws, &tagged).await? {
                return Ok(());
            }
            if tagged.doc {
                return settle(self.doc_frame(&ws, frame).await);
            }
            settle(self.room_frame(&ws, frame).await)
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
        // From the tags: a socket the room closed has no attachment any more.
        let span = Sockets::of(&self.state)
            .tags(&ws)
            .map_or_else(tracing::Span::none, |tagged| self.tag_span(&tagged));
        async {
            tracing::info!(event = "disconnected", code, "room event");
            settle(self.leave(&ws).await)
        }
        .instrument(span)
        .await
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        settle(self.leave(&ws).await)
    }

    async fn alarm(&self) -> Result<Response> {
        let span = tracing::info_span!("room", room = %self.name());
        async {
            tracing::debug!(event = "alarm", "room event");
            self.alarm.firing();
            settle(self.on_alarm().await)?;
            Response::empty()
        }
        .instrument(span)
        .await
    }
}

impl Room {
    /// Counts one frame against its user's budget. `false`: drop it (and, the first time
    /// over, the user's sockets of that kind were closed and they cool down).
    async fn within_budget(&self, ws: &WebSocket, tagged: &Tagged) -> Result<bool> {
        let limits = self.limits();
        let per_sec = match tagged.doc {
            true => limits.doc_messages_per_sec,
            false => limits.messages_per_sec,
        };
        match self.budgets.spend(&tagged.user_tag, now_ms(), per_sec) {
            Spend::Take => Ok(true),
            Spend::Drop => Ok(false),
            Spend::Over { cooldown_ms } => {
                let ids = Sockets::of(&self.state).ids_of(&tagged.user_tag);
                let effects = room::over_budget(&ids, per_sec, cooldown_ms);
                let origin = Origin {
                    connection_id: &tagged.connection_id,
                    ws,
                    joining: false,
                };
                settle(self.carry_out(effects, Some(origin)).await)?;
                Ok(false)
            }
        }
    }

    /// One frame on a room (JSON) socket.
    async fn room_frame(&self, ws: &WebSocket, frame: Frame<'_>) -> RoomResult<()> {
        let (Some(connection), Some(kind)) =
            (ws.deserialize_attachment::<Connection>()?, self.kind())
        else {
            return Ok(()); // already closed by us
        };
        let snapshot = FrameSnapshot {
            connection: &connection,
            now_ms: now_ms(),
            limits: self.limits(),
            kind,
        };
        let effects = room::on_frame(snapshot, frame);
        let origin = Origin {
            connection_id: &connection.id,
            ws,
            joining: false,
        };
        self.carry_out(effects, Some(origin)).await
    }

    /// The one match over every call a room takes.
    async fn answer(&self, envelope: Envelope, store: &Store) -> RoomResult<Response> {
        let key = envelope.room;
        let wrong_room =
            || RoomError::Refused(ApiError::NotFound("no such call for this room".into()));
        match (envelope.call, key.kind()) {
            (RoomCall::Connect(joining), _) => self.connect_socket(&key, store, joining).await,
            (RoomCall::ConnectDoc(joining), RoomKind::Task) => {
                self.connect_doc_socket(&key, store, joining).await
            }
            (RoomCall::Write(write), RoomKind::Task) => {
                let (answer, stages) = self.write(&key, store, write, &envelope.request_id).await?;
                let response = reply(&answer, store.cost())?;
                response
                    .headers()
                    .set("Server-Timing", &stages.header(""))?;
                Ok(response)
            }
            (RoomCall::Notice(notice), RoomKind::Board) => {
                self.storage.remember(&key)?;
                self.take_notice(&key, store, notice).await?;
                reply(&Done {}, store.cost())
            }
            (RoomCall::Viewers(report), RoomKind::Board) => {
                self.storage.remember(&key)?;
                self.take_viewers(report).await?;
                reply(&Done {}, store.cost())
            }
            (RoomCall::Analytics(_), RoomKind::Board) => {
                self.storage.remember(&key)?;
                let report = self.board_report(&key, store).await?;
                reply(&report, store.cost())
            }
            (RoomCall::Write(_) | RoomCall::ConnectDoc(_), RoomKind::Board)
            | (
                RoomCall::Notice(_) | RoomCall::Viewers(_) | RoomCall::Analytics(_),
                RoomKind::Task,
            ) => Err(wrong_room()),
        }
    }

    /// A socket went away (closed by its client, or broken): it leaves.
    async fn leave(&self, ws: &WebSocket) -> RoomResult<()> {
        let sockets = Sockets::of(&self.state);
        let id = sockets.connection_id(ws);
        let effects = match sockets.is_doc(ws) {
            true => self.depart_doc(ws)?,
            false => self.depart(ws)?,
        };
        let origin = id.as_deref().map(|connection_id| Origin {
            connection_id,
            ws,
            joining: false,
        });
        self.carry_out(effects, origin).await
    }

    async fn on_alarm(&self) -> RoomResult<()> {
        let Some(kind) = self.kind() else {
            return Ok(());
        };
        let counted = self.storage.board_counted()?;
        let snapshot = AlarmSnapshot {
            now_ms: now_ms(),
            kind,
            connections: Sockets::of(&self.state).connections(),
            departures: self.storage.departures()?,
            held_presence_due: self.storage.pending_presence()?.map(|(_, due)| due),
            analytics_day: counted.then(|| self.storage.analytics_day()).transpose()?,
            doc_connections: Sockets::of(&self.state).doc_connections(),
            unsaved: self.storage.unsaved()?,
        };
        self.carry_out(room::on_alarm(snapshot), None).await
    }

    /// Which room this is, from storage (the key is recorded on first contact).
    pub(super) fn key(&self) -> Option<RoomKey> {
        if let Some(key) = self.settings.key.get() {
            return Some(key.clone());
        }
        let key = self.storage.key()?;
        Some(self.settings.key.get_or_init(|| key).clone())
    }

    pub(super) fn kind(&self) -> Option<RoomKind> {
        self.key().map(|key| key.kind())
    }

    pub(super) fn limits(&self) -> &Limits {
        self.settings.limits.get_or_init(|| {
            room_limits(|name| setting(&self.env, name)).unwrap_or_else(|error| {
                tracing::error!(cause = %error, "room limits invalid; using defaults");
                Limits::default()
            })
        })
    }

    /// What getting frames out needs, for this event (and a flush that waits after it).
    pub(super) fn delivery(&self) -> Delivery {
        Delivery {
            sockets: Sockets::of(&self.state),
            storage: self.storage.clone(),
            limits: self.limits().clone(),
            kind: self.kind().unwrap_or(RoomKind::Task),
        }
    }

    /// This room's name for logs.
    fn name(&self) -> String {
        self.key()
            .map_or_else(|| "unknown".to_owned(), |key| key.object_name())
    }

    /// Verifies a token exactly as the Worker verifies a request's.
    pub(super) async fn verify_token(
        &self,
        token: &str,
        dev_tokens: bool,
    ) -> std::result::Result<hero_core::auth::Principal, ApiError> {
        let config =
            Config::from_lookup(|name| setting(&self.env, name)).map_err(ApiError::internal)?;
        crate::tokens::verify(&config, token, dev_tokens).await
    }

    /// A socket event's span, from its tags alone.
    fn tag_span(&self, tagged: &Tagged) -> tracing::Span {
        let user_id = tagged.user_tag.split_once(':').map_or("", |(_, id)| id);
        tracing::info_span!(
            "room",
            room = %self.name(),
            connection_id = %tagged.connection_id,
            user_id = %user_id,
        )
    }
}

/// A socket event or the alarm that failed: the runtime has nobody to answer, so the
/// failure is logged here, with what kind it was, and the event ends.
fn settle(result: RoomResult<()>) -> Result<()> {
    if let Err(error) = result {
        tracing::error!(cause = %error, "room event failed");
    }
    Ok(())
}
