//! A task room's document sockets (`/ws/tasks/{id}/doc`, the y-websocket protocol), load →
//! decide → carry out like every other event: the decisions are `hero_core::room`'s
//! (`room::documents`), the document is `hero_core::doc`'s. Here: loading the document (made
//! once from D1's description, then only ever from storage), connecting, each frame, a
//! socket's departure, and the room's own writes of the description to D1.

use std::collections::BTreeMap;

use worker::{Response, WebSocket, WebSocketPair};

use super::error::{RoomError, RoomResult};
use super::object::Room;
use super::sockets::{Origin, Sockets};
use super::storage::KnownTask;
use crate::runtime::now_ms;
use crate::store::Store;
use hero_core::auth::{Principal, Role};
use hero_core::doc::flush::editors_name;
use hero_core::doc::wire::DocMessage;
use hero_core::doc::SharedDoc;
use hero_core::error::ApiError;
use hero_core::protocol::Actor;
use hero_core::room::{
    self, doc_window_key, DocCloseSnapshot, DocConnectSnapshot, DocConnected, DocConnection,
    Effects, Frame, Joining, RoomKey, WriteOp, WriteReply, WriteRequest,
};

impl Room {
    pub(super) async fn connect_doc_socket(
        &self,
        key: &RoomKey,
        store: &Store,
        joining: Joining,
    ) -> RoomResult<Response> {
        self.load_for_connect(key, store).await?;
        // Nothing is awaited from here to the accept (see `connect_socket`).
        let task_gone = !self.load_doc(key)?;
        let sockets = Sockets::of(&self.state);
        let user_id = &joining.principal.user_id;
        let snapshot = DocConnectSnapshot {
            now_ms: now_ms(),
            limits: self.limits(),
            connection_id: uuid::Uuid::new_v4().to_string(),
            joining: &joining,
            task_gone,
            open_sockets: sockets.count(),
            open_of_user: sockets.doc_count_of(user_id),
            connect_window: self.storage.connect_window(&doc_window_key(user_id))?,
            state_vector: self
                .document
                .with(|doc, _| doc.state_vector())
                .unwrap_or_default(),
            awareness: self.storage.awareness(None)?,
            live: sockets.doc_connection_ids(),
        };
        let pair = WebSocketPair::new()?;
        match room::on_doc_connect(snapshot) {
            DocConnected::NotFound => Err(RoomError::Refused(ApiError::task_not_found())),
            DocConnected::Refused {
                code,
                reason,
                effects,
            } => {
                tracing::warn!(
                    event = "refused",
                    code,
                    reason,
                    socket = "doc",
                    "room event"
                );
                self.carry_out(effects, None).await?;
                pair.server.accept()?;
                pair.server.close(Some(code), Some(reason))?;
                super::connect::upgraded(pair.client, store)
            }
            DocConnected::Accepted {
                connection,
                effects,
            } => {
                tracing::info!(event = "connected", socket = "doc", connection_id = %connection.id, user_id = %connection.user.id, "room event");
                let origin = Origin {
                    connection_id: &connection.id,
                    ws: &pair.server,
                    joining: true,
                };
                self.carry_out(effects, Some(origin)).await?;
                super::connect::upgraded(pair.client, store)
            }
        }
    }

    /// Makes sure the document is in memory: from storage, or, the first time ever, made
    /// from the task's description and stored in the same step (it is never made from D1
    /// again: that would duplicate the text). `false` when the task is not there.
    pub(super) fn load_doc(&self, key: &RoomKey) -> RoomResult<bool> {
        if self.document.is_loaded() {
            return Ok(true);
        }
        let client_id = server_client_id(key);
        match self.storage.doc()? {
            Some(stored) => {
                let shared = SharedDoc::load(client_id, stored.parts.iter().map(Vec::as_slice))
                    .map_err(|e| ApiError::internal(format!("stored document: {e:?}")))?;
                self.document.keep(shared, stored.stored);
            }
            None => {
                let KnownTask::Current(task) = self.storage.task()?.0 else {
                    return Ok(false);
                };
                let (shared, seed) = SharedDoc::seed(client_id, &task.description);
                self.storage.replace_doc(&seed)?;
                self.document.keep(shared, room::Stored::default());
                tracing::info!(
                    event = "document_made",
                    chars = task.description.chars().count(),
                    "room event"
                );
            }
        }
        Ok(true)
    }

    /// One frame on a document socket.
    pub(super) async fn doc_frame(&self, ws: &WebSocket, frame: Frame<'_>) -> RoomResult<()> {
        let Some(connection) = ws.deserialize_attachment::<DocConnection>()? else {
            return Ok(()); // closed by us
        };
        let Some(key) = self.key() else {
            return Ok(());
        };
        let origin = Origin {
            connection_id: &connection.id,
            ws,
            joining: false,
        };
        let now = now_ms();
        let effects = match room::admit_doc_frame(&connection, frame, now, self.limits()) {
            Err(effects) => *effects,
            Ok((counted, message)) => {
                self.decide_doc_message(&key, counted, message, frame, now)?
            }
        };
        self.carry_out(effects, Some(origin)).await
    }

