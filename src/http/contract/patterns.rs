//! The patterns of `If-Match`, ids, dates and cursors against the parsers that read them:
//! both must accept exactly the same strings.

use serde_json::json;

use super::support::{doc, pattern, pattern_of, schema, Corpus};
use super::IF_MATCH_PATTERN;
use crate::http::tasks::check_versions;
use hero_core::activity::{self, ActivityQuery};
use hero_core::conditional::IfMatch;
use hero_core::listing::{self, ListQuery};
use hero_core::task::{TaskChanges, TaskId};

#[test]
fn the_if_match_pattern_is_what_the_server_parses() {
    let pattern = pattern(IF_MATCH_PATTERN);
    let accepted = |value: &str| {
        IfMatch::parse(value)
            .ok()
            .is_some_and(|parsed| check_versions(Some(parsed)).is_ok())
    };
    let mut corpus: Vec<String> = [
        "*",
        "\"1\"",
        "\"3\", \"4\"",
        "\"3\",\"4\"",
        "\"3\" ,\t\"4\"",
        "\"+7\"",
        "\"007\"",
        "\"0\"",
        "\"-1\"",
        "\"x\"",
        "3",
        "W/\"3\"",
        "\"3\",",
        ",\"3\"",
        "\"3\",,\"4\"",
        "\"*\"",
        "*, \"3\"",
        "\"1 \"",
        "\" 1\"",
        "\"999999999999999\"",
        "\"1000000000000000\"",
        "\"+000999999999999999\"",
        "\"9223372036854775807\"",
        "\"9223372036854775808\"",
        "\"\"",
    ]
    .map(str::to_owned)
    .to_vec();
    corpus.extend(Corpus::new(7).strings("\"*,+ 0123456789W/\t-x", 12, 4000));
    corpus.extend(Corpus::new(8).strings("\"9", 20, 1000));
    for value in corpus.iter().filter(|v| !v.is_empty()) {
        // Leading and trailing whitespace never reaches the server: HTTP strips it.
        if value.trim_matches([' ', '\t']) != value {
            continue;
        }
        assert_eq!(
            pattern.is_match(value),
            accepted(value),
            "If-Match: {value:?}"
        );
    }
}

#[test]
fn the_id_date_and_cursor_patterns_are_what_the_parsers_take() {
    let doc = doc();
    let id = pattern(pattern_of(&schema(&doc, "TaskId")));
    let date = pattern(pattern_of(&schema(&doc, "DueDate")));
    let list = pattern(listing::CURSOR_PATTERN);
    let activity_cursor = pattern(activity::CURSOR_PATTERN);

    let uuid = TaskId::generate().to_string();
    let mut ids = vec![
        uuid.clone(),
        uuid.to_uppercase(),
        uuid.replace('-', ""),
        format!("{{{uuid}}}"),
    ];
    ids.extend(Corpus::new(3).mutations(&uuid, "0af-gA ", 2000));
    for text in &ids {
        assert_eq!(
            id.is_match(text),
            TaskId::parse(text).is_some(),
            "id {text:?}"
        );
    }

    let mut dates: Vec<String> = [
        "2026-02-28",
        "2026-02-29",
        "2024-02-29",
        "0000-01-01",
        "2026-2-28",
        "+026-02-28",
    ]
    .map(str::to_owned)
    .to_vec();
    dates.extend(Corpus::new(5).mutations("2026-12-31", "0139-+ x", 2000));
    for text in &dates {
        // The pattern is the form; `format: date` adds that the day exists.
        let real_day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok();
        let accepted = TaskChanges::for_patch(&json!({ "due_date": text })).is_ok();
        assert_eq!(
            date.is_match(text) && real_day,
            accepted,
            "due_date {text:?}"
        );
    }

    let mut cursors = Corpus::new(9).strings("AQgwEz09-_=+/ ", 9, 4000);
    cursors.push("garbage".into());
    for text in &cursors {
        let accepted = ListQuery::parse([("cursor", text.as_str())]).is_ok();
        assert_eq!(list.is_match(text), accepted, "list cursor {text:?}");
    }
    let mut cursors = Corpus::new(13).strings("0123456789+- x", 20, 4000);
    cursors.push("1".repeat(16));
    cursors.push("9".repeat(15));
    for text in &cursors {
        let accepted = ActivityQuery::parse([("cursor", text.as_str())]).is_ok();
        assert_eq!(
            activity_cursor.is_match(text),
            accepted,
            "activity cursor {text:?}"
        );
    }
}
