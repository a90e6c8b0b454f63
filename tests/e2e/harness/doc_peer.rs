//! A Yjs peer on a task's document socket (`/ws/tasks/{id}/doc`): a yrs document with
//! UTF-16 offsets, as a browser's Yjs has, speaking y-protocols over a real WebSocket the
//! way y-websocket's `WebsocketProvider` does: step 1 on open, step 2 in answer to the
//! server's step 1, every local edit sent as an update, every received one applied.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use hero_core::doc::wire::{self, DocMessage};
use tokio_tungstenite::tungstenite::Message;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, OffsetKind, Options, ReadTxn, StateVector, Text, Transact, Update};

/// What a peer got that was not an update: how the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// An awareness message, with its states by client id.
    Awareness(Vec<(u64, String)>),
    /// y-protocols' permission-denied, with its reason.
    Denied(String),
    /// The server closed the socket with this code.
    Closed(u16),
}

pub struct DocPeer {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    pub doc: Doc,
    pub heard: Vec<Heard>,
    pub closed: Option<u16>,
}

impl DocPeer {
    /// Connects with `?token=` (as a stock `WebsocketProvider` with `params: { token }` does)
    /// and sends step 1. `Err(status)` when refused before the upgrade.
    pub async fn connect(
        base: &str,
        task_id: &str,
        token: &str,
        client_id: u64,
    ) -> Result<DocPeer, u16> {
        let url = format!(
            "{}/ws/tasks/{task_id}/doc?token={token}",
            base.replacen("http://", "ws://", 1)
        );
        let stream = match tokio_tungstenite::connect_async(url).await {
            Ok((stream, _)) => stream,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                return Err(response.status().as_u16())
            }
            Err(other) => panic!("document socket: {other}"),
        };
        let mut options = Options::with_client_id(yrs::block::ClientID::new(client_id));
        options.offset_kind = OffsetKind::Utf16;
        let doc = Doc::with_options(options);
        doc.get_or_insert_text("description");
        let mut peer = DocPeer {
            stream,
            doc,
            heard: Vec::new(),
            closed: None,
        };
        let state_vector = peer.doc.transact().state_vector().encode_v1();
        peer.send(wire::sync_step_1(&state_vector)).await;
        Ok(peer)
    }

    /// Connects and reads until the document is in sync (the server's step 2 came).
    pub async fn synced(base: &str, task_id: &str, token: &str, client_id: u64) -> DocPeer {
        let mut peer = Self::connect(base, task_id, token, client_id)
            .await
            .expect("the upgrade is accepted");
        peer.pump(Duration::from_millis(300)).await;
        peer
    }

    pub fn text(&self) -> String {
        self.doc
            .get_or_insert_text("description")
            .get_string(&self.doc.transact())
    }

    /// Types `words` at `index` (UTF-16) and sends the update.
    pub async fn type_at(&mut self, index: u32, words: &str) -> Vec<u8> {
        let text = self.doc.get_or_insert_text("description");
        let update = {
            let mut txn = self.doc.transact_mut();
            text.insert(&mut txn, index, words);
            txn.encode_update_v1()
        };
        self.send(wire::update(&update)).await;
        update
    }

    /// Types at the end.
    pub async fn append(&mut self, words: &str) -> Vec<u8> {
        let len = self
            .doc
            .get_or_insert_text("description")
            .len(&self.doc.transact());
        self.type_at(len, words).await
    }

    pub async fn send(&mut self, frame: Vec<u8>) {
        let _ = self.stream.send(Message::binary(frame)).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        let _ = self.stream.send(Message::text(text)).await;
    }

    /// Reads and handles frames until none comes for `quiet`, or the socket closes.
    pub async fn pump(&mut self, quiet: Duration) {
        while self.closed.is_none() {
            match tokio::time::timeout(quiet, self.stream.next()).await {
                Err(_) => return,
                Ok(Some(Ok(Message::Binary(bytes)))) => self.handle(&bytes).await,
                Ok(Some(Ok(Message::Close(frame)))) => {
                    let code = frame.map_or(1005, |f| u16::from(f.code));
                    self.closed = Some(code);
                    self.heard.push(Heard::Closed(code));
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_)) | None) => {
                    self.closed = Some(1006);
                    self.heard.push(Heard::Closed(1006));
                }
            }
        }
    }

    /// Reads until the text is `expected` (or fails after `within`).
    pub async fn wait_for_text(&mut self, expected: &str, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while self.text() != expected {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the text is {:?}, not {expected:?} ({:?})",
                self.text(),
                self.heard
            );
            assert!(self.closed.is_none(), "closed: {:?}", self.heard);
            self.pump(Duration::from_millis(100)).await;
        }
    }

    /// Reads until the server closes the socket; its code.
    pub async fn wait_for_close(&mut self, within: Duration) -> u16 {
        let deadline = tokio::time::Instant::now() + within;
        while self.closed.is_none() && tokio::time::Instant::now() < deadline {
            self.pump(Duration::from_millis(200)).await;
        }
        self.closed.expect("the server closed the socket")
    }

    async fn handle(&mut self, bytes: &[u8]) {
        match wire::parse(bytes) {
            Ok(DocMessage::SyncStep1(state_vector)) => {
                let remote = StateVector::decode_v1(state_vector).expect("a state vector");
                let missing = self.doc.transact().encode_diff_v1(&remote);
                self.send(wire::sync_step_2(&missing)).await;
            }
            Ok(DocMessage::SyncStep2(update) | DocMessage::Update(update)) => {
                let update = Update::decode_v1(update).expect("the server's update decodes");
                self.doc
                    .transact_mut()
                    .apply_update(update)
                    .expect("the server's update applies");
            }
            Ok(DocMessage::Awareness(awareness)) => self.heard.push(Heard::Awareness(
                awareness
                    .states
                    .into_iter()
                    .map(|(client, (_, state))| (client, state))
                    .collect(),
            )),
            Ok(DocMessage::QueryAwareness) => {}
            Err(_) if bytes.starts_with(&[2, 0]) => {
                let reason = String::from_utf8_lossy(&bytes[3..]).into_owned();
                self.heard.push(Heard::Denied(reason));
            }
            Err(error) => panic!("the server sent a frame that is not a message: {error:?}"),
        }
    }

    /// An awareness message from this peer for `client_id`.
    pub fn awareness(client_id: u64, state: &str) -> Vec<u8> {
        let mut awareness = wire::Awareness::default();
        awareness.states.insert(client_id, (1, state.to_owned()));
        wire::awareness_message(&awareness)
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
