//! `make bench`: Hero Tasks against the design it replaces (Node `ws` + Redis pub/sub, tasks
//! in Postgres), with three reference points (the same Node design over an in-memory Map, a
//! bare tokio-tungstenite broadcast server and a bare JavaScript Durable Object relay), in
//! one run on this machine.
//!
//! It starts every server itself (Postgres and Redis too) on loopback ports, runs bounded
//! loops against them, stops them, and writes `bench/results/latest.{json,md}` (`--quick`:
//! `quick.{json,md}`, a one-minute smoke run that `make test` uses). Timing goals are
//! reported, never asserted; the run fails only when something is broken: a system that
//! will not start, updates that error, or Hero delivering less than every event exactly once
//! and in order (under churn, and to the watcher of a task that many writers PATCH at once).

mod client;
mod costs;
mod cpu;
mod cpu_stages;
mod doc;
mod flood;
mod postgres;
mod price;
mod raw_server;
mod report;
mod scale;
mod scenarios;
mod score;
mod spawn;
mod systems;

use std::time::{Duration, Instant};

use report::{Report, SystemReport};
use scenarios::{Driver, Footprint, Room};
use systems::{Kind, Store, System, IN_MEMORY, OLD_DESIGN, OLD_DESIGN_2};

/// How big and how long each scenario is.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    pub mode: &'static str,
    /// Scenario 1: room sizes, and the fixed update rate (below every system's saturation).
    pub latency_sockets: Vec<usize>,
    pub latency_rate_per_sec: f64,
    pub latency_seconds: f64,
    /// Scenario 2: room size, the rates tried in turn, and how long each is held.
    pub fanout_sockets: usize,
    pub fanout_rates_per_sec: Vec<f64>,
    pub fanout_step_seconds: f64,
    pub p99_limit_ms: f64,
    /// Scenario 3.
    pub churn_clients: usize,
    pub churn_rate_per_sec: f64,
    pub churn_seconds: f64,
    /// Scenario 4.
    pub crud_concurrency: usize,
    pub crud_seconds: f64,
    /// Scenario 6: writers PATCHing one task at once, and for how long.
    pub hot_writers: usize,
    pub hot_seconds: f64,
    /// Where a PATCH's CPU goes: requests per probe, one at a time (`cpu_stages`).
    pub cpu_stage_requests: u64,
    /// The scale phase: tasks in the large and the small workspace, timed requests per
    /// workspace and measurement after `scale_warmup` untimed ones, and sockets joining
    /// one room.
    pub scale_large_tasks: usize,
    pub scale_small_tasks: usize,
    pub scale_samples: usize,
    pub scale_warmup: usize,
    pub scale_join_sockets: usize,
    /// The shared description: editors in one document, keystrokes a second (all of
    /// them together) and for how long; people typing at once, a keystroke every
    /// `doc_typing_interval_ms` each, for `doc_typing_seconds`; the keystroke counts at which
    /// the stored document is measured, and keystrokes between two waits for the room.
    pub doc_editors: Vec<usize>,
    pub doc_rate_per_sec: f64,
    pub doc_seconds: f64,
    /// How long the servers' idle CPU is measured for, before each keystroke run.
    pub doc_idle_seconds: f64,
    pub doc_typing_people: Vec<usize>,
    pub doc_typing_interval_ms: u64,
    pub doc_typing_seconds: f64,
    pub doc_storage_keystrokes: Vec<usize>,
    pub doc_storage_window: usize,
    /// The flood (issue 23): sockets one viewer floods from, for how long, the quiet
    /// baseline before it, the bystanders' ping interval, and the flooder's connects in all
    /// (a bound on a run that goes wrong, not a pace).
    pub flood_sockets: usize,
    pub flood_seconds: f64,
    pub flood_quiet_seconds: f64,
    pub flood_ping_interval_ms: u64,
    pub flood_max_connects: u64,
    /// Only the systems whose name contains this, when given.
    pub only: Option<String>,
}

