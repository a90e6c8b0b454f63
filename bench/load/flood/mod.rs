//! `flood` (issue 23): a bystander's ping round trip while one viewer floods a task room.
//!
//! One viewer token opens ten sockets (quick: the same ten) in one task room of Hero on
//! workerd and sends `ping` frames from all of them as fast as it can, connecting again at
//! once whenever a socket is closed or a connect refused (see `flooder`). Meanwhile two
//! other users ping at a steady pace and time each pong: one in the same task room, one
//! on the workspace's board (see `bystander`). Before the flood, the same bystanders ping
//! in quiet for a baseline, so the report shows what the flood costs them.
//!
//! `HERO_BENCH_FLOOD_WORKER=<checkout>` floods the worker built in another checkout
//! instead (`make build` there first): how the code before the fix is measured with this
//! bench (`git worktree add <dir> 7d4ea4c^`).
//!
//! The target (p50 ≤ 50 ms while the flood lasts) is reported, never asserted; the phase
//! fails only when something is broken: the server will not start, the flooder's first
//! sockets or a bystander cannot join, a bystander is closed or hears no pong at all.
//!
//! # Layout
//! flooder (the hostile viewer, on a thread of its own), bystander (one pinging user),
//! report (the goal, what fails the run, the Markdown section).

mod bystander;
mod flooder;
pub mod report;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hero_core::auth::Role;
use serde::Serialize;

use crate::scenarios::Driver;
use crate::spawn::blocking;
use crate::systems::{project_root, token, System};
use crate::{Plan, Progress};

use bystander::Bystander;
pub use bystander::Pings;
pub use flooder::FloodCounts;

/// Everything the phase measured.
#[derive(Debug, Default, Serialize)]
pub struct Flood {
    pub system: String,
    /// The commit of the worker flooded (this checkout's, or `HERO_BENCH_FLOOD_WORKER`'s).
    pub commit: String,
    pub sockets: usize,
    pub quiet_seconds: f64,
    pub flood_seconds: f64,
    pub ping_interval_ms: u64,
    /// Each bystander's quiet pings, then each one's pings during the flood.
    pub pings: Vec<Pings>,
    pub flooder: Option<FloodCounts>,
    pub error: Option<String>,
}

/// The environment variable naming another checkout whose worker is flooded.
const OTHER_CHECKOUT: &str = "HERO_BENCH_FLOOD_WORKER";

fn commit_of(checkout: &Path) -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(checkout)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|commit| !commit.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Starts Hero on workerd, measures the quiet baseline and the flood, stops it.
pub async fn run(plan: &Plan, progress: &Progress) -> Flood {
    let mut flood = Flood {
        sockets: plan.flood_sockets,
        quiet_seconds: plan.flood_quiet_seconds,
        flood_seconds: plan.flood_seconds,
        ping_interval_ms: plan.flood_ping_interval_ms,
        ..Flood::default()
    };
    let other = std::env::var_os(OTHER_CHECKOUT).map(PathBuf::from);
    flood.commit = commit_of(other.as_deref().unwrap_or(&project_root()));
    let start = move || match other {
        Some(checkout) => System::hero_workerd_at(&checkout),
        None => System::hero_workerd(),
    };
    let system = match blocking("start", start).await {
        Ok(system) => system,
        Err(error) => {
            flood.error = Some(error);
            return flood;
        }
    };
    progress.say(&format!(
        "{}: up in {:.0} ms",
        system.name, system.startup_ms
    ));
    flood.system = system.name.to_owned();
    if let Err(error) = measure(&system, plan, progress, &mut flood).await {
        progress.say(&format!("flood: FAILED: {error:.300}"));
        flood.error = Some(error);
    }
    let _ = blocking("stop", move || system.stop()).await;
    flood
}

async fn measure(
    system: &System,
    plan: &Plan,
    progress: &Progress,
    flood: &mut Flood,
) -> Result<(), String> {
    let driver = Driver::new(system);
    let task = driver.create_room("flooded").await?;
    let room_url =
        |user: &str, role| system.room_url(0, &task, &token(user, role, &driver.workspace));
    let board_url = format!(
        "{}/ws/board?token={}",
        system.ws[0],
        token("bystander-on-board", Role::Member, &driver.workspace)
    );
    let mut bystanders = [
        Bystander::join("task room", &room_url("bystander-in-room", Role::Member)).await?,
        Bystander::join("board", &board_url).await?,
    ];
    let interval = Duration::from_millis(plan.flood_ping_interval_ms);
    progress.say(&format!(
        "flood: quiet, two bystanders ping every {} ms for {} s",
        plan.flood_ping_interval_ms, plan.flood_quiet_seconds
    ));
    let quiet = ping_together(&mut bystanders, "quiet", plan.flood_quiet_seconds, interval).await;
    say_pings(progress, &quiet);
    flood.pings.extend(quiet);

    let shape = flooder::Shape {
        url: room_url("flooder", Role::Viewer),
        sockets: plan.flood_sockets,
        seconds: plan.flood_seconds,
        max_connects: plan.flood_max_connects,
    };
    progress.say(&format!(
        "flood: one viewer floods {} sockets for {} s, reconnecting at once; the bystanders keep pinging",
        shape.sockets, shape.seconds
    ));
    let (ready, done) = flooder::start(shape);
    ready
        .await
        .map_err(|_| "the flooder stopped before it was ready".to_owned())??;
    let during = ping_together(&mut bystanders, "flood", plan.flood_seconds, interval).await;
    let counts = done
        .await
        .map_err(|_| "the flooder stopped without its counts".to_owned())?;
    say_pings(progress, &during);
    say_counts(progress, &counts);
    flood.pings.extend(during);
    flood.flooder = Some(counts);
    for bystander in bystanders {
        bystander.leave().await;
    }
    Ok(())
}

/// Both bystanders ping at once for `seconds`.
async fn ping_together(
    bystanders: &mut [Bystander; 2],
    phase: &'static str,
    seconds: f64,
    interval: Duration,
) -> Vec<Pings> {
    let [room, board] = bystanders;
    let (room, board) = futures::join!(
        room.ping_for(phase, seconds, interval),
        board.ping_for(phase, seconds, interval)
    );
    vec![room, board]
}

fn say_pings(progress: &Progress, pings: &[Pings]) {
    for p in pings {
        progress.say(&format!(
            "  {} ({}): {} pings, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {} pongs missing{}",
            p.place,
            p.phase,
            p.sent,
            p.latency.p50_ms,
            p.latency.p99_ms,
            p.latency.max_ms,
            p.missing,
            p.failure
                .as_ref()
                .map_or(String::new(), |f| format!("; {f:.200}"))
        ));
    }
}

fn say_counts(progress: &Progress, c: &FloodCounts) {
    progress.say(&format!(
        "  flooder: {} frames sent, {} connects ({} welcomed, {} refused {:?}, {} errors), closed {:?}",
        c.frames_sent,
        c.connects,
        c.welcomed,
        c.refused_total(),
        c.refused,
        c.connect_errors,
        c.closed
    ));
}
