//! The shared description's part of the report: its goals (the targets), its
//! ratios against the Yjs reference, what fails the run, and its Markdown section.

use super::{Documents, KeystrokeRun};
use crate::score::Goal;
use crate::systems::{YJS_IN_MEMORY, YJS_PERSISTENT};

/// The wasm at 0c82b5b, the commit before the shared description, built once on this
/// machine (2026-12-06) with the same toolchain and steps as `make build` (`worker-build
/// --release`, then scripts/strip-wasm-names.mjs): raw bytes, and gzipped as
/// `report::bundle_sizes` does it (flate2, best compression).
pub const WASM_BEFORE: (u64, u64) = (1_807_029, 588_926);
pub const WASM_BEFORE_COMMIT: &str = "0c82b5b";
/// The limit on the gzipped wasm.
const WASM_GZIP_LIMIT: u64 = 1024 * 1024;
/// The limit on D1 writes a minute of continuous typing.
const WRITES_PER_MINUTE_LIMIT: f64 = 30.0;

fn run_of<'a>(d: &'a Documents, system: &str, editors: usize) -> Option<&'a KeystrokeRun> {
    d.keystrokes
        .iter()
        .find(|r| r.system == system && r.editors == editors)
}

/// Hero's runs, each with the reference's run at the same size.
fn pairs<'a>(
    d: &'a Documents,
    reference: &'a str,
) -> impl Iterator<Item = (&'a KeystrokeRun, &'a KeystrokeRun)> + 'a {
    d.keystrokes
        .iter()
        .filter(|r| r.system == "hero (workerd)")
        .filter_map(move |h| Some((h, run_of(d, reference, h.editors)?)))
}

fn ratio(hero: f64, other: f64) -> f64 {
    if other > 0.0 {
        (hero / other * 100.0).round() / 100.0
    } else {
        f64::NAN
    }
}

pub fn goals(d: &Documents, wasm_gzip_bytes: u64) -> Vec<Goal> {
    let mut goals = Vec::new();
    for (h, r) in pairs(d, YJS_PERSISTENT) {
        let (p50, cpu) = (h.everyone.p50_ms, h.server_cpu_ms_per_update);
        let (ref_p50, ref_cpu) = (r.everyone.p50_ms, r.server_cpu_ms_per_update);
        goals.push(Goal {
            what: format!("hero: keystroke → every other editor, p50 ≤ 1.0× the Yjs reference with LevelDB, {} editors", h.editors),
            met: p50 <= ref_p50,
            detail: format!("{p50:.1} vs {ref_p50:.1} ms ({:.2}×)", ratio(p50, ref_p50)),
        });
        goals.push(Goal {
            what: format!(
                "hero: server CPU per keystroke ≤ 1.0× the Yjs reference with LevelDB, {} editors",
                h.editors
            ),
            met: cpu <= ref_cpu,
            detail: format!("{cpu:.3} vs {ref_cpu:.3} ms ({:.2}×)", ratio(cpu, ref_cpu)),
        });
    }
    for t in &d.typing {
        goals.push(Goal {
            what: format!(
                "hero: ≤ {WRITES_PER_MINUTE_LIMIT} D1 writes a minute while {} typing",
                if t.people == 1 {
                    "one person is".to_owned()
                } else {
                    format!("{} people are", t.people)
                }
            ),
            met: t.writes_per_minute <= WRITES_PER_MINUTE_LIMIT,
            detail: format!(
                "{:.1} a minute ({} in {} s), {} more after they stopped",
                t.writes_per_minute, t.writes_while_typing, t.seconds, t.writes_after
            ),
        });
    }
    if wasm_gzip_bytes > 0 {
        goals.push(Goal {
            what: "hero: the wasm under 1 MiB gzipped".into(),
            met: wasm_gzip_bytes < WASM_GZIP_LIMIT,
            detail: format!("{wasm_gzip_bytes} bytes"),
        });
    }
    goals
}

/// (what, Hero, the reference) for the report's ratio table.
pub fn ratios(d: &Documents) -> Vec<(String, f64, f64)> {
    let mut ratios = Vec::new();
    for reference in [YJS_PERSISTENT, YJS_IN_MEMORY] {
        for (h, r) in pairs(d, reference) {
            let n = h.editors;
            let what =
                |measure: &str| format!("hero (workerd) ÷ {reference}: {measure}, {n} editors");
            ratios.push((
                what("keystroke → every other editor p50"),
                h.everyone.p50_ms,
                r.everyone.p50_ms,
            ));
            ratios.push((
                what("keystroke → every other editor p99"),
                h.everyone.p99_ms,
                r.everyone.p99_ms,
            ));
            ratios.push((
                what("server CPU per keystroke"),
                h.server_cpu_ms_per_update,
                r.server_cpu_ms_per_update,
            ));
        }
    }
    ratios
}

/// What fails the run: Hero not running a scenario, or losing or mixing up a keystroke.
pub fn problems(d: &Documents) -> Vec<String> {
    let mut problems: Vec<String> = d
        .failures
        .iter()
        .filter(|f| f.fatal)
        .map(|f| format!("{}: {}", f.what, f.error))
        .collect();
    for run in d.keystrokes.iter().filter(|r| r.system.starts_with("hero")) {
        if run.missing > 0 || !run.converged || !run.failures.is_empty() {
            problems.push(format!(
                "hero: {} editors: {} of {} deliveries missing, converged: {}, sockets: {}",
                run.editors,
                run.missing,
                run.expected_deliveries,
                run.converged,
                run.failures.join(" | ")
            ));
        }
    }
    problems
}
