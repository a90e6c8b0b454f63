//! The room's WebSockets: accepting them with their tags and attachment, finding them, and
//! sending to them.
//!
//! Nothing about a connection is kept in memory: its state is the socket's attachment (a
//! [`Connection`] on a room socket, a [`DocConnection`] on a document socket), and its tags
//! find it without reading anyone else's: the first is its connection id, the second finds a
//! user's other sockets of the same kind (`user:<id>`, `doc-user:<id>`), the third says
//! which kind it is ([`ROOM_TAG`], [`DOC_TAG`]).

use wasm_bindgen::JsCast;
use worker::{State, WebSocket};

use super::error::RoomResult;
use hero_core::room::{Connection, DocConnection};

/// The tag of a room's JSON sockets.
const ROOM_TAG: &str = "room";
/// The tag of its document sockets.
const DOC_TAG: &str = "doc";

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

/// The connection an event came from: replies go to it, and `Others` skips it.
#[derive(Clone, Copy)]
pub struct Origin<'a> {
    pub connection_id: &'a str,
    pub ws: &'a WebSocket,
    /// A connection that is joining: its socket is accepted with its first attachment.
    pub joining: bool,
}

/// User ids are at most 128 bytes; tags may be 256.
fn user_tag(user_id: &str) -> String {
    format!("user:{user_id}")
}

fn doc_user_tag(user_id: &str) -> String {
    format!("doc-user:{user_id}")
}

/// The sockets of one room, through its Durable Object state. Owned (a handle on the same
/// state), so a flush that waits for the frame budget can keep it.
pub struct Sockets {
    state: State,
}

impl Clone for Sockets {
    fn clone(&self) -> Self {
        Sockets::of(&self.state)
    }
}

impl Sockets {
    pub fn of(state: &State) -> Self {
        let raw: &wasm_bindgen::JsValue = state.as_raw().as_ref();
        let handle: worker::worker_sys::DurableObjectState = raw.clone().unchecked_into();
        Sockets {
            state: State::from(handle),
        }
    }

    /// Runs `work` after the current event, as the runtime allows (a flush that waits).
    pub fn later(&self, work: impl std::future::Future<Output = ()> + 'static) {
        self.state.wait_until(work);
    }

    /// Accepts `ws` for hibernation, tagged and with `connection` as its attachment. The
    /// attachment is written first: a socket the room accepted without one would be a
    /// connection nobody counts or cleans up.
    pub fn accept(&self, ws: &WebSocket, connection: &Connection) -> RoomResult<()> {
        ws.serialize_attachment(connection)?;
        self.state.accept_websocket_with_tags(
            ws,
            &[
                connection.id.as_str(),
                &user_tag(&connection.user.id),
                ROOM_TAG,
            ],
        );
        Ok(())
    }

    /// Accepts a document socket the same way.
    pub fn accept_doc(&self, ws: &WebSocket, connection: &DocConnection) -> RoomResult<()> {
        ws.serialize_attachment(connection)?;
        self.state.accept_websocket_with_tags(
            ws,
            &[
                connection.id.as_str(),
                &doc_user_tag(&connection.user.id),
                DOC_TAG,
            ],
        );
        Ok(())
    }

    /// The connection id a socket is tagged with.
    pub fn connection_id(&self, ws: &WebSocket) -> Option<String> {
        self.state.get_tags(ws).into_iter().next()
    }

    /// Whether `ws` is a document socket.
    pub fn is_doc(&self, ws: &WebSocket) -> bool {
        self.state
            .get_tags(ws)
            .get(2)
            .is_some_and(|tag| tag == DOC_TAG)
    }

    /// A document socket's state, stored on it (or on the socket of its id).
    pub fn store_doc(&self, connection: &DocConnection, ws: Option<&WebSocket>) -> RoomResult<()> {
        match ws {
            Some(ws) => ws.serialize_attachment(connection)?,
            None => {
                for ws in self.by_connection_id(&connection.id) {
                    ws.serialize_attachment(connection)?;
                }
            }
        }
        Ok(())
    }

    /// A document socket's connection, taken off it (see [`Self::take`]).
    pub fn take_doc(&self, ws: &WebSocket) -> RoomResult<Option<DocConnection>> {
        let connection = ws.deserialize_attachment::<DocConnection>()?;
        if connection.is_some() {
            ws.serialize_attachment(())?;
        }
        Ok(connection)
    }