impl Plan {
    fn full() -> Plan {
        Plan {
            mode: "full",
            latency_sockets: vec![10, 100, 1000],
            latency_rate_per_sec: 10.0,
            latency_seconds: 10.0,
            fanout_sockets: 1000,
            fanout_rates_per_sec: vec![10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0, 1280.0],
            fanout_step_seconds: 5.0,
            p99_limit_ms: 250.0,
            churn_clients: 40,
            churn_rate_per_sec: 20.0,
            churn_seconds: 15.0,
            crud_concurrency: 16,
            crud_seconds: 4.0,
            hot_writers: 16,
            hot_seconds: 10.0,
            cpu_stage_requests: 1000,
            scale_large_tasks: 100_000,
            scale_small_tasks: 100,
            scale_samples: 60,
            scale_warmup: 5,
            scale_join_sockets: 1000,
            doc_editors: vec![2, 10, 100],
            doc_rate_per_sec: 20.0,
            doc_seconds: 15.0,
            doc_idle_seconds: 2.0,
            doc_typing_people: vec![1, 5],
            doc_typing_interval_ms: 200,
            doc_typing_seconds: 60.0,
            doc_storage_keystrokes: vec![10_000, 100_000],
            doc_storage_window: 200,
            flood_sockets: 10,
            flood_seconds: 10.0,
            flood_quiet_seconds: 5.0,
            flood_ping_interval_ms: 75,
            flood_max_connects: 50_000,
            only: None,
        }
    }

    fn quick() -> Plan {
        Plan {
            mode: "quick",
            latency_sockets: vec![10, 100],
            latency_rate_per_sec: 10.0,
            latency_seconds: 1.5,
            fanout_sockets: 100,
            fanout_rates_per_sec: vec![20.0, 80.0],
            fanout_step_seconds: 1.0,
            p99_limit_ms: 250.0,
            churn_clients: 8,
            churn_rate_per_sec: 20.0,
            churn_seconds: 3.0,
            crud_concurrency: 4,
            crud_seconds: 0.5,
            hot_writers: 4,
            hot_seconds: 1.5,
            cpu_stage_requests: 20,
            scale_large_tasks: 5_000,
            scale_small_tasks: 100,
            scale_samples: 8,
            scale_warmup: 3,
            scale_join_sockets: 200,
            doc_editors: vec![2, 10],
            doc_rate_per_sec: 20.0,
            doc_seconds: 2.0,
            doc_idle_seconds: 0.5,
            doc_typing_people: vec![1, 5],
            doc_typing_interval_ms: 200,
            doc_typing_seconds: 12.0,
            doc_storage_keystrokes: vec![1_000, 3_000],
            doc_storage_window: 200,
            flood_sockets: 10,
            flood_seconds: 2.0,
            flood_quiet_seconds: 1.0,
            flood_ping_interval_ms: 75,
            flood_max_connects: 10_000,
            only: None,
        }
    }
}

/// Progress on stdout, stamped with the time since the run began.
pub struct Progress(Instant);

impl Progress {
    pub fn say(&self, message: &str) {
        println!("[{:>6.1}s] {message}", self.0.elapsed().as_secs_f64());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let mut plan = if quick { Plan::quick() } else { Plan::full() };
    // `--only <text>`: just the systems whose name contains it, case-sensitively (for
    // profiling one system; `--only Postgres` is the old design's two rows), or the
    // scenarios whose name it is part of (`costs`, `scale`, `bundle`, `doc-keystrokes`,
    // `doc-writes`, `doc-storage`; `doc` is all three; `flood`);
    // such a partial run writes `partial.{json,md}`.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    plan.only = only.clone();
    let progress = Progress(Instant::now());
    progress.say(&format!("hero-tasks bench, {} run", plan.mode));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    // Ctrl-C: the servers run in their own process groups, so stop them before leaving
    // (Postgres first with a fast shutdown, and its data directory removed).
    runtime.spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            postgres::interrupt_all();
            hero_testkit::process::kill_every_group();
            postgres::remove_all();
            std::process::exit(130);
        }
    });
    let report = runtime.block_on(run(plan, &progress));
    let out = systems::project_root().join("bench/results");
    let stem = match (quick, only) {
        (_, Some(_)) => "partial",
        (true, None) => "quick",
        (false, None) => "latest",
    };
    let (json, markdown) = report.write(&out, stem).expect("write the report");
    progress.say(&format!(
        "wrote {} and {}",
        json.display(),
        markdown.display()
    ));
    let problems = report.problems();
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("bench: {problem}");
        }
        std::process::exit(1);
    }
}

