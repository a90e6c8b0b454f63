//! Work a room runs one at a time, where a caller that finds it running asks it to go round
//! once more instead of starting a second run: a catch-up from D1 (two in parallel could
//! apply the same changes twice), a report to the board (a room filling up sends a few
//! reports, not one per join). In memory: an evicted room is running nothing.

use std::cell::Cell;

#[derive(Default)]
pub struct OneAtATime {
    running: Cell<bool>,
    again: Cell<bool>,
}

impl OneAtATime {
    /// `true`: nothing is running, and the caller runs it now (and calls [`Self::done`]).
    /// `false`: it is running, and will go round once more for this caller.
    pub fn start(&self) -> bool {
        if self.running.replace(true) {
            self.again.set(true);
            false
        } else {
            true
        }
    }

    /// At the top of each round: what was asked for so far, this round covers.
    pub fn round(&self) {
        self.again.set(false);
    }

    /// Whether someone asked for another round since this one began.
    pub fn asked_again(&self) -> bool {
        self.again.get()
    }

    pub fn done(&self) {
        self.running.set(false);
    }
}
