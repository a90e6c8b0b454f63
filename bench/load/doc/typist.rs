//! Keystrokes as a person makes them in a description over a day, deterministic from a
//! seed so every run types the same: mostly letters in words, a backspace now and then (a
//! typo fixed), now and then a click elsewhere in the text, and rarely a stretch selected
//! and deleted; past a target length the deletions win, so the text hovers around it as a
//! description that is rewritten does, rather than growing with the keystroke count.

/// One keystroke: one Yjs transaction, so one update (UTF-16 offsets; the text is ASCII).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Insert { at: u32, ch: char },
    Delete { at: u32, len: u32 },
}

/// xorshift64*: small, fast, and the same sequence everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        (self.next() % u64::from(n)) as u32
    }

    /// A lowercase letter.
    pub fn letter(&mut self) -> char {
        char::from(b'a' + self.below(26) as u8)
    }
}

/// Per mille of keystrokes: a click elsewhere first (not itself a keystroke).
const JUMP: u32 = 7;
/// Per mille: a backspace.
const BACKSPACE: u32 = 130;
/// Per mille: a selected stretch deleted, below and above the target length.
const CUT_BELOW: u32 = 3;
const CUT_ABOVE: u32 = 15;
/// The longest stretch a cut takes (5 to this many characters).
const CUT_MAX: u32 = 120;

pub struct Typist {
    rng: Rng,
    caret: u32,
    target_len: u32,
    /// Letters left in the current word.
    word_left: u32,
}

impl Typist {
    pub fn new(seed: u64, target_len: u32) -> Typist {
        Typist {
            rng: Rng::new(seed),
            caret: 0,
            target_len,
            word_left: 0,
        }
    }

    /// The next keystroke into a text of `len` characters.
    pub fn next(&mut self, len: u32) -> Edit {
        self.caret = self.caret.min(len);
        if len > 0 && self.rng.below(1000) < JUMP {
            self.caret = self.rng.below(len + 1);
        }
        let cut = if len > self.target_len {
            CUT_ABOVE
        } else {
            CUT_BELOW
        };
        let roll = self.rng.below(1000);
        if roll < cut && len > 0 {
            let take = (5 + self.rng.below(CUT_MAX - 4)).min(len);
            let at = self.rng.below(len - take + 1);
            self.caret = at;
            return Edit::Delete { at, len: take };
        }
        if roll < cut + BACKSPACE && self.caret > 0 {
            self.caret -= 1;
            return Edit::Delete {
                at: self.caret,
                len: 1,
            };
        }
        let at = self.caret;
        self.caret += 1;
        Edit::Insert {
            at,
            ch: self.character(),
        }
    }

    /// Words of 2 to 9 letters, a space between them, a full stop or a new line now and then.
    fn character(&mut self) -> char {
        if self.word_left > 0 {
            self.word_left -= 1;
            return self.rng.letter();
        }
        self.word_left = 2 + self.rng.below(8);
        match self.rng.below(40) {
            0 => '\n',
            1..=3 => '.',
            _ => ' ',
        }
    }
}