async fn run(plan: Plan, progress: &Progress) -> Report {
    let mut report = Report::new(&plan);
    if plan
        .only
        .as_ref()
        .is_none_or(|only| "bundle".contains(only.as_str()))
    {
        progress.say("measuring the worker bundle (wrangler deploy --dry-run)");
        report.bundle = report::bundle_sizes();
    }
    if plan
        .only
        .as_ref()
        .is_none_or(|only| "costs".contains(only.as_str()))
    {
        progress.say("counting what each operation costs (hero on workerd, info logs)");
        let system = tokio::task::spawn_blocking(System::hero_workerd_counting)
            .await
            .expect("start a system");
        match costs::count(&system).await {
            Ok(rows) => report.costs = rows,
            Err(error) => {
                progress.say(&format!("cost table FAILED: {error}"));
                report.costs_error = Some(error);
            }
        }
        tokio::task::spawn_blocking(move || system.stop())
            .await
            .expect("stop a system");
    }
    if plan
        .only
        .as_ref()
        .is_none_or(|only| "scale".contains(only.as_str()))
    {
        progress.say(&format!(
            "scale: {} tasks against {} (hero on workerd over a seeded D1)",
            plan.scale_large_tasks, plan.scale_small_tasks
        ));
        report.scale = Some(scale::run(&plan, progress).await);
    }
    if plan.only.as_ref().is_none_or(|only| {
        ["doc-keystrokes", "doc-writes", "doc-storage"]
            .iter()
            .any(|n| n.contains(only.as_str()))
    }) {
        progress.say("the shared description: keystrokes, D1 writes, storage");
        report.documents = Some(doc::run(&plan, progress).await);
    }
    if plan
        .only
        .as_ref()
        .is_none_or(|only| "flood".contains(only.as_str()))
    {
        progress
            .say("flood: a bystander's ping while one viewer floods a task room (hero on workerd)");
        report.flood = Some(flood::run(&plan, progress).await);
    }

    type Start = fn() -> System;
    let mut lineup: Vec<(&str, Start, bool)> = vec![
        ("hero (wrangler dev)", System::hero_wrangler_dev, true),
        ("hero (workerd)", System::hero_workerd, true),
        (OLD_DESIGN, || System::baseline(1, Store::Postgres), true),
        (OLD_DESIGN_2, || System::baseline(2, Store::Postgres), false),
        (IN_MEMORY, || System::baseline(1, Store::Memory), true),
        ("bare tokio-tungstenite", System::raw_tokio, false),
        ("JS DO relay (workerd)", System::relay_workerd, false),
    ];
    if plan.mode == "full" {
        lineup.push((
            "JS DO relay (wrangler dev)",
            System::relay_wrangler_dev,
            false,
        ));
    }
    for (name, start, every_scenario) in lineup {
        if plan
            .only
            .as_ref()
            .is_some_and(|only| !name.contains(only.as_str()))
        {
            continue;
        }
        let system = tokio::task::spawn_blocking(start)
            .await
            .expect("start a system");
        progress.say(&format!(
            "{}: up in {:.0} ms",
            system.name, system.startup_ms
        ));
        let mut result = SystemReport::new(&system);
        if let Err(error) = measure(&plan, &system, every_scenario, &mut result, progress).await {
            progress.say(&format!("{}: FAILED: {error}", system.name));
            result.error = Some(error);
        }
        report.systems.push(result);
        tokio::task::spawn_blocking(move || system.stop())
            .await
            .expect("stop a system");
    }
    report.finish();
    report
}

