//! Reference point: the cheapest broadcast there is. A bare tokio-tungstenite server on one
//! thread; a text frame from the connection at `/publish` goes to every other connection.
//! No auth, no storage, no JSON: what the sockets alone cost on this machine.

use std::net::SocketAddr;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;

/// Starts the server on its own thread and runtime; returns its address.
pub fn start() -> SocketAddr {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("raw server runtime");
        runtime.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            ready_tx
                .send(listener.local_addr().expect("address"))
                .expect("report address");
            let (events, _) = broadcast::channel::<Message>(65_536);
            while let Ok((stream, _)) = listener.accept().await {
                let events = events.clone();
                tokio::spawn(async move {
                    let mut publisher = false;
                    // The callback's signature is tungstenite's; its error type is theirs.
                    #[allow(clippy::result_large_err)]
                    let Ok(ws) = tokio_tungstenite::accept_hdr_async(
                        stream,
                        |request: &Request, response: Response| {
                            publisher = request.uri().path() == "/publish";
                            Ok(response)
                        },
                    )
                    .await
                    else {
                        return;
                    };
                    serve(ws, publisher, events).await;
                });
            }
        });
    });
    ready_rx.recv().expect("raw server address")
}

async fn serve(
    ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    publisher: bool,
    events: broadcast::Sender<Message>,
) {
    let (mut sink, mut stream) = ws.split();
    if sink
        .send(Message::text(r#"{"type":"welcome"}"#))
        .await
        .is_err()
    {
        return;
    }
    if publisher {
        while let Some(Ok(message)) = stream.next().await {
            if message.is_text() {
                // The frame is shared, not copied, by every receiver.
                let _ = events.send(message);
            }
        }
        return;
    }
    let mut feed = events.subscribe();
    loop {
        tokio::select! {
            event = feed.recv() => match event {
                Ok(message) => if sink.send(message).await.is_err() { return },
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            incoming = stream.next() => match incoming {
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}
