//! The flood's part of the report: its goal (the target), what fails the run, and
//! its Markdown section.

use std::fmt::Write as _;

use super::{Flood, Pings};
use crate::score::Goal;

/// The target: a bystander's ping round trip at p50 while the flood lasts.
const P50_TARGET_MS: f64 = 50.0;

/// Before the fix: this scenario against the worker at 50c38d9 (7d4ea4c^, the commit
/// before the room's per-user budget), with `HERO_BENCH_FLOOD_WORKER`, on this project's
/// 2-core machine on 2026-12-06; and the issue's own figures.
const BEFORE: &str = "at 50c38d9 (7d4ea4c^, measured with this bench and `HERO_BENCH_FLOOD_WORKER` on this machine, 2026-12-06) quiet p50 1.1 ms in the room and 1.0 ms on the board; under the flood 115 of 135 pongs missing in each (15 s after the last ping), p50 ≥ 18.5 s, the flooder sent 1,255,183 frames and its 10 reconnects had no answer within 10 s; the issue's own figures were ≈ 9 s in the task room and ≈ 7 s on the board (1.4 ms quiet)";

fn pings<'a>(flood: &'a Flood, place: &str, phase: &str) -> Option<&'a Pings> {
    flood
        .pings
        .iter()
        .find(|p| p.place == place && p.phase == phase)
}

/// One goal per place: p50 within the target while the flood lasts.
pub fn goals(flood: &Flood) -> Vec<Goal> {
    ["task room", "board"]
        .into_iter()
        .filter_map(|place| {
            let during = pings(flood, place, "flood")?;
            let quiet = pings(flood, place, "quiet");
            Some(Goal {
                what: format!(
                    "{}: bystander ping p50 ≤ {P50_TARGET_MS} ms ({place}) while one viewer floods {} sockets",
                    flood.system, flood.sockets
                ),
                met: during.latency.samples > 0 && during.latency.p50_ms <= P50_TARGET_MS,
                detail: format!(
                    "p50 {} ms, p99 {} ms, {} of {} pongs missing; quiet p50 {}",
                    at_least(during, 0.5, during.latency.p50_ms),
                    at_least(during, 0.99, during.latency.p99_ms),
                    during.missing,
                    during.sent,
                    quiet.map_or("?".into(), |q| format!("{:.1} ms", q.latency.p50_ms))
                ),
            })
        })
        .collect()
}

/// What fails the run: the phase could not run, a bystander was closed or never answered.
pub fn problems(flood: &Flood) -> Vec<String> {
    let mut problems: Vec<String> = flood.error.iter().map(|e| format!("flood: {e}")).collect();
    for p in &flood.pings {
        if let Some(failure) = &p.failure {
            problems.push(format!(
                "flood: the bystander in the {} ({}): {failure}",
                p.place, p.phase
            ));
        }
        if p.missing == p.sent {
            problems.push(format!(
                "flood: the bystander in the {} ({}) heard no pong to {} pings",
                p.place, p.phase, p.sent
            ));
        }
    }
    problems
}

/// A percentile in ms, marked "≥" when it may be a missing pong's lower bound: when more
/// pings than `1 - quantile` of them went unanswered.
fn at_least(p: &Pings, quantile: f64, ms: f64) -> String {
    if p.missing as f64 > (1.0 - quantile) * p.sent as f64 {
        format!("≥ {ms}")
    } else {
        ms.to_string()
    }
}

fn ratio(during: &Pings, quiet: Option<&Pings>) -> String {
    match quiet {
        Some(q) if q.latency.p50_ms > 0.0 => {
            let times = during.latency.p50_ms / q.latency.p50_ms;
            at_least(during, 0.5, (times * 10.0).round() / 10.0) + "×"
        }
        _ => String::new(),
    }
}

fn codes(by_code: &std::collections::BTreeMap<String, u64>) -> String {
    let listed: Vec<String> = by_code
        .iter()
        .map(|(code, n)| format!("{n} × {code}"))
        .collect();
    if listed.is_empty() {
        "none".into()
    } else {
        listed.join(", ")
    }
}

/// The flood section of the Markdown report (nothing when the phase did not run).
pub fn markdown(flood: Option<&Flood>) -> String {
    let Some(flood) = flood else {
        return String::new();
    };
    let mut md = format!(
        "\n## Flood: a bystander's ping while one viewer floods\n\n{}, the worker at {}. One viewer token opens {} sockets in one task room and sends `{{\"type\":\"ping\",\"id\":n}}` from all of them as fast as it can (one thread of its own); whenever a socket is closed or a connect refused it connects again at once, ignoring `retry after`. Two other users ping every {} ms with an `id` (so the room, not the runtime, answers): one in the same task room, one on the workspace's board; first {} s in quiet, then during {} s of flood. A pong later than 15 s after the last ping counts as missing, and in the percentiles at its ping's age then (a lower bound, marked ≥). Before the fix: {BEFORE}.\n\n| bystander | phase | pings | pongs missing | p50 ms | p99 ms | max ms | p50 ÷ quiet |\n|---|---|---:|---:|---:|---:|---:|---:|\n",
        flood.system,
        flood.commit,
        flood.sockets,
        flood.ping_interval_ms,
        flood.quiet_seconds,
        flood.flood_seconds
    );
    for p in &flood.pings {
        let vs_quiet = match p.phase {
            "quiet" => String::new(),
            _ => ratio(p, pings(flood, p.place, "quiet")),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {vs_quiet} |",
            p.place,
            p.phase,
            p.sent,
            p.missing,
            at_least(p, 0.5, p.latency.p50_ms),
            at_least(p, 0.99, p.latency.p99_ms),
            at_least(p, 1.0, p.latency.max_ms)
        );
    }
    if let Some(c) = &flood.flooder {
        let _ = writeln!(
            md,
            "\nThe flooder: {} frames sent; {} connects ({} at the start), {} welcomed, {} refused ({}), {} without an answer; welcomed sockets closed by the server: {}.",
            c.frames_sent,
            c.connects,
            c.sockets,
            c.welcomed,
            c.refused_total(),
            codes(&c.refused),
            c.connect_errors,
            codes(&c.closed)
        );
    }
    if let Some(error) = &flood.error {
        let _ = writeln!(md, "\nFailed: {error}");
    }
    md
}
