//! The character rules of task text, and the JSON Schema patterns built from the same
//! character sets, so the OpenAPI document cannot say something the validation does not.
//!
//! - No control character (Unicode `Cc`) anywhere; a description keeps tab, LF and CR.
//! - A one-line field (a title, a tag, an assignee) also refuses the bidi controls, which
//!   reorder the text around them (`"Invoice \u{202e}fdp.exe"` displays as "Invoice
//!   exe.pdf"), and must have a visible character: not only whitespace and
//!   [`INVISIBLE`] characters (zero-width space, joiners, BOM, fillers…).
//! - A tag refuses [`ZERO_WIDTH`] characters anywhere (`urgent` and `urgent\u{200b}` would
//!   be two tags that look the same), and is compared and stored in NFC ([`nfc`]), so `café`
//!   typed with a combining accent is the same tag as `café`.
//!
//! The sets are written as ranges of the Basic Multilingual Plane only: a JSON Schema
//! `pattern` is an ECMA-262 regular expression, which reads a character past U+FFFF as
//! two surrogates, so such a range could not be stated the same way on both sides.

use std::borrow::Cow;

/// A set of characters, as sorted inclusive ranges.
type Set = &'static [(char, char)];

/// The control characters a multi-line field (a description) keeps.
pub(crate) const NEWLINES: [char; 3] = ['\t', '\n', '\r'];

/// The control characters, exactly as `char::is_control` has them (Unicode `Cc`).
pub(crate) const CONTROLS: Set = &[('\u{0}', '\u{1f}'), ('\u{7f}', '\u{9f}')];

/// The whitespace that is not a control character: with the controls, what `str::trim`
/// strips (Unicode `White_Space`).
pub(crate) const SPACES: Set = &[
    (' ', ' '),
    ('\u{a0}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
];

/// The bidi controls: the Arabic letter mark, the left-to-right and right-to-left marks,
/// the embeddings and overrides, and the isolates.
pub(crate) const BIDI: Set = &[
    ('\u{61c}', '\u{61c}'),
    ('\u{200e}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2066}', '\u{2069}'),
];

/// Characters that display as nothing: Unicode's `Default_Ignorable_Code_Point` in the
/// BMP (soft hyphen, combining grapheme joiner, Hangul fillers, zero-width space and
/// joiners, word joiner and the invisible operators, variation selectors, BOM, …).
pub(crate) const INVISIBLE: Set = &[
    ('\u{ad}', '\u{ad}'),
    ('\u{34f}', '\u{34f}'),
    ('\u{61c}', '\u{61c}'),
    ('\u{115f}', '\u{1160}'),
    ('\u{17b4}', '\u{17b5}'),
    ('\u{180b}', '\u{180f}'),
    ('\u{200b}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2060}', '\u{206f}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{fe00}', '\u{fe0f}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{ffa0}', '\u{ffa0}'),
    ('\u{fff0}', '\u{fff8}'),
];

/// What a tag refuses anywhere in it: every [`INVISIBLE`] character but the variation
/// selectors (U+FE00–FE0F), which choose how the character before them is drawn (`❤️` is
/// U+2764 U+FE0F) and so never make two tags look alike.
pub(crate) const ZERO_WIDTH: Set = &[
    ('\u{ad}', '\u{ad}'),
    ('\u{34f}', '\u{34f}'),
    ('\u{61c}', '\u{61c}'),
    ('\u{115f}', '\u{1160}'),
    ('\u{17b4}', '\u{17b5}'),
    ('\u{180b}', '\u{180f}'),
    ('\u{200b}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2060}', '\u{206f}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{ffa0}', '\u{ffa0}'),
    ('\u{fff0}', '\u{fff8}'),
];

fn within(c: char, set: Set) -> bool {
    set.iter().any(|&(from, to)| (from..=to).contains(&c))
}

/// Control characters (NUL and friends) have no place in task text and confuse SQLite's
/// string functions; `allow_newlines` keeps `\n`, `\r` and `\t` for multi-line fields.
pub(crate) fn check_no_controls(text: &str, allow_newlines: bool) -> Result<(), String> {
    let bad = text
        .chars()
        .any(|c| c.is_control() && !(allow_newlines && NEWLINES.contains(&c)));
    if bad {
        Err(if allow_newlines {
            "must not contain control characters other than newlines and tabs".into()
        } else {
            "must not contain control characters".into()
        })
    } else {
        Ok(())
    }
}

/// Which one-line field a text is: a tag refuses [`ZERO_WIDTH`] characters too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    /// A title or an assignee.
    Plain,
    Tag,
}

