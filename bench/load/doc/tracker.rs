//! When each keystroke reached each other editor's document. A keystroke is a one-character
//! insert, so it takes exactly one clock tick of its editor's Yjs client: keystroke `k` of
//! editor `e` is the item `(client of e, clock k)`. The sender stamps it before sending; a
//! receiver, after applying an update, reads its state vector: every clock of another
//! editor below the new entry is now applied there (a state vector counts integrated items
//! only, so an update waiting for a missing one does not count).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hdrhistogram::Histogram;
use yrs::block::ClientID;
use yrs::StateVector;

use crate::client::histogram;
use crate::scenarios::Latency;

pub struct Tracker {
    origin: Instant,
    clients: Vec<ClientID>,
    /// `[editor][clock]`: microseconds since `origin` when it was sent (0: not sent).
    sent: Vec<Vec<AtomicU64>>,
    /// `[editor][clock]`: how many other editors have applied it.
    applied: Vec<Vec<AtomicU32>>,
    /// Keystroke → every other editor has it (one sample per keystroke).
    everyone: Mutex<Histogram<u64>>,
    /// Keystroke → one other editor has it (one sample per delivery).
    each: Mutex<Histogram<u64>>,
    deliveries: AtomicU64,
}

/// What the tracker saw.
pub struct Tracked {
    pub everyone: Latency,
    pub each: Latency,
    pub deliveries: u64,
}

impl Tracker {
    /// For editors with these client ids, each sending at most `per_editor` keystrokes.
    pub fn new(clients: &[u64], per_editor: usize) -> Arc<Tracker> {
        let table = |_| (0..per_editor).map(|_| AtomicU64::new(0)).collect();
        let counts = |_| (0..per_editor).map(|_| AtomicU32::new(0)).collect();
        Arc::new(Tracker {
            origin: Instant::now(),
            clients: clients.iter().map(|&c| ClientID::new(c)).collect(),
            sent: clients.iter().map(table).collect(),
            applied: clients.iter().map(counts).collect(),
            everyone: Mutex::new(histogram()),
            each: Mutex::new(histogram()),
            deliveries: AtomicU64::new(0),
        })
    }

    fn now_us(&self) -> u64 {
        self.origin.elapsed().as_micros() as u64 + 1
    }

    /// Editor `editor` is about to send its keystroke at `clock`.
    pub fn stamp(&self, editor: usize, clock: u32) {
        if let Some(slot) = self.sent.get(editor).and_then(|s| s.get(clock as usize)) {
            slot.store(self.now_us(), Ordering::Relaxed);
        }
    }

    /// Editor `me` now has `state`; `seen[e]` is how far it had editor `e` before (updated).
    pub fn applied(&self, me: usize, state: &StateVector, seen: &mut [u32]) {
        let others = self.clients.len() as u32 - 1;
        for (editor, client) in self.clients.iter().enumerate() {
            let now = state.get(client);
            if editor == me || now <= seen[editor] {
                continue;
            }
            for clock in seen[editor]..now {
                self.record(editor, clock as usize, others);
            }
            seen[editor] = now;
        }
    }

    fn record(&self, editor: usize, clock: usize, others: u32) {
        let Some(sent) = self.sent[editor].get(clock) else {
            return;
        };
        let sent = sent.load(Ordering::Relaxed);
        if sent == 0 {
            return;
        }
        let age = self.now_us().saturating_sub(sent).max(1);
        self.deliveries.fetch_add(1, Ordering::Relaxed);
        let _ = self.each.lock().unwrap().record(age);
        if self.applied[editor][clock].fetch_add(1, Ordering::Relaxed) + 1 == others {
            let _ = self.everyone.lock().unwrap().record(age);
        }
    }

    pub fn editors(&self) -> usize {
        self.clients.len()
    }

    pub fn deliveries(&self) -> u64 {
        self.deliveries.load(Ordering::Relaxed)
    }

    pub fn results(&self) -> Tracked {
        Tracked {
            everyone: Latency::of(&self.everyone.lock().unwrap()),
            each: Latency::of(&self.each.lock().unwrap()),
            deliveries: self.deliveries(),
        }
    }
}
