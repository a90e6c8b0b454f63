//! What an edit costs on Cloudflare, in dollars per million, from what this run counted:
//! requests, CPU-ms, Durable Object wall time, and rows read and written.
//!
//! Prices are Cloudflare's published Workers Paid rates, marginal (past the monthly
//! allowances the $5 plan includes). Counted figures come from the cost table (D1's own row
//! meta, via `X-Hero-Cost`), the hot task (CPU per committed PATCH, and how long the room was
//! busy per PATCH) and the shared-description run (keystrokes and D1 writes per minute).

use std::fmt::Write as _;

use serde::Serialize;

use crate::costs::OperationCost;
use crate::doc::Typing;
use crate::scenarios::HotTask;

/// When the prices below were read, and where.
pub const PRICES_READ: &str = "2026-12-06";
pub const PRICE_PAGES: &str = "developers.cloudflare.com/workers/platform/pricing, \
     /durable-objects/platform/pricing and /d1/platform/pricing";

/// US dollars per unit.
const WORKER_REQUEST: f64 = 0.30 / 1e6;
const WORKER_CPU_MS: f64 = 0.02 / 1e6;
const OBJECT_REQUEST: f64 = 0.15 / 1e6;
/// Incoming WebSocket messages are billed as requests at 20:1.
const OBJECT_SOCKET_MESSAGE: f64 = OBJECT_REQUEST / 20.0;
const OBJECT_GB_SECOND: f64 = 12.50 / 1e6;
/// Duration is billed on the 128 MB an object is given, however little it uses.
const OBJECT_GB: f64 = 0.128;
const D1_ROW_READ: f64 = 0.001 / 1e6;
const D1_ROW_WRITTEN: f64 = 1.00 / 1e6;

/// What one unit of a case (an edit, a minute of typing) uses.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Usage {
    pub worker_requests: f64,
    pub worker_cpu_ms: f64,
    pub object_requests: f64,
    pub socket_messages: f64,
    pub object_active_ms: f64,
    pub rows_read: f64,
    pub rows_written: f64,
}