impl Line {
    /// What may appear anywhere in the field.
    fn refused(self) -> Vec<Set> {
        match self {
            Line::Plain => vec![CONTROLS, BIDI],
            Line::Tag => vec![CONTROLS, BIDI, ZERO_WIDTH],
        }
    }
}

/// A one-line text field as sent: at most `max_chars` characters, none of them a control
/// or a bidi control (nor, in a tag, a zero-width one), and at least one visible; it is
/// trimmed. The length is counted as sent, before trimming, which is what a JSON Schema
/// `maxLength` says.
pub(crate) fn one_line(raw: &str, max_chars: usize, line: Line) -> Result<&str, String> {
    check_no_controls(raw, false)?;
    if raw.chars().any(|c| within(c, BIDI)) {
        return Err("must not contain bidirectional control characters \
             (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069)"
            .into());
    }
    if line == Line::Tag && raw.chars().any(|c| within(c, ZERO_WIDTH)) {
        return Err("must not contain zero-width or other invisible characters".into());
    }
    if raw.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("must not be blank".into());
    }
    if !trimmed
        .chars()
        .any(|c| !c.is_whitespace() && !within(c, INVISIBLE))
    {
        return Err("must have a visible character, not only invisible ones".into());
    }
    Ok(trimmed)
}

/// `text` in Unicode Normalization Form C: one spelling for what displays the same
/// (`e` + U+0301 is `é`). Tags are compared and stored so.
pub(crate) fn nfc(text: &str) -> Cow<'_, str> {
    icu_normalizer::ComposingNormalizerBorrowed::new_nfc().normalize(text)
}

