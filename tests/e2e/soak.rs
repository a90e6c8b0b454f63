//! `make soak`: 1,000 sockets in one room for SOAK_SECONDS (default 300) with steady
//! updates. Checks that no socket misses or repeats an event, reports RSS of the server
//! processes at start and end and delivery latency per minute, and writes the figures to
//! test-artifacts/soak.json. Not part of `make test` (it is ignored unless asked for).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use hero_core::auth::Role;
use serde_json::json;
use tokio::sync::Mutex;

use crate::harness::{token, unique_workspace, Api, Socket};
use crate::Ctx;

register! {
    Ignored: [a_thousand_sockets_for_five_minutes],
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub async fn a_thousand_sockets_for_five_minutes(ctx: &'static Ctx) {
    let sockets_wanted: usize = std::env::var("SOAK_SOCKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let workspace = unique_workspace();
    let api = Api::new(
        &ctx.server.base,
        Some(token("soak-writer", Role::Member, &workspace)),
    );
    let task_id = api.create(json!({"title": "soak"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    println!("soak: connecting {sockets_wanted} sockets");
    let mut sockets = Vec::new();
    for chunk in 0..sockets_wanted.div_ceil(50) {
        let opened = join_all(
            (0..50)
                .filter(|i| chunk * 50 + i < sockets_wanted)
                .map(|i| {
                    let path = format!(
                        "/ws/tasks/{task_id}?token={}",
                        token(
                            &format!("soak-{}", chunk * 50 + i),
                            Role::Viewer,
                            &workspace
                        )
                    );
                    let base = ctx.server.base.clone();
                    async move {
                        let mut socket = Socket::open(&base, &path).await.expect("soak socket");
                        socket.expect("welcome").await;
                        socket
                    }
                }),
        )
        .await;
        sockets.extend(opened);
    }
    let rss_start = ctx.server.rss_kib();
    println!(
        "soak: {} sockets open, server RSS {rss_start} KiB; running {seconds}s",
        sockets.len()
    );

    // Each reader records when it saw each seq; sends are timestamped by the writer.
    let sent_at: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move {
                let mut seen: Vec<(u64, Instant)> = Vec::new();
                loop {
                    match socket.next_within(Duration::from_secs(5)).await {
                        Some(Ok(message)) => {
                            if let Some(seq) = message["seq"].as_u64() {
                                if message["type"] == "task_updated" {
                                    seen.push((seq, Instant::now()));
                                }
                            }
                        }
                        Some(Err(code)) => return (seen, Some(code)),
                        None if Instant::now() > deadline => return (seen, None),
                        None => {}
                    }
                }
            })
        })
        .collect();
    let path = format!("/api/tasks/{task_id}");
    let mut updates = 0u64;
    while Instant::now() + Duration::from_secs(6) < deadline {
        let before = Instant::now();
        let reply = api
            .patch(
                &path,
                &json!({"description": format!("tick {updates}")}),
                None,
            )
            .await
            .expect(200);
        updates += 1;
        // the task_updated seq is version-driven: created = 1, then one per update
        sent_at
            .lock()
            .await
            .push((reply.body["version"].as_u64().unwrap(), before));
        tokio::time::sleep(Duration::from_millis(500).saturating_sub(before.elapsed())).await;
    }
    let rss_end = ctx.server.rss_kib();
    let sent = sent_at.lock().await.clone();
    let mut exact = 0usize;
    let mut closed = 0usize;
    let mut per_minute: Vec<Vec<f64>> = vec![Vec::new(); (seconds / 60 + 1) as usize];
    let mut all_latencies = Vec::new();
    for reader in readers {
        let (seen, code) = reader.await.unwrap();
        closed += usize::from(code.is_some());
        let seqs: Vec<u64> = seen.iter().map(|(seq, _)| *seq).collect();
        let expected: Vec<u64> = (2..2 + updates).collect();
        if seqs == expected {
            exact += 1;
        }
        for ((seq, received), (version, at)) in seen.iter().zip(&sent) {
            debug_assert_eq!(seq, version);
            let ms = received.saturating_duration_since(*at).as_secs_f64() * 1000.0;
            per_minute[(at.duration_since(started).as_secs() / 60) as usize].push(ms);
            all_latencies.push(ms);
        }
    }
    all_latencies.sort_by(f64::total_cmp);
    let minutes: Vec<serde_json::Value> = per_minute
        .iter_mut()
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(minute, latencies)| {
            latencies.sort_by(f64::total_cmp);
            json!({"minute": minute, "p50_ms": percentile(latencies, 50.0), "p99_ms": percentile(latencies, 99.0)})
        })
        .collect();
    let report = json!({
        "sockets": sockets_wanted,
        "seconds": seconds,
        "updates": updates,
        "deliveries": all_latencies.len(),
        "sockets_with_every_event_exactly_once_in_order": exact,
        "sockets_closed": closed,
        "rss_kib_start": rss_start,
        "rss_kib_end": rss_end,
        "p50_ms": percentile(&all_latencies, 50.0),
        "p99_ms": percentile(&all_latencies, 99.0),
        "max_ms": all_latencies.last(),
        "per_minute": minutes,
    });
    println!("soak: {report:#}");
    std::fs::write(
        crate::browser::artifacts_dir().join("soak.json"),
        format!("{report:#}"),
    )
    .unwrap();
    assert_eq!(closed, 0, "sockets were dropped");
    assert_eq!(
        exact, sockets_wanted,
        "every socket got every event exactly once, in order"
    );
}
