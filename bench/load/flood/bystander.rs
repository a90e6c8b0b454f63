//! A bystander: another user, in the flooded task room or on the workspace board, who
//! pings at a steady pace and times each pong by its `id`.
//!
//! Its pings carry an `id`, so the room itself answers them (the exact frame
//! `{"type":"ping"}` is answered by the runtime without waking the room, which would time
//! nothing of the room's queue).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::Value;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, histogram, Ws};
use crate::scenarios::Latency;

/// How long a bystander waits for its last pongs after it stops pinging; a pong later
/// than this counts as missing.
const PONG_GRACE: Duration = Duration::from_secs(15);

/// What one bystander measured in one phase.
#[derive(Debug, Clone, Serialize)]
pub struct Pings {
    /// "task room" or "board".
    pub place: &'static str,
    /// "quiet" (nobody floods) or "flood".
    pub phase: &'static str,
    pub sent: u64,
    /// Pings without a pong within [`PONG_GRACE`] of the last ping.
    pub missing: u64,
    /// Over every ping; a missing pong counts at its ping's age when the bystander gave
    /// up, a lower bound.
    pub latency: Latency,
    /// The bystander's socket closed or failed (the server must never close it).
    pub failure: Option<String>,
}

pub struct Bystander {
    pub place: &'static str,
    ws: Ws,
}

/// Ping ids waiting for their pong, and the round trips of those answered.
struct Clock {
    next_id: u64,
    waiting: HashMap<u64, Instant>,
    round_trips: Histogram<u64>,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            next_id: 0,
            waiting: HashMap::new(),
            round_trips: histogram(),
        }
    }

    fn next_ping(&mut self) -> Message {
        let id = self.next_id;
        self.next_id += 1;
        self.waiting.insert(id, Instant::now());
        Message::text(format!(r#"{{"type":"ping","id":{id}}}"#))
    }

    /// Times the frame if it is the pong to a ping still waiting.
    fn hear(&mut self, text: &str) {
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            return;
        };
        if frame["type"] != "pong" {
            return;
        }
        let sent = frame["id"].as_u64().and_then(|id| self.waiting.remove(&id));
        if let Some(sent) = sent {
            let _ = self
                .round_trips
                .record((sent.elapsed().as_micros() as u64).max(1));
        }
    }

    /// The pings' round trips, the missing ones at their age now: a lower bound, so a
    /// bystander who lost most pongs has a p50 that says so.
    fn pings(mut self, place: &'static str, phase: &'static str, failure: Option<String>) -> Pings {
        for sent in self.waiting.values() {
            let _ = self
                .round_trips
                .record((sent.elapsed().as_micros() as u64).max(1));
        }
        Pings {
            place,
            phase,
            sent: self.next_id,
            missing: self.waiting.len() as u64,
            latency: Latency::of(&self.round_trips),
            failure,
        }
    }
}

impl Bystander {
    /// Joins (`url` is a task room's or the board's socket) and waits for the welcome.
    pub async fn join(place: &'static str, url: &str) -> Result<Bystander, String> {
        let ws = client::connect(url).await?;
        Ok(Bystander { place, ws })
    }

    /// Pings every `interval` for `seconds`, then waits for the pongs still due.
    pub async fn ping_for(
        &mut self,
        phase: &'static str,
        seconds: f64,
        interval: Duration,
    ) -> Pings {
        let mut clock = Clock::new();
        let stop_pinging = Instant::now() + Duration::from_secs_f64(seconds);
        let give_up = tokio::time::Instant::from_std(stop_pinging + PONG_GRACE);
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let failure = loop {
            let pinging = Instant::now() < stop_pinging;
            if !pinging && clock.waiting.is_empty() {
                break None;
            }
            tokio::select! {
                _ = ticker.tick(), if pinging => {
                    if let Err(error) = self.ws.send(clock.next_ping()).await {
                        break Some(format!("send: {error}"));
                    }
                }
                frame = self.ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => clock.hear(text.as_str()),
                    Some(Ok(Message::Close(frame))) => {
                        break Some(format!("closed by the server: {frame:?}"))
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => break Some(format!("socket error: {error}")),
                    None => break Some("socket ended".to_owned()),
                },
                _ = tokio::time::sleep_until(give_up) => break None,
            }
        };
        clock.pings(self.place, phase, failure)
    }

    pub async fn leave(mut self) {
        let _ = self.ws.close(None).await;
    }
}