/// A negated character class over the union of `sets`, in the ECMA-262 syntax of JSON
/// Schema's `pattern`: `\uXXXX` escapes, which Python's and Rust's regex engines read the
/// same way. Overlapping and adjacent ranges are written as one.
fn class_without(sets: &[&[(char, char)]]) -> String {
    let mut ranges: Vec<(u32, u32)> = sets
        .iter()
        .flat_map(|set| set.iter())
        .map(|&(from, to)| (u32::from(from), u32::from(to)))
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::new();
    for (from, to) in ranges {
        match merged.last_mut() {
            Some(last) if from <= last.1 + 1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    let mut class = String::from("[^");
    for (from, to) in merged {
        class.push_str(&format!("\\u{from:04X}"));
        if to != from {
            class.push_str(&format!("-\\u{to:04X}"));
        }
    }
    class.push(']');
    class
}

/// The `pattern` of a one-line text field: only allowed characters, and at least one that
/// is visible (not whitespace, not invisible), so it is not blank once trimmed. Built from
/// the same character sets [`one_line`] uses.
pub(crate) fn one_line_pattern(line: Line) -> String {
    let refused = line.refused();
    let text = class_without(&refused);
    let mut hidden = refused;
    hidden.extend([SPACES, INVISIBLE]);
    let visible = class_without(&hidden);
    format!("^{text}*{visible}{text}*$")
}

/// The `pattern` of a multi-line text field (a description): no control character other
/// than tab, line feed and carriage return.
pub(crate) fn multi_line_pattern() -> String {
    let mut controls = Vec::new();
    for &(from, to) in CONTROLS {
        let mut start = u32::from(from);
        for kept in NEWLINES.map(u32::from) {
            if (start..=u32::from(to)).contains(&kept) {
                if kept > start {
                    controls.push((char_at(start), char_at(kept - 1)));
                }
                start = kept + 1;
            }
        }
        if start <= u32::from(to) {
            controls.push((char_at(start), to));
        }
    }
    format!("^{}*$", class_without(&[&controls]))
}

fn char_at(code: u32) -> char {
    char::from_u32(code).expect("a control character's neighbour is a character")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The character sets the patterns are built from are the ones the validation uses:
    /// `char::is_control` and `str::trim`'s whitespace, over every character there is; and
    /// the zero-width set is the invisible one but the variation selectors.
    #[test]
    fn the_pattern_character_sets_are_the_validators() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            assert_eq!(within(c, CONTROLS), c.is_control(), "{c:?}");
            assert_eq!(
                within(c, SPACES),
                c.is_whitespace() && !c.is_control(),
                "{c:?}"
            );
            let selector = ('\u{fe00}'..='\u{fe0f}').contains(&c);
            assert_eq!(
                within(c, ZERO_WIDTH),
                within(c, INVISIBLE) && !selector,
                "{c:?}"
            );
            if within(c, BIDI) {
                assert!(within(c, INVISIBLE), "{c:?}: a bidi control shows nothing");
            }
        }
        for set in [CONTROLS, SPACES, BIDI, INVISIBLE, ZERO_WIDTH] {
            assert!(set.windows(2).all(|w| w[0].1 < w[1].0), "sorted, apart");
            assert!(set.iter().all(|r| u32::from(r.1) <= 0xffff), "the BMP only");
        }
    }

    #[test]
    fn one_line_text_refuses_bidi_controls_and_invisible_values() {
        for bad in ["a\u{202e}b", "\u{2066}x\u{2069}", "x\u{200f}", "\u{61c}x"] {
            let error = one_line(bad, 50, Line::Plain).unwrap_err();
            assert!(error.contains("bidirectional"), "{bad:?}: {error}");
        }
        for bad in [
            "\u{200b}",
            " \u{feff}\u{2060} ",
            "\u{ad}",
            "\u{3164}\u{fe0f}",
        ] {
            let error = one_line(bad, 50, Line::Plain).unwrap_err();
            assert!(error.contains("visible"), "{bad:?}: {error}");
        }
        assert_eq!(
            one_line(" \u{3000} ", 50, Line::Plain).unwrap_err(),
            "must not be blank"
        );
        // invisible characters beside visible ones are fine outside tags
        for good in ["👩\u{200d}💻", "a\u{200b}b", "❤\u{fe0f}", " x\u{ad} "] {
            assert!(one_line(good, 50, Line::Plain).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn tags_refuse_zero_width_characters_but_keep_variation_selectors() {
        for bad in [
            "urgent\u{200b}",
            "ur\u{200d}gent",
            "\u{feff}x",
            "x\u{2060}",
            "a\u{ad}b",
        ] {
            let error = one_line(bad, 32, Line::Tag).unwrap_err();
            assert!(error.contains("zero-width"), "{bad:?}: {error}");
        }
        assert_eq!(one_line("❤\u{fe0f}", 32, Line::Tag), Ok("❤\u{fe0f}"));
    }

    #[test]
    fn nfc_composes_what_displays_the_same() {
        assert_eq!(nfc("cafe\u{301}"), "caf\u{e9}");
        assert!(matches!(nfc("café"), Cow::Borrowed(_)), "NFC already");
        assert_eq!(nfc("\u{212b}"), "\u{c5}", "the angstrom sign is Å");
        assert_eq!(nfc("ﬁ"), "ﬁ", "compatibility forms stay (NFC, not NFKC)");
    }

    #[test]
    fn patterns_read_as_written() {
        assert_eq!(
            one_line_pattern(Line::Plain),
            "^[^\\u0000-\\u001F\\u007F-\\u009F\\u061C\\u200E-\\u200F\\u202A-\\u202E\\u2066-\\u2069]*\
             [^\\u0000-\\u0020\\u007F-\\u00A0\\u00AD\\u034F\\u061C\\u115F-\\u1160\\u1680\
             \\u17B4-\\u17B5\\u180B-\\u180F\\u2000-\\u200F\\u2028-\\u202F\\u205F-\\u206F\
             \\u3000\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF0-\\uFFF8]\
             [^\\u0000-\\u001F\\u007F-\\u009F\\u061C\\u200E-\\u200F\\u202A-\\u202E\\u2066-\\u2069]*$"
        );
        assert_eq!(
            multi_line_pattern(),
            "^[^\\u0000-\\u0008\\u000B-\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        );
        let tag = one_line_pattern(Line::Tag);
        assert!(
            tag.starts_with("^[^\\u0000-\\u001F\\u007F-\\u009F\\u00AD\\u034F"),
            "{tag}"
        );
    }
}
