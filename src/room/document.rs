//! A task room's shared document in memory: loaded from the room's SQLite the first time an
//! event needs it, kept while the room is awake, and dropped when an update spoiled it or
//! the task is gone. Safe to lose: everything it holds is in storage.

use std::cell::RefCell;

use hero_core::doc::SharedDoc;
use hero_core::room::Stored;

#[derive(Default)]
pub struct Document {
    loaded: RefCell<Option<Loaded>>,
}

struct Loaded {
    shared: SharedDoc,
    stored: Stored,
}

impl Document {
    pub fn is_loaded(&self) -> bool {
        self.loaded.borrow().is_some()
    }

    /// Keeps `shared`, which storage holds with `stored` updates since its snapshot.
    pub fn keep(&self, shared: SharedDoc, stored: Stored) {
        *self.loaded.borrow_mut() = Some(Loaded { shared, stored });
    }

    /// Runs `work` on the loaded document (`None`: it is not loaded).
    pub fn with<T>(&self, work: impl FnOnce(&mut SharedDoc, Stored) -> T) -> Option<T> {
        let mut loaded = self.loaded.borrow_mut();
        let loaded = loaded.as_mut()?;
        Some(work(&mut loaded.shared, loaded.stored))
    }

    /// Storage took one more update.
    pub fn stored_update(&self) {
        if let Some(loaded) = self.loaded.borrow_mut().as_mut() {
            loaded.stored.updates += 1;
        }
    }

    /// Storage replaced everything with one snapshot.
    pub fn stored_snapshot(&self) {
        if let Some(loaded) = self.loaded.borrow_mut().as_mut() {
            loaded.stored = Stored::default();
        }
    }

    pub fn forget(&self) {
        self.loaded.borrow_mut().take();
    }
}
