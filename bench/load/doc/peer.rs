//! One editor of a shared document, the same client for every server: a yrs document with
//! UTF-16 offsets (as a browser's Yjs counts), speaking y-protocols over tokio-tungstenite
//! as y-websocket's `WebsocketProvider` does: sync step 1 on open, step 2 in answer to the
//! server's step 1, each keystroke sent as `[0, 2, update]`, every update received applied.
//! A reader task applies what arrives and tells the [`Tracker`], when there is one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use hero_core::doc::wire::{self, DocMessage};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, OffsetKind, Options, ReadTxn, StateVector, Text, Transact, Update};

use super::tracker::Tracker;
use super::typist::Edit;
use crate::client::Ws;

type Sink = Arc<tokio::sync::Mutex<SplitSink<Ws, Message>>>;

/// What the reader task shares with the editor.
#[derive(Default)]
struct Heard {
    /// Sync step 2 messages received (the first one means in sync).
    step2: AtomicU64,
    arrived: Notify,
    /// Why the socket stopped, or the first thing that went wrong on it.
    failure: Mutex<Option<String>>,
}

impl Heard {
    fn fail(&self, why: String) {
        self.failure.lock().unwrap().get_or_insert(why);
        self.arrived.notify_waiters();
    }
}

pub struct Editor {
    index: usize,
    client: u64,
    doc: Arc<Mutex<Doc>>,
    sink: Sink,
    heard: Arc<Heard>,
    reader: tokio::task::JoinHandle<()>,
    tracker: Option<Arc<Tracker>>,
    /// Bytes of the updates this editor sent.
    pub update_bytes: u64,
}

impl Editor {
    /// Connects, sends step 1, and waits until the server's step 2 has arrived.
    pub async fn connect(
        url: &str,
        client: u64,
        index: usize,
        tracker: Option<Arc<Tracker>>,
    ) -> Result<Editor, String> {
        let (ws, _) = tokio::time::timeout(
            Duration::from_secs(30),
            tokio_tungstenite::connect_async(url),
        )
        .await
        .map_err(|_| "document socket: connect timed out".to_owned())?
        .map_err(|e| format!("document socket: {e}"))?;
        let mut options = Options::with_client_id(yrs::block::ClientID::new(client));
        options.offset_kind = OffsetKind::Utf16;
        let doc = Doc::with_options(options);
        doc.get_or_insert_text("description");
        let (sink, stream) = ws.split();
        let sink: Sink = Arc::new(tokio::sync::Mutex::new(sink));
        let doc = Arc::new(Mutex::new(doc));
        let heard = Arc::new(Heard::default());
        let reader = tokio::spawn(read(
            stream,
            Reader {
                me: index,
                doc: doc.clone(),
                sink: sink.clone(),
                heard: heard.clone(),
                tracker: tracker.clone(),
            },
        ));
        let editor = Editor {
            index,
            client,
            doc,
            sink,
            heard,
            reader,
            tracker,
            update_bytes: 0,
        };
        editor.probe(Duration::from_secs(30)).await?;
        Ok(editor)
    }

    /// Sends step 1 and waits for the step 2 that answers it: the server has taken every
    /// frame sent before (a socket's frames are handled in order).
    pub async fn probe(&self, within: Duration) -> Result<(), String> {
        let before = self.heard.step2.load(Ordering::Acquire);
        let state = self
            .doc
            .lock()
            .unwrap()
            .transact()
            .state_vector()
            .encode_v1();
        self.send(wire::sync_step_1(&state)).await?;
        let wait = async {
            while self.heard.step2.load(Ordering::Acquire) == before {
                let arrived = self.heard.arrived.notified();
                if let Some(failure) = self.failure() {
                    return Err(failure);
                }
                if self.heard.step2.load(Ordering::Acquire) != before {
                    break;
                }
                arrived.await;
            }
            Ok(())
        };
        tokio::time::timeout(within, wait)
            .await
            .map_err(|_| format!("no sync step 2 within {within:?}"))?
    }

