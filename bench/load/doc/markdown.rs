//! The shared description's section of latest.md.

use std::fmt::Write as _;

use super::report::{WASM_BEFORE, WASM_BEFORE_COMMIT};
use super::{Checkpoint, Documents, KeystrokeRun, Typing};

fn kib(bytes: u64) -> String {
    format!("{:.0} KiB", bytes as f64 / 1024.0)
}

fn cpu_split(run: &KeystrokeRun) -> String {
    let total: f64 = run.server_cpu_seconds.values().sum();
    run.server_cpu_seconds
        .iter()
        .filter(|(_, s)| **s > 0.0)
        .map(|(name, s)| format!("{name} {:.0}%", s / total.max(1e-9) * 100.0))
        .collect::<Vec<_>>()
        .join(", ")
}

fn keystrokes(md: &mut String, runs: &[KeystrokeRun]) {
    let Some(first) = runs.first() else { return };
    let _ = writeln!(
        md,
        "\n### Keystroke → the other editors' documents\n\nEach keystroke is one Yjs update (a one-character insert at a random place) sent as `[0, 2, update]` by one editor at a time, in turn, {:.0} a second (open loop); the time from sending it until every other editor's document has applied it (and, per delivery, until one other has). The same yrs client for every server. Server CPU: user + system time of every process of the server while typing (and until every keystroke had arrived), ÷ keystrokes; the server's CPU a second with the editors connected and nobody typing, measured for a second before, and the CPU per keystroke above that; the load generator's own. `JS DO relay (workerd)` is the runtime's floor, not a competitor: a bare JavaScript Durable Object on the same workerd that keeps no document and sends each frame to every socket of the room (bench/relay). Hero stores each update in the room's SQLite before it relays it (the issue's rule); the Yjs reference relays it first and hands it to LevelDB without waiting, and, like the relay, sends it back to its sender too.\n\n| system | editors | keystrokes | missing deliveries | every other editor p50 / p99 ms | one editor p50 / p99 ms | server CPU ms per keystroke | idle CPU ms/s | CPU ms per keystroke above idle | by process | client CPU ms per keystroke | converged |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
        first.rate_per_sec
    );
    for r in runs {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.1} / {:.1} | {:.1} / {:.1} | {:.3} | {:.1} | {:.3} | {} | {:.3} | {} |",
            r.system,
            r.editors,
            r.keystrokes,
            r.missing,
            r.everyone.p50_ms,
            r.everyone.p99_ms,
            r.each.p50_ms,
            r.each.p99_ms,
            r.server_cpu_ms_per_update,
            r.server_idle_cpu_ms_per_sec,
            r.server_cpu_ms_per_update_above_idle,
            cpu_split(r),
            r.client_cpu_ms_per_update,
            if r.converged { "yes" } else { "**no**" }
        );
    }
}

fn typing(md: &mut String, runs: &[Typing]) {
    let Some(first) = runs.first() else { return };
    let _ = writeln!(
        md,
        "\n### D1 writes during continuous typing\n\nHero on workerd with info logs (`hero (workerd, documents)`). Each person types a character every {} ms for {} s (one task per group, the groups at once); the room's `document_written` log lines, each one D1 batch through its write path (the row, a version, a change record).\n\n| people | keystrokes | D1 writes while typing | a minute | rows written | after they stopped (pause or leave): writes / rows | refused | text (chars) |\n|---:|---:|---:|---:|---:|---:|---:|---:|",
        first.interval_ms, first.seconds
    );
    for t in runs {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.1} | {} | {} / {} | {} | {} |",
            t.people,
            t.keystrokes,
            t.writes_while_typing,
            t.writes_per_minute,
            t.rows_while_typing,
            t.writes_after,
            t.rows_after,
            t.refused,
            t.text_chars
        );
    }
}

fn storage(md: &mut String, checkpoints: &[Checkpoint]) {
    if checkpoints.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "\n### Room storage after many keystrokes\n\nOne editor types a day's mix (letters in words, 13% backspaces, a click elsewhere now and then, rarely a selected stretch deleted; the text hovers around 3,000 characters), one keystroke per update and per frame, as fast as the room takes them (Hero on workerd with info logs and `ROOM_DOC_MESSAGES_PER_SEC` raised, `hero (workerd, documents)`; a sync step 1 every few hundred keystrokes waits for the room to catch up). At each checkpoint the editor leaves, which compacts the stored updates into one snapshot; the bytes are the room's log line `document_compacted`. The next stretch is a new session (a new Yjs client). The editor's whole state is what its own yrs encodes (`encodeStateAsUpdate`): what any Yjs store keeps once compacted; with garbage collection on, deleted text is dropped but each deleted run stays as a small tombstone.\n\n| keystrokes | inserts / deletes | typed in (s) | text (chars) | stored before compaction (bytes) | after (bytes) | after ÷ text | the editor's whole state, yrs (bytes) | all updates, uncompacted (bytes) | compactions so far |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for c in checkpoints {
        let _ = writeln!(
            md,
            "| {} | {} / {} | {:.1} | {} | {} | {} | {:.1}× | {} | {} | {} |",
            c.keystrokes,
            c.inserts,
            c.deletes,
            c.typing_seconds,
            c.text_chars,
            c.bytes_before,
            c.bytes_after,
            c.bytes_after as f64 / c.text_utf8_bytes.max(1) as f64,
            c.client_state_bytes,
            c.update_bytes,
            c.compactions
        );
    }
}

fn wasm(md: &mut String, raw: u64, gzip: u64) {
    if raw == 0 {
        return;
    }
    let (before_raw, before_gzip) = WASM_BEFORE;
    let _ = writeln!(
        md,
        "\n### What the shared description costs in wasm\n\nThe Worker's wasm now: {raw} bytes raw ({}), {gzip} gzipped ({}). At {WASM_BEFORE_COMMIT}, before the shared description (built once on this machine, `worker-build --release` and `scripts/strip-wasm-names.mjs`): {before_raw} raw, {before_gzip} gzipped. yrs and the room's document code: **+{} raw, +{} gzipped**.",
        kib(raw), kib(gzip),
        kib(raw.saturating_sub(before_raw)), kib(gzip.saturating_sub(before_gzip))
    );
}

/// The section (nothing when none of it ran).
pub fn markdown(d: Option<&Documents>, wasm_raw: u64, wasm_gzip: u64) -> String {
    let mut md = String::new();
    let Some(d) = d else {
        wasm(&mut md, wasm_raw, wasm_gzip);
        return md;
    };
    md.push_str("\n## The shared description (issue 20)\n");
    keystrokes(&mut md, &d.keystrokes);
    if let Some(bytes) = d.reference_leveldb_bytes {
        let _ = writeln!(md, "\nThe Yjs reference's LevelDB directory held {bytes} bytes after its runs (its persistence was on; y-leveldb stores each update as the server relays it, without waiting for the write).");
    }
    typing(&mut md, &d.typing);
    storage(&mut md, &d.storage);
    wasm(&mut md, wasm_raw, wasm_gzip);
    for f in &d.failures {
        let verdict = if f.fatal { "failed" } else { "not measured" };
        let _ = writeln!(md, "\n**{} {verdict}:** {}", f.what, f.error);
    }
    md
}