impl Usage {
    fn dollars(&self) -> [(&'static str, f64); 6] {
        [
            ("requests", self.worker_requests * WORKER_REQUEST),
            ("CPU", self.worker_cpu_ms * WORKER_CPU_MS),
            (
                "object requests",
                self.object_requests * OBJECT_REQUEST
                    + self.socket_messages * OBJECT_SOCKET_MESSAGE,
            ),
            (
                "object duration",
                self.object_active_ms / 1000.0 * OBJECT_GB * OBJECT_GB_SECOND,
            ),
            ("rows read", self.rows_read * D1_ROW_READ),
            ("rows written", self.rows_written * D1_ROW_WRITTEN),
        ]
    }

    /// Dollars per million units.
    pub fn per_million(&self) -> f64 {
        self.dollars().iter().map(|(_, d)| d).sum::<f64>() * 1e6
    }

    /// The share of the price that is rows written.
    fn rows_written_share(&self) -> f64 {
        self.rows_written * D1_ROW_WRITTEN * 1e6 / self.per_million().max(1e-12)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PriceCase {
    pub case: &'static str,
    pub basis: String,
    pub usage: Usage,
    pub dollars_per_million: f64,
}

fn case(name: &'static str, basis: String, usage: Usage) -> PriceCase {
    PriceCase {
        case: name,
        basis,
        dollars_per_million: (usage.per_million() * 100.0).round() / 100.0,
        usage,
    }
}

fn counted<'a>(costs: &'a [OperationCost], operation: &str) -> Option<&'a OperationCost> {
    costs.iter().find(|row| row.operation == operation)
}

/// The cases, from what the run counted (those it has the figures for): the cost table,
/// Hero's hot task on workerd, and one person typing in the shared description.
pub fn cases(
    costs: &[OperationCost],
    hot: Option<&HotTask>,
    typing: Option<&Typing>,
) -> Vec<PriceCase> {
    // CPU and the room's busy time per committed PATCH, under load (the room was busy the
    // whole run, so its wall time divides among the PATCHes it committed).
    let Some(hot) = hot else {
        // without the hot task's CPU and busy time a price would be rows alone
        return Vec::new();
    };
    let cpu_ms = hot.cpu_ms_per_patch_total();
    let room_ms = hot.seconds * 1000.0 / hot.ok.max(1) as f64;
    let mut cases = Vec::new();
    if let Some(patch) = counted(costs, "PATCH status only") {
        let usage = Usage {
            worker_requests: 1.0,
            worker_cpu_ms: cpu_ms,
            object_requests: patch.cost.room_calls as f64,
            object_active_ms: room_ms,
            rows_read: patch.cost.rows_read as f64,
            rows_written: patch.cost.rows_written as f64,
            ..Usage::default()
        };
        cases.push(case(
            "one-field PATCH (status)",
            format!("cost table rows; hot task: {cpu_ms:.2} CPU-ms, room busy {room_ms:.2} ms"),
            usage,
        ));
    }
    if let Some(create) = counted(costs, "create") {
        let usage = Usage {
            worker_requests: 1.0,
            worker_cpu_ms: cpu_ms,
            rows_read: create.cost.rows_read as f64,
            rows_written: create.cost.rows_written as f64,
            ..Usage::default()
        };
        cases.push(case(
            "create",
            "cost table rows; CPU taken as a PATCH's (not measured apart)".into(),
            usage,
        ));
    }
    if let Some(board) = counted(costs, "board event") {
        let usage = Usage {
            object_requests: 1.0,
            object_active_ms: room_ms,
            rows_read: board.cost.rows_read as f64,
            rows_written: board.cost.rows_written as f64,
            ..Usage::default()
        };
        cases.push(case(
            "the board's share of a write",
            "one notice to the board; its busy time taken as the room's".into(),
            usage,
        ));
    }
    if let Some(typing) = typing {
        let minutes = typing.seconds / 60.0;
        let usage = Usage {
            socket_messages: typing.keystrokes as f64 / minutes,
            // the room never hibernates while someone types: awake the whole minute
            object_active_ms: 60_000.0,
            rows_written: typing.rows_while_typing as f64 / minutes,
            ..Usage::default()
        };
        cases.push(case(
            "one minute of one person typing",
            format!(
                "{:.0} keystrokes and {:.1} D1 writes a minute, measured",
                typing.keystrokes as f64 / minutes,
                typing.writes_per_minute
            ),
            usage,
        ));
    }
    cases
}

/// The price section of the report (nothing when no case was counted).
pub fn markdown(cases: &[PriceCase]) -> String {
    if cases.is_empty() {
        return String::new();
    }
    let mut md = format!(
        "\n## Price per million edits\n\nCloudflare's published Workers Paid prices, read {PRICES_READ} ({PRICE_PAGES}), past the plan's monthly allowances: $0.30 per million Worker requests, $0.02 per million CPU-ms, $0.15 per million Durable Object requests (incoming WebSocket messages at 20:1), $12.50 per million GB-s of object duration at 128 MB, D1 $0.001 per million rows read and $1.00 per million rows written. Counted in this run; the CPU is all of workerd's (Worker and room together, which over-counts the Worker's billed CPU). Not priced: the rows a room writes to its own SQLite (its event log). The old design needs, for the same load, one host running Node, one Redis and one PostgreSQL server, sized for the peak; no price is put on it here.\n\n| case | $ per million | rows written share | requests | CPU-ms | object requests + messages | object active ms | rows read | rows written | basis |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    );
    for case in cases {
        let u = &case.usage;
        let _ = writeln!(
            md,
            "| {} | {:.2} | {:.0}% | {} | {:.2} | {:.2} | {:.1} | {} | {} | {} |",
            case.case,
            case.dollars_per_million,
            u.rows_written_share() * 100.0,
            u.worker_requests,
            u.worker_cpu_ms,
            u.object_requests + u.socket_messages / 20.0,
            u.object_active_ms,
            u.rows_read,
            u.rows_written,
            case.basis
        );
    }
    md
}
