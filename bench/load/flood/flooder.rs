//! The hostile viewer: one token, several sockets in one task room, each sending `ping`
//! frames as fast as it can. Whatever closes a socket (1008 for the flood, anything else),
//! it connects again at once, ignoring the `retry after N s` of a 4029, and again at once
//! when that connect is refused.
//!
//! It runs on a thread and a single-threaded runtime of its own: its send loops never
//! yield the bystanders' runtime, and it can take at most one core from the server.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::client::Ws;

/// How long a connect may take before it counts as failed.
const CONNECT_LIMIT: Duration = Duration::from_secs(10);

/// The flood's shape.
#[derive(Debug, Clone)]
pub struct Shape {
    pub url: String,
    pub sockets: usize,
    pub seconds: f64,
    /// Connects over all sockets (the first ones included) after which it stops.
    pub max_connects: u64,
}

/// What the flooder did and what the server answered.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FloodCounts {
    pub sockets: usize,
    pub seconds: f64,
    pub frames_sent: u64,
    pub connects: u64,
    pub welcomed: u64,
    /// Connects closed before their welcome, by close code ("4029"), or refused before
    /// the upgrade ("HTTP 429").
    pub refused: BTreeMap<String, u64>,
    /// Welcomed sockets the server closed while they flooded, by close code.
    pub closed: BTreeMap<String, u64>,
    /// Connects with no answer (timed out, reset) and the first such error.
    pub connect_errors: u64,
    pub first_connect_error: Option<String>,
}

impl FloodCounts {
    fn add(&mut self, other: FloodCounts) {
        self.frames_sent += other.frames_sent;
        self.connects += other.connects;
        self.welcomed += other.welcomed;
        self.connect_errors += other.connect_errors;
        self.first_connect_error = self
            .first_connect_error
            .take()
            .or(other.first_connect_error);
        for (code, n) in other.refused {
            *self.refused.entry(code).or_default() += n;
        }
        for (code, n) in other.closed {
            *self.closed.entry(code).or_default() += n;
        }
    }

    pub fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }
}

/// Why a connect gave no socket.
enum NoSocket {
    /// The server answered no: a close code before the welcome, or an HTTP status.
    Refused(String),
    /// No answer: timed out, reset.
    Failed(String),
}

/// Starts the flooder on its own thread. The first receiver answers once every socket
/// is welcomed (the flood starts then) or with why they were not; the second with the
/// counts once the flood is over.
pub fn start(
    shape: Shape,
) -> (
    oneshot::Receiver<Result<(), String>>,
    oneshot::Receiver<FloodCounts>,
) {
    let (ready, on_ready) = oneshot::channel();
    let (done, on_done) = oneshot::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the flooder's runtime");
        let counts = runtime.block_on(flood(shape, ready));
        let _ = done.send(counts);
    });
    (on_ready, on_done)
}

async fn flood(shape: Shape, ready: oneshot::Sender<Result<(), String>>) -> FloodCounts {
    let mut total = FloodCounts {
        sockets: shape.sockets,
        seconds: shape.seconds,
        ..FloodCounts::default()
    };
    let mut first = Vec::new();
    for _ in 0..shape.sockets {
        total.connects += 1;
        match connect(&shape.url).await {
            Ok(ws) => first.push(ws),
            Err(NoSocket::Refused(why) | NoSocket::Failed(why)) => {
                let _ = ready.send(Err(format!("the flooder's socket {}: {why}", first.len())));
                return total;
            }
        }
    }
    total.welcomed = first.len() as u64;
    let _ = ready.send(Ok(()));
    let until = Instant::now() + Duration::from_secs_f64(shape.seconds);
    let reconnects = shape.max_connects.saturating_sub(total.connects) / shape.sockets as u64;
    let slots = first
        .into_iter()
        .map(|ws| flood_one_slot(&shape.url, ws, until, reconnects));
    for counts in futures::future::join_all(slots).await {
        total.add(counts);
    }
    total
}

