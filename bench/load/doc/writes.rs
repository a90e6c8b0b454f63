//! D1 writes during continuous typing: `people` editors of one task each type a character
//! every `interval` for `seconds`, then all leave. The room logs each D1 write of the
//! description (one batch through its write path: the row, a version, a change record) as
//! `document_written` with the rows it wrote; counted while they type and after they stop.

use std::time::{Duration, Instant};

use hero_core::auth::Role;
use serde::Serialize;

use super::logs::{self, Room};
use super::peer::Editor;
use super::typist::{Edit, Rng};
use crate::scenarios::Driver;
use crate::systems::{token, System};

#[derive(Debug, Clone, Serialize)]
pub struct Typing {
    pub people: usize,
    pub seconds: f64,
    pub interval_ms: u64,
    pub keystrokes: u64,
    /// D1 writes of the description (batches) and rows they wrote, while people typed.
    pub writes_while_typing: u64,
    pub rows_while_typing: u64,
    pub writes_per_minute: f64,
    /// Writes after they stopped: the one a pause makes (2 s after the last keystroke) or
    /// the one when the last editor leaves, whichever comes first finds the edits unsaved.
    pub writes_after: u64,
    pub rows_after: u64,
    /// Writes the room refused itself (`document_not_written`).
    pub refused: u64,
    pub text_chars: usize,
}

/// One person: types at their own caret, which starts where the text ended when they
/// joined; returns how many keystrokes they made.
async fn type_for(
    mut editor: Editor,
    seed: u64,
    interval: Duration,
    until: Instant,
) -> Result<(u64, Editor), String> {
    let mut rng = Rng::new(seed);
    let mut caret = editor.len();
    let mut typed = 0;
    let mut next = Instant::now() + interval.mul_f64(f64::from(rng.below(1000)) / 1000.0);
    while next < until {
        tokio::time::sleep_until(next.into()).await;
        caret = caret.min(editor.len());
        let ch = rng.letter();
        editor.type_key(Edit::Insert { at: caret, ch }).await?;
        caret += 1;
        typed += 1;
        next += interval;
    }
    Ok((typed, editor))
}

fn tally(lines: &[serde_json::Value]) -> (u64, u64) {
    let rows = lines.iter().map(|l| logs::number(l, "rows_written")).sum();
    (lines.len() as u64, rows)
}

/// A group that has typed and not left yet.
pub struct Typed {
    task: String,
    editors: Vec<Editor>,
    figures: Typing,
}

/// Connects `people` to a new task and has them type for `seconds`.
pub async fn type_together(
    system: &System,
    people: usize,
    interval: Duration,
    seconds: f64,
) -> Result<Typed, String> {
    let driver = Driver::new(system);
    let task = driver.create_room("typed for a minute").await?;
    let mut editors = Vec::new();
    for i in 0..people {
        let user = token(&format!("typist-{i}"), Role::Member, &driver.workspace);
        let url = system.doc_url(&task, &user);
        editors.push(Editor::connect(&url, 0x7e57_0000 + i as u64, i, None).await?);
    }
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let typing = editors
        .into_iter()
        .enumerate()
        .map(|(i, e)| type_for(e, 100 + i as u64, interval, until));
    let mut keystrokes = 0;
    let mut editors = Vec::new();
    for typed in futures::future::join_all(typing).await {
        let (count, editor) = typed?;
        keystrokes += count;
        editors.push(editor);
    }
    // the room's own flushes while they typed come from its alarm, which names the room
    let (writes, rows) = tally(&logs::events(system, Room::Task(&task), WRITTEN));
    Ok(Typed {
        task,
        editors,
        figures: Typing {
            people,
            seconds,
            interval_ms: interval.as_millis() as u64,
            keystrokes,
            writes_while_typing: writes,
            rows_while_typing: rows,
            writes_per_minute: (writes as f64 * 60.0 / seconds * 10.0).round() / 10.0,
            writes_after: 0,
            rows_after: 0,
            refused: 0,
            text_chars: 0,
        },
    })
}

const WRITTEN: &str = "document_written";

impl Typed {
    /// Everyone leaves. A write this makes is logged without the room's name (document
    /// socket events carry none), so no other group may leave meanwhile; a write at a pause
    /// comes from the room's alarm and names it.
    pub async fn leave(self, system: &System) -> Typing {
        let mut figures = self.figures;
        tokio::time::sleep(Duration::from_millis(300)).await;
        figures.text_chars = self.editors[0].text().chars().count();
        // a pause after the last keystroke may have written it all: the leave has nothing
        let (named, named_rows) = tally(&logs::events(system, Room::Task(&self.task), WRITTEN));
        let flushed = named > figures.writes_while_typing;
        let room = Room::TaskOrUnnamed(&self.task);
        let before = logs::events(system, room, WRITTEN).len();
        futures::future::join_all(self.editors.into_iter().map(Editor::close)).await;
        let wait = Duration::from_secs(if flushed { 1 } else { 10 });
        let lines = logs::more_than(system, room, WRITTEN, before, wait).await;
        let (at_leave, rows_at_leave) = tally(&lines[before.min(lines.len())..]);
        figures.writes_after = named - figures.writes_while_typing + at_leave;
        figures.rows_after = named_rows - figures.rows_while_typing + rows_at_leave;
        let refused = logs::events(system, room, "document_not_written");
        figures.refused = refused.len() as u64;
        figures
    }
}
