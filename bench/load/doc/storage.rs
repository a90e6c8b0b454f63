//! What a task room stores for its document after many keystrokes: one editor types the
//! [`Typist`]'s mix, one keystroke per update and per frame, as fast as the room takes them
//! (a sync step 1 every `window` keystrokes, whose step 2 answer says the room has handled
//! everything before it). At each checkpoint the editor leaves, which compacts the stored
//! updates into one snapshot; the room logs the bytes before and after
//! (`document_compacted`). The next stretch is typed by a new session (a new Yjs client),
//! as the next day's typing would be.

use std::time::{Duration, Instant};

use hero_core::auth::Role;
use serde::Serialize;

use super::logs::{self, Room};
use super::peer::Editor;
use super::typist::{Edit, Typist};
use crate::scenarios::Driver;
use crate::systems::{token, System};

/// The text a day of typing hovers around, in characters.
const TARGET_LEN: u32 = 3_000;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Checkpoint {
    pub keystrokes: u64,
    pub inserts: u64,
    pub deletes: u64,
    /// Every update's bytes: what the room would hold if it never compacted.
    pub update_bytes: u64,
    pub text_chars: u64,
    pub text_utf8_bytes: u64,
    /// Compactions so far (past 500 stored updates, and at each leave).
    pub compactions: u64,
    /// The room's stored document when the last editor left, before and after compaction.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// The same document as the editor's yrs encodes it whole (`encodeStateAsUpdate`).
    pub client_state_bytes: u64,
    /// Whether the figures are from the compaction at the leave (false: there was nothing
    /// stored since the last one, whose figures these are).
    pub at_leave: bool,
    pub typing_seconds: f64,
}

struct Session<'a> {
    system: &'a System,
    driver: Driver<'a>,
    task: String,
    typist: Typist,
    window: usize,
    totals: Checkpoint,
}

pub async fn run(
    system: &System,
    checkpoints: &[usize],
    window: usize,
) -> Result<Vec<Checkpoint>, String> {
    let driver = Driver::new(system);
    let task = driver.create_room("typed for a day").await?;
    let mut session = Session {
        system,
        driver,
        task,
        typist: Typist::new(7, TARGET_LEN),
        window: window.max(1),
        totals: Checkpoint::default(),
    };
    let mut reached = Vec::new();
    for (day, &keystrokes) in checkpoints.iter().enumerate() {
        reached.push(session.type_until(keystrokes, day as u64).await?);
    }
    Ok(reached)
}

impl Session<'_> {
    /// A new session types until the total reaches `keystrokes`, then leaves.
    async fn type_until(&mut self, keystrokes: usize, day: u64) -> Result<Checkpoint, String> {
        let user = token("writer", Role::Member, &self.driver.workspace);
        let url = self.system.doc_url(&self.task, &user);
        let mut editor = Editor::connect(&url, 0xda7_0000 + day, 0, None).await?;
        let started = Instant::now();
        let mut since_probe = 0;
        while self.totals.keystrokes < keystrokes as u64 {
            let edit = self.typist.next(editor.len());
            match edit {
                Edit::Insert { .. } => self.totals.inserts += 1,
                Edit::Delete { .. } => self.totals.deletes += 1,
            }
            editor.type_key(edit).await?;
            self.totals.keystrokes += 1;
            since_probe += 1;
            if since_probe == self.window {
                editor.probe(Duration::from_secs(60)).await?;
                since_probe = 0;
            }
        }
        editor.probe(Duration::from_secs(60)).await?;
        self.totals.typing_seconds += started.elapsed().as_secs_f64();
        self.totals.update_bytes += std::mem::take(&mut editor.update_bytes);
        self.totals.client_state_bytes = editor.state_bytes();
        let text = editor.text();
        self.totals.text_chars = text.chars().count() as u64;
        self.totals.text_utf8_bytes = text.len() as u64;
        self.leave(editor).await
    }

    async fn leave(&mut self, editor: Editor) -> Result<Checkpoint, String> {
        let event = "document_compacted";
        // the only room typing here, so its socket events are the lines without a room
        let room = Room::TaskOrUnnamed(&self.task);
        let before = logs::events(self.system, room, event).len();
        editor.close().await;
        let wait = Duration::from_secs(15);
        let lines = logs::more_than(self.system, room, event, before, wait).await;
        let last = lines
            .last()
            .ok_or_else(|| format!("the room logged no {event} (is LOG_LEVEL info?)"))?;
        let mut checkpoint = self.totals.clone();
        checkpoint.compactions = lines.len() as u64;
        checkpoint.bytes_before = logs::number(last, "bytes_before");
        checkpoint.bytes_after = logs::number(last, "bytes_after");
        checkpoint.at_leave = lines.len() > before;
        checkpoint.typing_seconds = (checkpoint.typing_seconds * 10.0).round() / 10.0;
        Ok(checkpoint)
    }
}