async fn measure(
    plan: &Plan,
    system: &System,
    every_scenario: bool,
    result: &mut SystemReport,
    progress: &Progress,
) -> Result<(), String> {
    let mut driver = Driver::new(system);
    let say = |message: &str| progress.say(message);
    if every_scenario {
        result.cold_start = Some(scenarios::cold_start(&driver).await?);
    }

    // The big room serves scenario 1 at its largest size, scenario 2 and the footprint.
    let big = driver.create_room("fan-out").await?;
    let rss_before_kib = system.rss_kib();
    say(&format!(
        "{}: connecting {} sockets to one room",
        system.name, plan.fanout_sockets
    ));
    let audience = driver.audience(&big, plan.fanout_sockets).await?;
    let big = Room { id: big, audience };
    // Let the join traffic (presence to everyone) drain before anything is measured.
    tokio::time::sleep(Duration::from_secs(3)).await;
    if system.kind != Kind::RawTokio {
        let rss_after_kib = system.rss_kib();
        result.footprint = Some(Footprint {
            sockets: plan.fanout_sockets,
            rss_before_kib,
            rss_after_kib,
            rss_per_1000_sockets_kib: rss_after_kib.saturating_sub(rss_before_kib) * 1000
                / plan.fanout_sockets as u64,
        });
    }

    if every_scenario {
        for &sockets in &plan.latency_sockets {
            say(&format!(
                "{}: scenario 1, {sockets} sockets at {} updates/s",
                system.name, plan.latency_rate_per_sec
            ));
            let delivery = if sockets == plan.fanout_sockets {
                driver
                    .deliver(&big, plan.latency_rate_per_sec, plan.latency_seconds)
                    .await?
            } else {
                let id = driver.create_room(&format!("latency {sockets}")).await?;
                let audience = driver.audience(&id, sockets).await?;
                tokio::time::sleep(Duration::from_millis(500)).await;
                let room = Room { id, audience };
                let delivery = driver
                    .deliver(&room, plan.latency_rate_per_sec, plan.latency_seconds)
                    .await?;
                room.audience.close();
                delivery
            };
            say(&format!(
                "  p50 {:.1} ms, p99 {:.1} ms, {} missing",
                delivery.latency.p50_ms, delivery.latency.p99_ms, delivery.missing
            ));
            result.latency.push(delivery);
        }
    }

    say(&format!(
        "{}: scenario 2, raising the rate into {} sockets",
        system.name, plan.fanout_sockets
    ));
    result.saturation = Some(
        scenarios::saturate(
            &mut driver,
            &big,
            &plan.fanout_rates_per_sec,
            plan.fanout_step_seconds,
            plan.p99_limit_ms,
            &say,
        )
        .await?,
    );
    big.audience.close();
    if !every_scenario {
        return Ok(());
    }

    // The saturation backlog and a thousand departures must clear before the next
    // scenario; how long that takes is reported.
    let recovered = Instant::now();
    driver
        .wait_until_answering(Duration::from_secs(120))
        .await?;
    result.recovery_ms = Some(recovered.elapsed().as_millis() as u64);
    say(&format!(
        "{}: answering again {} ms after the fan-out test",
        system.name,
        recovered.elapsed().as_millis()
    ));
    say(&format!("{}: scenario 3, churn", system.name));
    let churn = scenarios::churn(
        &mut driver,
        plan.churn_clients,
        plan.churn_rate_per_sec,
        plan.churn_seconds,
    )
    .await?;
    say(&format!(
        "  {:.2}% exactly once and in order ({} missing, {} duplicates, {} reconnects)",
        churn.share_exactly_once_in_order * 100.0,
        churn.missing,
        churn.duplicates,
        churn.reconnects
    ));
    result.churn = Some(churn);

    say(&format!("{}: scenario 4, REST CRUD", system.name));
    result.crud = scenarios::crud(&driver, plan.crud_concurrency, plan.crud_seconds).await?;
    for crud in &result.crud {
        say(&format!(
            "  {:<6} {:>6.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {} errors",
            crud.operation,
            crud.requests_per_sec,
            crud.latency.p50_ms,
            crud.latency.p99_ms,
            crud.errors
        ));
    }

    say(&format!(
        "{}: scenario 6, {} writers PATCH one task for {} s",
        system.name, plan.hot_writers, plan.hot_seconds
    ));
    let hot = scenarios::hot_task(&driver, plan.hot_writers, plan.hot_seconds).await?;
    say(&format!(
        "  {:.0} PATCH/s, p50 {:.1} ms, p99 {:.1} ms; 2xx {} / 409 {} / 5xx {} / other {}; watcher: {} of {} versions exactly once in order ({} missing, {} duplicates, {} out of order){}",
        hot.patches_per_sec,
        hot.latency.p50_ms,
        hot.latency.p99_ms,
        hot.ok,
        hot.conflicts,
        hot.server_errors,
        hot.other,
        hot.watcher_exactly_once_in_order,
        hot.committed_versions,
        hot.watcher_missing,
        hot.watcher_duplicates,
        hot.watcher_out_of_order,
        hot.error_samples
            .first()
            .map_or(String::new(), |e| format!("; first error: {e:.160}"))
    ));
    result.hot_task = Some(hot);
    if system.name == "hero (workerd)" || system.name == OLD_DESIGN {
        say(&format!(
            "{}: where a PATCH's CPU goes, {} requests per probe, one at a time",
            system.name, plan.cpu_stage_requests
        ));
        result.cpu_stages = cpu_stages::measure(&driver, plan.cpu_stage_requests).await?;
    }
    Ok(())
}