    /// Every live document connection.
    pub fn doc_connections(&self) -> Vec<DocConnection> {
        self.state
            .get_websockets_with_tag(DOC_TAG)
            .into_iter()
            .filter_map(|ws| ws.deserialize_attachment::<DocConnection>().ok().flatten())
            .collect()
    }

    /// The connection ids of the open document sockets, from their tags (no attachment read).
    pub fn doc_connection_ids(&self) -> std::collections::BTreeSet<String> {
        self.state
            .get_websockets_with_tag(DOC_TAG)
            .iter()
            .filter_map(|ws| self.state.get_tags(ws).into_iter().next())
            .collect()
    }

    /// How many document sockets one user has open.
    pub fn doc_count_of(&self, user_id: &str) -> usize {
        self.state
            .get_websockets_with_tag(&doc_user_tag(user_id))
            .len()
    }

    /// Sends one binary frame to every document socket but `skip`.
    pub fn broadcast_doc(&self, frame: &[u8], skip: Option<&str>) {
        let frame: wasm_bindgen::JsValue = worker::js_sys::Uint8Array::from(frame).into();
        for ws in self.state.get_websockets_with_tag(DOC_TAG) {
            if let Some(skip) = skip {
                if self.state.get_tags(&ws).first().map(String::as_str) == Some(skip) {
                    continue;
                }
            }
            let _ = ws.as_ref().unchecked_ref::<TextSocket>().send(&frame);
        }
    }

    /// Stores a connection's new state on its socket (found by its id tag, or `ws` when
    /// that is the one).
    pub fn store(&self, connection: &Connection, ws: Option<&WebSocket>) -> RoomResult<()> {
        match ws {
            Some(ws) => ws.serialize_attachment(connection)?,
            None => {
                for ws in self.by_connection_id(&connection.id) {
                    ws.serialize_attachment(connection)?;
                }
            }
        }
        Ok(())
    }

    /// The connection a socket carries, taken off it: a socket that is leaving is counted
    /// once, and never again (`None`: it had left already).
    pub fn take(&self, ws: &WebSocket) -> RoomResult<Option<Connection>> {
        let connection = ws.deserialize_attachment::<Connection>()?;
        if connection.is_some() {
            ws.serialize_attachment(())?;
        }
        Ok(connection)
    }

    /// How many sockets are open, both kinds, without reading any attachment.
    pub fn count(&self) -> usize {
        self.state.get_websockets().len()
    }

    /// How many JSON room sockets are open.
    pub fn count_room(&self) -> usize {
        self.state.get_websockets_with_tag(ROOM_TAG).len()
    }

    /// Every live room connection with its state. A socket we closed has no attachment.
    pub fn all(&self) -> Vec<(WebSocket, Connection)> {
        self.state
            .get_websockets_with_tag(ROOM_TAG)
            .into_iter()
            .filter_map(|ws| match ws.deserialize_attachment::<Connection>() {
                Ok(Some(connection)) => Some((ws, connection)),
                _ => None,
            })
            .collect()
    }

    pub fn connections(&self) -> Vec<Connection> {
        self.all().into_iter().map(|(_, c)| c).collect()
    }

    /// The live connections of one user, without reading anyone else's attachment.
    pub fn connections_of(&self, user_id: &str) -> Vec<Connection> {
        self.state
            .get_websockets_with_tag(&user_tag(user_id))
            .into_iter()
            .filter_map(|ws| ws.deserialize_attachment::<Connection>().ok().flatten())
            .collect()
    }

    /// The socket(s) of one connection id.
    pub fn by_connection_id(&self, connection_id: &str) -> Vec<WebSocket> {
        self.state.get_websockets_with_tag(connection_id)
    }

    /// Sends one frame to every room connection, except `skip`. The frame is converted to a
    /// JS string once, however many sockets there are. Returns how many sockets there were.
    pub fn broadcast(&self, frame: &str, skip: Option<&str>) -> usize {
        let frame = wasm_bindgen::JsValue::from_str(frame);
        let sockets = self.state.get_websockets_with_tag(ROOM_TAG);
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

    /// Closes every socket, both kinds, and clears its attachment, so nothing counts it any
    /// more.
    pub fn close_all(&self, code: u16, reason: &str) {
        for ws in self.state.get_websockets() {
            let _ = ws.close(Some(code), Some(reason));
            let _ = ws.serialize_attachment(());
        }
    }
}
