//! The text fields' patterns (title, tag, user id, description) against the validators
//! that take them: both must accept exactly the same strings, over a corpus of edge cases
//! (blank, control, bidi and invisible characters, lengths at the limits) and pseudo-random
//! strings.

use serde_json::{json, Value};

use super::support::{doc, pattern, pattern_of, schema, usize_of, Corpus};
use hero_core::task::{Tags, TaskChanges, Title};

#[test]
fn the_text_fields_are_what_the_validators_take() {
    let doc = doc();
    let patch = |field: &str, text: &str| {
        let mut body = serde_json::Map::new();
        body.insert(field.to_owned(), json!(text));
        TaskChanges::for_patch(&Value::Object(body)).is_ok()
    };
    type Validator<'a> = Box<dyn Fn(&str) -> bool + 'a>;
    let fields: [(&str, Validator); 4] = [
        ("Title", Box::new(|text| Title::parse(text).is_ok())),
        ("Tag", Box::new(|text| Tags::parse(&[json!(text)]).is_ok())),
        ("UserId", Box::new(|text| patch("assignee_id", text))),
        ("Description", Box::new(|text| patch("description", text))),
    ];
    let corpus = corpus();
    for (name, accepts) in &fields {
        let field = schema(&doc, name);
        let pattern = pattern(pattern_of(&field));
        let min = field
            .get("minLength")
            .map_or(0, |_| usize_of(&field, "minLength"));
        let max = usize_of(&field, "maxLength");
        // Lengths are counted as sent, in characters, trimming or not.
        let mut texts = corpus.clone();
        for len in [max, max + 1] {
            texts.push("é".repeat(len));
            texts.push(format!(" {}", "x".repeat(len - 1)));
        }
        for text in &texts {
            let len = text.chars().count();
            let valid = pattern.is_match(text) && (min..=max).contains(&len);
            assert_eq!(valid, accepts(text), "{name} {text:?}");
        }
    }
}

/// Edge cases of every kind the text rules care about, and pseudo-random strings built
/// from them.
fn corpus() -> Vec<String> {
    let mut corpus: Vec<String> = [
        "",
        " ",
        "a",
        " a ",
        "\u{3000}",
        "\u{a0}x",
        "\u{feff}",
        "a\tb",
        "a\nb",
        "\r",
        "\0x",
        "x\u{7f}",
        "\u{85}",
        "\u{9f}x",
        "\u{a0}",
        "\u{200b}",
        "\u{2029}",
        "é",
        "😀",
        "a\u{202e}b",
        "\u{2066}",
        "\u{61c}x",
        "x\u{200e}",
        "\u{200b} \u{200d}",
        "a\u{200d}b",
        "\u{ad}",
        "❤\u{fe0f}",
        "\u{fe0f}",
        "\u{3164}",
        "\u{ffa0}x",
        "\u{2060}",
        "cafe\u{301}",
    ]
    .map(str::to_owned)
    .to_vec();
    corpus.extend(Corpus::new(11).strings(
        "ab \t\n\r\u{0}\u{1f}\u{7f}\u{85}\u{9f}\u{a0}\u{1680}\u{2007}\u{200b}\u{2028}\u{3000}é😀",
        6,
        4000,
    ));
    // Bidi controls, invisible characters, and the variation selectors a tag keeps.
    corpus.extend(Corpus::new(12).strings(
        "a \u{ad}\u{61c}\u{200c}\u{200d}\u{200f}\u{202a}\u{202e}\u{2060}\u{2066}\u{2069}\u{3164}\u{fe0f}\u{feff}\u{fff8}\u{301}",
        5,
        4000,
    ));
    corpus
}
