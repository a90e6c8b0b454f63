//! Where a PATCH's CPU goes, stage by stage, counted rather than sampled.
//!
//! Inside workerd the isolate's clock stands still between I/O, so a stage cannot time its
//! own CPU. Instead each probe below is one more stage than the one before it, run alone
//! and one request at a time, with the server's CPU (every process, from /proc) read
//! around it: the difference between two probes is the CPU of the stage between them.
//!
//! - `GET /healthz`: the runtime's own per-request work, routing and a JSON answer;
//! - a token with a wrong signature: + reading the request's token and verifying it;
//! - `GET` of a task: + one D1 read (the local D1 emulation and our row decoding);
//! - `PATCH` that changes nothing: + the hop to the task's room, its decision and the
//!   answer (the room finds nothing to write, so no D1 batch);
//! - `PATCH`, nobody in the room: + building the D1 batch, the local D1 emulation running
//!   it, and the log append;
//! - `PATCH` with 10 and 100 sockets in the room: + serializing and sending the broadcast.
//!
//! The old design runs the same probes (its health route, its token check, its GET and
//! PATCH), so the two are compared stage by stage in the same run.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use crate::scenarios::Driver;

/// CPU per request of one probe.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub probe: &'static str,
    pub requests: u64,
    /// Requests answered with the status the probe expects.
    pub expected_answers: u64,
    pub server_cpu_ms_per_request: f64,
}

async fn one(
    driver: &Driver<'_>,
    probe: &'static str,
    task_path: &str,
    n: u64,
) -> reqwest::Result<u16> {
    let base = &driver.system.http;
    let request = match probe {
        "GET /healthz" => driver.http.get(format!("{base}/healthz")),
        "GET, token with a wrong signature" => driver
            .http
            .get(format!("{base}{task_path}"))
            .bearer_auth(wrong_signature(&driver.writer)),
        "GET a task" => driver
            .http
            .get(format!("{base}{task_path}"))
            .bearer_auth(&driver.writer),
        "PATCH that changes nothing" => driver
            .http
            .patch(format!("{base}{task_path}"))
            .bearer_auth(&driver.writer)
            .json(&json!({ "title": UNCHANGED_TITLE })),
        _ => driver
            .http
            .patch(format!("{base}{task_path}"))
            .bearer_auth(&driver.writer)
            .json(&json!({ "description": crate::client::description(n as usize) })),
    };
    let response = request.send().await?;
    let status = response.status().as_u16();
    response.bytes().await?;
    Ok(status)
}

/// The title the probes' task is created with, which the no-op PATCH sends again.
const UNCHANGED_TITLE: &str = "cpu stages";

/// The writer's token with its signature's first character changed.
fn wrong_signature(token: &str) -> String {
    let Some((signed, signature)) = token.rsplit_once('.') else {
        return token.to_owned();
    };
    let mut chars: Vec<char> = signature.chars().collect();
    if let Some(first) = chars.first_mut() {
        *first = if *first == 'A' { 'B' } else { 'A' };
    }
    format!("{signed}.{}", chars.into_iter().collect::<String>())
}

fn expected_status(probe: &str) -> u16 {
    match probe {
        "GET, token with a wrong signature" => 401,
        _ => 200,
    }
}

/// Runs `requests` of `probe` one at a time and reads the server's CPU around them.
async fn run_probe(
    driver: &Driver<'_>,
    probe: &'static str,
    task_path: &str,
    requests: u64,
) -> Result<Probe, String> {
    // a few first, so nothing is measured cold
    for n in 0..5 {
        one(driver, probe, task_path, n)
            .await
            .map_err(|e| e.to_string())?;
    }
    let before = driver.system.cpu();
    let mut expected_answers = 0;
    for n in 0..requests {
        let status = one(driver, probe, task_path, 1_000 + n)
            .await
            .map_err(|e| format!("{probe}: {e}"))?;
        expected_answers += u64::from(status == expected_status(probe));
    }
    let used = crate::cpu::used(&before, &driver.system.cpu());
    let seconds: f64 = used.values().sum();
    Ok(Probe {
        probe,
        requests,
        expected_answers,
        server_cpu_ms_per_request: (seconds * 1000.0 / requests.max(1) as f64 * 1000.0).round()
            / 1000.0,
    })
}

/// Every probe, in stage order.
pub async fn measure(driver: &Driver<'_>, requests: u64) -> Result<Vec<Probe>, String> {
    let task = driver.create_room(UNCHANGED_TITLE).await?;
    let task_path = format!("/api/tasks/{task}");
    let mut probes = Vec::new();
    for probe in [
        "GET /healthz",
        "GET, token with a wrong signature",
        "GET a task",
        "PATCH that changes nothing",
    ] {
        probes.push(run_probe(driver, probe, &task_path, requests).await?);
    }
    probes.push(run_probe(driver, "PATCH, nobody in the room", &task_path, requests).await?);
    for (sockets, probe) in [
        (10, "PATCH, 10 sockets in the room"),
        (100, "PATCH, 100 sockets in the room"),
    ] {
        let audience = driver.audience(&task, sockets).await?;
        // let the joins' presence traffic settle before anything is counted
        tokio::time::sleep(Duration::from_millis(500)).await;
        let measured = run_probe(driver, probe, &task_path, requests).await;
        audience.close();
        probes.push(measured?);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Ok(probes)
}

/// The stage between each probe and the one before it, in ms of server CPU per request.
pub fn stages(probes: &[Probe]) -> Vec<(&'static str, f64)> {
    let names = [
        "the runtime's request, routing, the answer",
        "reading and verifying the token",
        "one D1 read (emulation and decoding)",
        "room hop, decision, answer (no D1)",
        "D1 batch (building, emulation), log append",
        "broadcast to 10 sockets",
        "broadcast to 100 (from 10)",
    ];
    let mut previous = 0.0;
    probes
        .iter()
        .zip(names)
        .enumerate()
        .map(|(index, (probe, name))| {
            // the no-op PATCH builds on the GET's token check, not on its D1 read
            let base = match index {
                3 => probes.get(1).map_or(0.0, |p| p.server_cpu_ms_per_request),
                _ => previous,
            };
            previous = probe.server_cpu_ms_per_request;
            (
                name,
                ((probe.server_cpu_ms_per_request - base) * 1000.0).round() / 1000.0,
            )
        })
        .collect()
}