    /// Makes one keystroke and sends its update; inserts are stamped for the tracker.
    pub async fn type_key(&mut self, edit: Edit) -> Result<(), String> {
        let (update, clock) = {
            let doc = self.doc.lock().unwrap();
            let text = doc.get_or_insert_text("description");
            let mut txn = doc.transact_mut();
            let clock = txn
                .state_vector()
                .get(&yrs::block::ClientID::new(self.client));
            match edit {
                Edit::Insert { at, ch } => text.insert(&mut txn, at, ch.encode_utf8(&mut [0; 4])),
                Edit::Delete { at, len } => text.remove_range(&mut txn, at, len),
            }
            (txn.encode_update_v1(), clock)
        };
        if let (Some(tracker), Edit::Insert { .. }) = (&self.tracker, edit) {
            tracker.stamp(self.index, clock);
        }
        self.update_bytes += update.len() as u64;
        self.send(wire::update(&update)).await
    }

    async fn send(&self, frame: Vec<u8>) -> Result<(), String> {
        self.sink
            .lock()
            .await
            .send(Message::binary(frame))
            .await
            .map_err(|e| format!("send: {e}"))
    }

    /// The text's length in UTF-16 units.
    pub fn len(&self) -> u32 {
        let doc = self.doc.lock().unwrap();
        let text = doc.get_or_insert_text("description");
        let len = text.len(&doc.transact());
        len
    }

    pub fn text(&self) -> String {
        let doc = self.doc.lock().unwrap();
        let text = doc.get_or_insert_text("description");
        let string = text.get_string(&doc.transact());
        string
    }

    /// The whole document as this client encodes it (`Y.encodeStateAsUpdate`): what any
    /// Yjs store would hold for it after compacting.
    pub fn state_bytes(&self) -> u64 {
        let doc = self.doc.lock().unwrap();
        let state = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        state.len() as u64
    }

    pub fn failure(&self) -> Option<String> {
        self.heard.failure.lock().unwrap().clone()
    }

    /// Closes the socket (a normal close) and stops reading.
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            let mut sink = self.sink.lock().await;
            let _ = sink.send(Message::Close(None)).await;
            let _ = sink.flush().await;
        })
        .await;
        // let the close handshake finish before the reader goes
        let _ = tokio::time::timeout(Duration::from_secs(2), self.reader).await;
    }
}

struct Reader {
    me: usize,
    doc: Arc<Mutex<Doc>>,
    sink: Sink,
    heard: Arc<Heard>,
    tracker: Option<Arc<Tracker>>,
}

async fn read(mut stream: SplitStream<Ws>, reader: Reader) {
    let mut seen = vec![0u32; reader.tracker.as_ref().map_or(0, |t| t.editors())];
    loop {
        let bytes = match stream.next().await {
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Close(frame))) => {
                let why = frame.map_or("no code".into(), |f| format!("{} {}", f.code, f.reason));
                return reader.heard.fail(format!("closed by the server: {why}"));
            }
            Some(Ok(_)) => continue,
            Some(Err(error)) => return reader.heard.fail(format!("socket error: {error}")),
            None => return reader.heard.fail("socket ended".into()),
        };
        if let Err(why) = reader.handle(&bytes, &mut seen).await {
            reader.heard.fail(why);
        }
    }
}

impl Reader {
    async fn handle(&self, bytes: &[u8], seen: &mut [u32]) -> Result<(), String> {
        let message = wire::parse(bytes).map_err(|e| format!("not a message: {e:?}"))?;
        let (update, step2) = match message {
            DocMessage::SyncStep1(state) => {
                let remote = StateVector::decode_v1(state).map_err(|e| e.to_string())?;
                let missing = self.doc.lock().unwrap().transact().encode_diff_v1(&remote);
                let frame = Message::binary(wire::sync_step_2(&missing));
                let mut sink = self.sink.lock().await;
                return sink.send(frame).await.map_err(|e| e.to_string());
            }
            DocMessage::SyncStep2(update) => (update, true),
            DocMessage::Update(update) => (update, false),
            _ => return Ok(()),
        };
        let update = Update::decode_v1(update).map_err(|e| format!("update: {e}"))?;
        let state = {
            let doc = self.doc.lock().unwrap();
            let mut txn = doc.transact_mut();
            txn.apply_update(update)
                .map_err(|e| format!("apply: {e}"))?;
            self.tracker.as_ref().map(|_| txn.state_vector())
        };
        if let (Some(tracker), Some(state)) = (&self.tracker, state) {
            tracker.applied(self.me, &state, seen);
        }
        if step2 {
            self.heard.step2.fetch_add(1, Ordering::AcqRel);
            self.heard.arrived.notify_waiters();
        }
        Ok(())
    }
}