    fn decide_doc_message(
        &self,
        key: &RoomKey,
        connection: DocConnection,
        message: DocMessage<'_>,
        frame: Frame<'_>,
        now: i64,
    ) -> RoomResult<Effects> {
        match message {
            DocMessage::Awareness(awareness) => {
                let mut owners = BTreeMap::new();
                for client_id in awareness.states.keys() {
                    if let Some(owner) = self.storage.awareness_owner(*client_id)? {
                        owners.insert(*client_id, owner);
                    }
                }
                let Frame::Binary(bytes) = frame else {
                    return Ok(Effects::default());
                };
                Ok(room::on_awareness(connection, &awareness, &owners, bytes))
            }
            DocMessage::QueryAwareness => Ok(room::on_query_awareness(
                connection,
                &self.storage.awareness(None)?,
            )),
            sync => {
                if !self.load_doc(key)? {
                    return Ok(Effects::default());
                }
                let unsaved = self.storage.unsaved()?;
                let decided = self.document.with(|doc, stored| {
                    room::on_doc_sync(connection, sync, doc, unsaved, stored, now)
                });
                Ok(decided.unwrap_or_default())
            }
        }
    }

    /// What a document socket's leaving decides: its connection is taken off it, its
    /// awareness states end, and the last editor leaving has D1 written and the document
    /// compacted.
    pub(super) fn depart_doc(&self, ws: &WebSocket) -> RoomResult<Effects> {
        let sockets = Sockets::of(&self.state);
        let (Some(gone), Some(key)) = (sockets.take_doc(ws)?, self.key()) else {
            return Ok(Effects::default());
        };
        let writers_left = sockets
            .doc_connections()
            .iter()
            .filter(|c| c.can_write && c.id != gone.id)
            .count();
        let unsaved = self.storage.unsaved()?;
        let states = self.storage.awareness(Some(&gone.id))?;
        let decide = |doc: Option<&SharedDoc>, stored| {
            room::on_doc_close(DocCloseSnapshot {
                gone: &gone,
                states: states.clone(),
                writers_left,
                unsaved: unsaved.clone(),
                stored,
                doc,
            })
        };
        // The last editor: the document is needed for its snapshot.
        let last = writers_left == 0 && self.load_doc(&key)?;
        let decided = match last {
            true => self.document.with(|doc, stored| decide(Some(doc), stored)),
            false => None,
        };
        Ok(decided.unwrap_or_else(|| decide(None, room::Stored::default())))
    }

    /// The room's own write of the description to D1, as the edit of `editors`, through its
    /// normal write path (a version, a change record, `task_updated`, the board).
    pub(super) async fn write_description(&self, editors: Vec<Actor>) -> RoomResult<()> {
        let (Some(key), Some(first)) = (self.key(), editors.first()) else {
            return Ok(());
        };
        if !self.load_doc(&key)? {
            return Ok(());
        }
        let text = self.document.with(|doc, _| doc.text()).unwrap_or_default();
        let request = WriteRequest {
            caller: Principal {
                user_id: first.id.clone(),
                name: editors_name(&editors),
                avatar_url: None,
                workspace_id: key.workspace_id().to_owned(),
                role: Role::Member,
                expires_at: i64::MAX / 1000,
            },
            precondition: None,
            op: WriteOp::Update {
                patch: serde_json::json!({ "description": text }),
            },
            claim: None,
            editors,
        };
        let store = Store::open(&self.env)?;
        let (reply, _) = self.write(&key, &store, request, "document").await?;
        match reply {
            WriteReply::Refused { error } => {
                tracing::warn!(event = "document_not_written", cause = ?error, "room event");
            }
            _ => tracing::info!(
                event = "document_written",
                rows_written = store.cost().rows_written,
                "room event"
            ),
        }
        Ok(())
    }

    /// A REST write set the description: the document takes the same text.
    pub(super) fn description_written(&self, key: &RoomKey, text: &str) -> RoomResult<Effects> {
        if !self.document.is_loaded() && !self.storage.has_doc()? {
            return Ok(Effects::default()); // made from D1 when someone first opens it
        }
        self.load_doc(key)?;
        Ok(self
            .document
            .with(|doc, _| room::on_description_written(doc, text))
            .unwrap_or_default())
    }
}

/// The client id of the room's own edits to its document (a trim, a REST write): fixed per
/// task, from its id, so the room continues its own clock after every wake.
fn server_client_id(key: &RoomKey) -> u64 {
    let digits: String = key
        .task_id()
        .map(|id| {
            id.as_str()
                .chars()
                .filter(char::is_ascii_hexdigit)
                .take(13)
                .collect()
        })
        .unwrap_or_default();
    u64::from_str_radix(&digits, 16).unwrap_or(1).max(1)
}