/// One of the flooder's sockets: floods until it is closed, connects again at once, and
/// so on until `until` or `max_connects` more connects.
async fn flood_one_slot(url: &str, first: Ws, until: Instant, max_connects: u64) -> FloodCounts {
    let mut counts = FloodCounts::default();
    let mut open = Some(first);
    while Instant::now() < until {
        let ws = match open.take() {
            Some(ws) => ws,
            None if counts.connects >= max_connects => break,
            None => {
                counts.connects += 1;
                match connect(url).await {
                    Ok(ws) => {
                        counts.welcomed += 1;
                        ws
                    }
                    Err(NoSocket::Refused(code)) => {
                        *counts.refused.entry(code).or_default() += 1;
                        continue;
                    }
                    Err(NoSocket::Failed(error)) => {
                        counts.connect_errors += 1;
                        counts.first_connect_error.get_or_insert(error);
                        continue;
                    }
                }
            }
        };
        if let Some(code) = send_until_closed(ws, until, &mut counts.frames_sent).await {
            *counts.closed.entry(code).or_default() += 1;
        }
    }
    counts
}

async fn connect(url: &str) -> Result<Ws, NoSocket> {
    let opened = tokio::time::timeout(CONNECT_LIMIT, tokio_tungstenite::connect_async(url)).await;
    let (mut ws, _) = match opened {
        Err(_) => return Err(NoSocket::Failed("connect timed out".into())),
        Ok(Err(WsError::Http(response))) => {
            let status = response.status().as_u16();
            return Err(NoSocket::Refused(format!("HTTP {status}")));
        }
        Ok(Err(error)) => return Err(NoSocket::Failed(error.to_string())),
        Ok(Ok(opened)) => opened,
    };
    match tokio::time::timeout(CONNECT_LIMIT, ws.next()).await {
        Ok(Some(Ok(Message::Text(_)))) => Ok(ws),
        Ok(Some(Ok(Message::Close(frame)))) => Err(NoSocket::Refused(code_of(frame))),
        Err(_) => Err(NoSocket::Failed("no welcome in time".into())),
        Ok(other) => Err(NoSocket::Failed(format!("no welcome: {other:?}"))),
    }
}

fn code_of(frame: Option<CloseFrame>) -> String {
    frame.map_or("no code".into(), |f| u16::from(f.code).to_string())
}

/// Sends pings as fast as the socket takes them until the server closes it (its code) or
/// `until` (`None`).
async fn send_until_closed(ws: Ws, until: Instant, frames: &mut u64) -> Option<String> {
    let (mut sink, mut stream) = ws.split();
    let stop = tokio::time::sleep_until(until.into());
    tokio::pin!(stop);
    loop {
        let ping = Message::text(format!(r#"{{"type":"ping","id":{}}}"#, *frames));
        tokio::select! {
            biased;
            _ = &mut stop => {
                let _ = sink.close().await;
                return None;
            }
            message = stream.next() => match message {
                Some(Ok(Message::Close(frame))) => return Some(code_of(frame)),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Some("dropped".into()),
            },
            sent = sink.send(ping) => match sent {
                Ok(()) => *frames += 1,
                Err(_) => return Some(close_code_after_send_failed(stream, until).await),
            },
        }
    }
}

/// A send failed: the server closed the socket; read its code if it is still there.
async fn close_code_after_send_failed(
    mut stream: futures::stream::SplitStream<Ws>,
    until: Instant,
) -> String {
    let wait = until
        .saturating_duration_since(Instant::now())
        .min(CONNECT_LIMIT);
    let code = tokio::time::timeout(wait, async {
        while let Some(message) = stream.next().await {
            if let Ok(Message::Close(frame)) = message {
                return code_of(frame);
            }
        }
        "dropped".into()
    })
    .await;
    code.unwrap_or_else(|_| "dropped".into())
}
