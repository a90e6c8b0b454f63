//! When D1 follows the document. The description in D1 is a projection of the shared text,
//! written through the room's normal write path: at most [`QUIET_MS`] after the last edit,
//! at most [`LONGEST_MS`] after the first edit D1 does not have yet (so continuous typing is
//! saved every ten seconds), and at once when the last editor leaves. The room's one alarm
//! wakes it for the deadline; nothing else does.

use serde::{Deserialize, Serialize};

use crate::protocol::Actor;

/// A pause this long after the last edit writes the description to D1.
pub const QUIET_MS: i64 = 2_000;
/// Typing without such a pause is written this long after its first unsaved edit.
pub const LONGEST_MS: i64 = 10_000;

/// Edits D1 does not have yet: since when, the last one, and who made them. Kept in the
/// room's SQLite, so a room that hibernates with unsaved edits still writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsaved {
    pub first_ms: i64,
    pub last_ms: i64,
    /// Who typed, in the order they first did.
    pub editors: Vec<Actor>,
}

impl Unsaved {
    /// When D1 should have them.
    pub fn due_ms(&self) -> i64 {
        (self.last_ms + QUIET_MS).min(self.first_ms + LONGEST_MS)
    }

    pub fn is_due(&self, now_ms: i64) -> bool {
        self.due_ms() <= now_ms
    }
}

/// One more edit by `editor` at `now_ms`.
pub fn edited(unsaved: Option<Unsaved>, editor: &Actor, now_ms: i64) -> Unsaved {
    let mut unsaved = unsaved.unwrap_or(Unsaved {
        first_ms: now_ms,
        last_ms: now_ms,
        editors: Vec::new(),
    });
    unsaved.last_ms = now_ms;
    if !unsaved.editors.iter().any(|e| e.id == editor.id) {
        unsaved.editors.push(editor.clone());
    }
    unsaved
}

/// How a flush names the people whose typing it carries: "Ana", "Ana and Bo", "Ana, Bo and
/// Cy", and past three, "Ana, Bo and 3 others".
pub fn editors_name(editors: &[Actor]) -> String {
    let names: Vec<&str> = editors.iter().map(|e| e.name.as_str()).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [first @ .., last] if names.len() <= 3 => format!("{} and {last}", first.join(", ")),
        [a, b, rest @ ..] => format!("{a}, {b} and {} others", rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(id: &str) -> Actor {
        Actor {
            id: id.into(),
            name: id.to_uppercase(),
        }
    }

    #[test]
    fn a_pause_or_ten_seconds_of_typing_is_due() {
        let ana = actor("ana");
        let first = edited(None, &ana, 1_000);
        assert_eq!(first.due_ms(), 3_000, "two seconds after the only edit");
        // typing every second: the quiet deadline keeps moving, the ten seconds do not
        let mut typing = first.clone();
        for now in (2_000..=12_000).step_by(1_000) {
            typing = edited(Some(typing), &ana, now);
        }
        assert_eq!(typing.due_ms(), 11_000);
        assert!(typing.is_due(11_000));
        assert!(!typing.is_due(10_999));
        assert_eq!(typing.editors.len(), 1, "one editor, named once");
    }

    #[test]
    fn editors_are_named_in_the_order_they_typed() {
        let mut unsaved = edited(None, &actor("ana"), 0);
        unsaved = edited(Some(unsaved), &actor("bo"), 1);
        unsaved = edited(Some(unsaved), &actor("ana"), 2);
        assert_eq!(editors_name(&unsaved.editors), "ANA and BO");
        let many: Vec<Actor> = ["a", "b", "c", "d", "e"].map(actor).to_vec();
        assert_eq!(editors_name(&many[..3]), "A, B and C");
        assert_eq!(editors_name(&many), "A, B and 3 others");
        assert_eq!(editors_name(&many[..1]), "A");
    }
}
