//! Keystroke → the other editors' documents: `editors` editors in one document, one of them
//! at a time (in turn) types one character at a fixed rate (open loop) at a random place,
//! each keystroke one Yjs update; the time until every other editor's document has applied
//! it, and what the server's processes spent per keystroke in CPU.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hero_core::auth::Role;
use serde::Serialize;

use super::peer::Editor;
use super::tracker::Tracker;
use super::typist::{Edit, Rng};
use crate::cpu::{self, CpuByCommand};
use crate::scenarios::{Driver, Latency};
use crate::systems::{token, System};

#[derive(Debug, Clone, Serialize)]
pub struct KeystrokeRun {
    pub system: &'static str,
    pub editors: usize,
    pub rate_per_sec: f64,
    pub keystrokes: u64,
    /// Keystrokes × other editors, and how many of those were applied.
    pub expected_deliveries: u64,
    pub deliveries: u64,
    pub missing: u64,
    /// Keystroke → every other editor has applied it (one sample per keystroke).
    pub everyone: Latency,
    /// Keystroke → one other editor has applied it (one sample per delivery).
    pub each: Latency,
    /// CPU seconds of the server's processes while typing, by command name.
    pub server_cpu_seconds: CpuByCommand,
    pub server_cpu_ms_per_update: f64,
    /// What the server's processes spent a second with the editors connected and nobody
    /// typing (measured for a second before), and the CPU per keystroke above that.
    pub server_idle_cpu_ms_per_sec: f64,
    pub server_cpu_ms_per_update_above_idle: f64,
    /// The load generator's own, for scale (the same client for every server).
    pub client_cpu_ms_per_update: f64,
    /// Every editor ended with the same text, holding every keystroke.
    pub converged: bool,
    pub failures: Vec<String>,
}

fn total(cpu: &CpuByCommand) -> f64 {
    cpu.values().sum()
}

/// The client id of editor `index`: Yjs ids are random 32-bit numbers; these are fixed so
/// every run and server types the same.
fn client_id(index: usize) -> u64 {
    0x5eed_0000 + index as u64
}

type Room = (Vec<Editor>, Arc<Tracker>);

/// A fresh room (a task on Hero) with `editors` editors in sync, each a different user,
/// to type `keystrokes` among them.
async fn open_room(driver: &Driver<'_>, editors: usize, keystrokes: usize) -> Result<Room, String> {
    let room = driver.create_room("typing together").await?;
    let clients: Vec<u64> = (0..editors).map(client_id).collect();
    let tracker = Tracker::new(&clients, keystrokes.div_ceil(editors));
    let mut opened = Vec::with_capacity(editors);
    for chunk in (0..editors).collect::<Vec<_>>().chunks(50) {
        let connects = chunk.iter().map(|&i| {
            let user = token(&format!("editor-{i}"), Role::Member, &driver.workspace);
            let url = driver.system.doc_url(&room, &user);
            let tracker = tracker.clone();
            async move { Editor::connect(&url, client_id(i), i, Some(tracker)).await }
        });
        for editor in futures::future::join_all(connects).await {
            opened.push(editor?);
        }
    }
    Ok((opened, tracker))
}

/// How fast and how long the editors type, and how long the server's idle CPU is
/// measured for first.
pub struct Shape {
    pub rate: f64,
    pub seconds: f64,
    pub idle_seconds: f64,
}

/// Types `rate × seconds` keystrokes into a fresh room of `editors` and measures them.
pub async fn run(system: &System, editors: usize, shape: &Shape) -> Result<KeystrokeRun, String> {
    let (rate, seconds) = (shape.rate, shape.seconds);
    let driver = Driver::new(system);
    let count = ((rate * seconds).round() as usize).max(editors);
    let (mut room, tracker) = open_room(&driver, editors, count).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_before = (Instant::now(), system.cpu());
    tokio::time::sleep(Duration::from_secs_f64(shape.idle_seconds)).await;
    let (server_before, client_before) = (system.cpu(), cpu::own());
    let idle =
        total(&cpu::used(&idle_before.1, &server_before)) / idle_before.0.elapsed().as_secs_f64();
    let mut rng = Rng::new(20);
    let started = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate);
    for k in 0..count {
        tokio::time::sleep_until((started + period * k as u32).into()).await;
        let editor = &mut room[k % editors];
        let at = rng.below(editor.len() + 1);
        let ch = rng.letter();
        editor.type_key(Edit::Insert { at, ch }).await?;
    }
    let expected = (count * (editors - 1)) as u64;
    let deadline = Instant::now() + Duration::from_secs(10);
    while tracker.deliveries() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let server = cpu::used(&server_before, &system.cpu());
    let window = started.elapsed().as_secs_f64();
    let client = cpu::own() - client_before;
    let tracked = tracker.results();
    let texts: Vec<String> = room.iter().map(Editor::text).collect();
    let converged = texts.iter().all(|t| *t == texts[0] && t.len() == count);
    let failures = room.iter().filter_map(Editor::failure).collect();
    futures::future::join_all(room.into_iter().map(Editor::close)).await;
    let per_update = |seconds: f64| (seconds * 1000.0 / count as f64 * 1000.0).round() / 1000.0;
    Ok(KeystrokeRun {
        system: system.name,
        editors,
        rate_per_sec: rate,
        keystrokes: count as u64,
        expected_deliveries: expected,
        deliveries: tracked.deliveries,
        missing: expected.saturating_sub(tracked.deliveries),
        everyone: tracked.everyone,
        each: tracked.each,
        server_cpu_ms_per_update: per_update(total(&server)),
        server_idle_cpu_ms_per_sec: (idle * 1000.0 * 10.0).round() / 10.0,
        server_cpu_ms_per_update_above_idle: per_update((total(&server) - idle * window).max(0.0)),
        server_cpu_seconds: server,
        client_cpu_ms_per_update: per_update(client),
        converged,
        failures,
    })
}
