//! The shared description's benchmarks (issue 20), with the same yrs client against every
//! server:
//!
//! - `doc-keystrokes`: keystroke → the other editors' documents with 2, 10 and 100 editors,
//!   and server CPU per keystroke, on Hero (workerd) and on the Yjs reference server
//!   (`y-websocket-server`) with its LevelDB persistence on and off, and, for where the
//!   time goes, a bare JS Durable Object relaying the same frames on the same workerd;
//! - `doc-writes`: D1 writes per minute while one and five people type (Hero, counted from
//!   its logs);
//! - `doc-storage`: the room's stored document after 10,000 and 100,000 keystrokes, before
//!   and after compaction (Hero, from its logs).
//!
//! # Layout
//! peer (one yrs editor over a WebSocket), tracker (which keystroke reached whom, when),
//! typist (a day's keystrokes, deterministic), logs (the room's document log lines), one
//! file per scenario (keystrokes, writes, storage), report (goals, ratios, what fails the
//! run), markdown (the section of latest.md).

mod keystrokes;
mod logs;
pub mod markdown;
mod peer;
pub mod report;
mod storage;
mod tracker;
mod typist;
mod writes;

use std::time::Duration;

use serde::Serialize;

use crate::spawn::blocking;
use crate::systems::{Kind, System};
use crate::{Plan, Progress};

pub use keystrokes::KeystrokeRun;
pub use storage::Checkpoint;
pub use writes::Typing;

/// Something that did not run; `fatal` when it is Hero's (a reference that cannot run is
/// reported as not measured).
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub what: String,
    pub error: String,
    pub fatal: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct Documents {
    pub keystrokes: Vec<KeystrokeRun>,
    pub typing: Vec<Typing>,
    pub storage: Vec<Checkpoint>,
    /// The Yjs reference's LevelDB directory after its runs (its persistence was on).
    pub reference_leveldb_bytes: Option<u64>,
    pub failures: Vec<Failure>,
}

impl Documents {
    fn failed(&mut self, what: &str, error: String, fatal: bool, progress: &Progress) {
        progress.say(&format!("{what}: FAILED: {error:.300}"));
        self.failures.push(Failure {
            what: what.to_owned(),
            error,
            fatal,
        });
    }
}

/// The scenarios `plan.only` asks for (all of them when it names none).
pub async fn run(plan: &Plan, progress: &Progress) -> Documents {
    let wants = |name: &str| plan.only.as_ref().is_none_or(|o| name.contains(o.as_str()));
    let mut documents = Documents::default();
    if wants("doc-keystrokes") {
        type Start = fn() -> System;
        // Hero's failures fail the run; a reference that cannot run is reported as such.
        let lineup: [(Start, bool); 4] = [
            (System::hero_workerd, true),
            (|| System::yjs_reference(true), false),
            (|| System::yjs_reference(false), false),
            // the runtime's floor: a bare JS Durable Object relaying the frames
            (System::relay_workerd, false),
        ];
        for (start, fatal) in lineup {
            keystrokes_on(start, fatal, plan, progress, &mut documents).await;
        }
    }
    if wants("doc-writes") || wants("doc-storage") {
        counted(plan, progress, &mut documents, &wants).await;
    }
    documents
}

async fn keystrokes_on(
    start: fn() -> System,
    fatal: bool,
    plan: &Plan,
    progress: &Progress,
    documents: &mut Documents,
) {
    let system = match blocking("start", start).await {
        Ok(system) => system,
        Err(error) => return documents.failed("doc-keystrokes", error, fatal, progress),
    };
    progress.say(&format!(
        "{}: up in {:.0} ms",
        system.name, system.startup_ms
    ));
    for &editors in &plan.doc_editors {
        progress.say(&format!(
            "{}: doc-keystrokes, {editors} editors, {} keystrokes/s for {} s",
            system.name, plan.doc_rate_per_sec, plan.doc_seconds
        ));
        let shape = keystrokes::Shape {
            rate: plan.doc_rate_per_sec,
            seconds: plan.doc_seconds,
            idle_seconds: plan.doc_idle_seconds,
        };
        match keystrokes::run(&system, editors, &shape).await {
            Ok(run) => {
                progress.say(&format!(
                    "  every other editor has it: p50 {:.1} ms, p99 {:.1} ms; {} missing; server CPU {:.3} ms per keystroke",
                    run.everyone.p50_ms, run.everyone.p99_ms, run.missing, run.server_cpu_ms_per_update
                ));
                documents.keystrokes.push(run);
            }
            Err(error) => {
                let what = format!("doc-keystrokes, {}, {editors} editors", system.name);
                documents.failed(&what, error, fatal, progress);
            }
        }
    }
    if system.kind == Kind::YjsReference {
        documents.reference_leveldb_bytes =
            documents.reference_leveldb_bytes.or(system.leveldb_bytes());
    }
    let _ = blocking("stop", move || system.stop()).await;
}

/// D1 writes and storage, counted from Hero's info logs.
async fn counted(
    plan: &Plan,
    progress: &Progress,
    documents: &mut Documents,
    wants: &dyn Fn(&str) -> bool,
) {
    let system = match blocking("start", System::hero_workerd_documents).await {
        Ok(system) => system,
        Err(error) => return documents.failed("doc-writes/doc-storage", error, true, progress),
    };
    progress.say(&format!(
        "{}: up in {:.0} ms",
        system.name, system.startup_ms
    ));
    if wants("doc-writes") {
        progress.say(&format!(
            "{}: doc-writes, {:?} people each typing a character every {} ms for {} s (at once, one task each)",
            system.name, plan.doc_typing_people, plan.doc_typing_interval_ms, plan.doc_typing_seconds
        ));
        let interval = Duration::from_millis(plan.doc_typing_interval_ms);
        let groups = plan.doc_typing_people.iter().map(|&people| {
            writes::type_together(&system, people, interval, plan.doc_typing_seconds)
        });
        // they type at once; they leave one group at a time (see `Typed::leave`)
        for typed in futures::future::join_all(groups).await {
            match typed {
                Ok(typed) => {
                    let typing = typed.leave(&system).await;
                    progress.say(&format!(
                        "  {} people: {} D1 writes while typing ({:.1} a minute), {} after they stopped; {} rows",
                        typing.people, typing.writes_while_typing, typing.writes_per_minute,
                        typing.writes_after, typing.rows_while_typing + typing.rows_after
                    ));
                    documents.typing.push(typing);
                }
                Err(error) => documents.failed("doc-writes", error, true, progress),
            }
        }
    }
    if wants("doc-storage") {
        storage_on(&system, plan, progress, documents).await;
    }
    let _ = blocking("stop", move || system.stop()).await;
}

async fn storage_on(system: &System, plan: &Plan, progress: &Progress, documents: &mut Documents) {
    progress.say(&format!(
        "{}: doc-storage, one editor types {:?} keystrokes",
        system.name, plan.doc_storage_keystrokes
    ));
    match storage::run(
        system,
        &plan.doc_storage_keystrokes,
        plan.doc_storage_window,
    )
    .await
    {
        Ok(checkpoints) => {
            for c in &checkpoints {
                progress.say(&format!(
                    "  {} keystrokes in {:.1} s: text {} chars; stored {} bytes before compaction, {} after; {} bytes of updates sent",
                    c.keystrokes, c.typing_seconds, c.text_chars, c.bytes_before, c.bytes_after, c.update_bytes
                ));
            }
            documents.storage = checkpoints;
        }
        Err(error) => documents.failed("doc-storage", error, true, progress),
    }
}
