//! A real WebSocket client (tokio-tungstenite) in a room, which unpacks `batch` frames the
//! way a browser client does, with helpers to wait for specific messages.

use std::time::Duration;

use serde_json::Value;

/// A WebSocket client in a room, with helpers to wait for specific messages.
pub struct Socket {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    /// The rest of a `batch` frame: its events are handed out one by one, like a client does.
    unpacked: std::collections::VecDeque<Value>,
}

/// How long a test waits for a message it expects before failing.
pub const WAIT: Duration = Duration::from_secs(10);

impl Socket {
    /// Opens `path` (with its query) on the server; `Err(status)` when refused before upgrade.
    pub async fn open(base: &str, path: &str) -> Result<Socket, u16> {
        let url = format!("{}{}", base.replacen("http://", "ws://", 1), path);
        match tokio_tungstenite::connect_async(url).await {
            Ok((stream, _)) => Ok(Socket {
                stream,
                unpacked: Default::default(),
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(other) => panic!("websocket connect failed: {other}"),
        }
    }

    /// Opens `path` offering `protocols` in `Sec-WebSocket-Protocol` (how the browser
    /// client sends its token); returns the protocol the server selected, if any.
    pub async fn open_with_protocols(
        base: &str,
        path: &str,
        protocols: &str,
    ) -> Result<(Socket, Option<String>), u16> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}{}", base.replacen("http://", "ws://", 1), path);
        let mut request = url.into_client_request().expect("a websocket request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            protocols.parse().expect("a header value"),
        );
        match tokio_tungstenite::connect_async(request).await {
            Ok((stream, response)) => {
                let selected = response
                    .headers()
                    .get("Sec-WebSocket-Protocol")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let socket = Socket {
                    stream,
                    unpacked: Default::default(),
                };
                Ok((socket, selected))
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(other) => panic!("websocket connect failed: {other}"),
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        use futures::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::text(text))
            .await
            .expect("send");
    }

    pub async fn send_json(&mut self, value: &Value) {
        self.send_text(&value.to_string()).await;
    }

    /// Sends without asserting: false once the socket is closed.
    pub async fn try_send_json(&mut self, value: &Value) -> bool {
        use futures::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::text(
                value.to_string(),
            ))
            .await
            .is_ok()
    }

    /// A text frame whose payload is `bytes` as they are (not necessarily UTF-8).
    pub async fn send_raw_text(&mut self, bytes: Vec<u8>) {
        use futures::SinkExt;
        use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
        use tokio_tungstenite::tungstenite::protocol::frame::Frame;
        let frame = Frame::message(bytes, OpCode::Data(Data::Text), true);
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::Frame(frame))
            .await
            .expect("send");
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        use futures::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::binary(bytes))
            .await
            .expect("send");
    }

    /// The next message: `Ok(json)`, `Err(code)` when the socket closes. The events of a
    /// `batch` frame come out one at a time, in order.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Result<Value, u16>> {
        if let Some(event) = self.unpacked.pop_front() {
            return Some(Ok(event));
        }
        match self.next_frame_within(wait).await? {
            Ok(Value::Object(mut frame)) if frame.get("type") == Some(&"batch".into()) => {
                let Some(Value::Array(events)) = frame.remove("events") else {
                    panic!("a batch frame without events: {frame:?}");
                };
                assert!(events.len() >= 2, "a batch of {} events", events.len());
                self.unpacked.extend(events);
                self.unpacked.pop_front().map(Ok)
            }
            other => Some(other),
        }
    }

    /// The next frame as sent, without unpacking batches.
    pub async fn next_frame_within(&mut self, wait: Duration) -> Option<Result<Value, u16>> {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()?;
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Some(Ok(
                        serde_json::from_str(&text).expect("server frames are JSON")
                    ))
                }
                Some(Ok(Message::Close(frame))) => {
                    return Some(Err(frame.map_or(1005, |f| u16::from(f.code))))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Some(Err(1006)),
            }
        }
    }

    /// Waits for the next message of type `kind`, skipping others; panics on timeout or close.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            match self.next_within(WAIT).await {
                Some(Ok(message)) if message["type"] == kind => return message,
                Some(Ok(_)) => continue,
                Some(Err(code)) => panic!("socket closed ({code}) while waiting for {kind}"),
                None => panic!("no {kind} within {WAIT:?}"),
            }
        }
    }

    /// Waits for the socket to be closed by the server and returns the close code.
    pub async fn expect_close(&mut self) -> u16 {
        loop {
            match self.next_within(WAIT).await {
                Some(Ok(_)) => continue,
                Some(Err(code)) => return code,
                None => panic!("the socket was not closed within {WAIT:?}"),
            }
        }
    }

    /// Everything that arrives within `wait` (the socket stays open).
    pub async fn collect_for(&mut self, wait: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut messages = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Some(Ok(message)) => messages.push(message),
                Some(Err(_)) | None => return messages,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

/// Opens a room (`/ws/tasks/{id}` or `/ws/board`, optionally with `?since=`) with `token`
/// and waits for the welcome.
pub async fn join_room(base: &str, room_path: &str, token: &str) -> (Socket, Value) {
    let separator = if room_path.contains('?') { '&' } else { '?' };
    let mut socket = Socket::open(base, &format!("{room_path}{separator}token={token}"))
        .await
        .expect("the upgrade is accepted");
    let welcome = socket.expect("welcome").await;
    (socket, welcome)
}
