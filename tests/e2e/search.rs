//! `q` over the real FTS5 index: prefixes, case and accents, tags, word order, list order
//! and paging, workspace scope, and every piece of FTS5 syntax a user might type, which
//! must search as text (or find nothing) and never fail.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hero_core::auth::Role;
use hero_core::cost::{Cost, COST_HEADER};
use hero_core::listing::Cursor;
use serde_json::{json, Value};

use crate::harness::{token, unique_workspace, Api};
use crate::Ctx;

register! {
    Shared: [
        search_matches_word_prefixes_in_title_description_and_tags,
        search_syntax_is_text_never_an_error,
        search_keeps_list_order_paging_and_workspace,
        search_pages_a_common_word_newest_first_reading_a_page_at_a_time,
    ],
}

fn member(ctx: &Ctx) -> Api {
    let workspace = unique_workspace();
    Api::new(
        &ctx.server.base,
        Some(token("ana", Role::Member, &workspace)),
    )
}

/// Percent-encodes everything but ASCII letters and digits.
fn encode(q: &str) -> String {
    q.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

async fn titles(api: &Api, query: &str) -> Vec<String> {
    let reply = api.get(&format!("/api/tasks?{query}")).await.expect(200);
    reply.body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn search(api: &Api, q: &str) -> Vec<String> {
    let mut found = titles(api, &format!("q={}", encode(q))).await;
    found.sort();
    found
}

async fn seed(api: &Api) {
    for task in [
        json!({"title": "Launch the rocket", "tags": ["space"]}),
        json!({"title": "Café menu", "description": "prices in EUR"}),
        json!({"title": "Fix C++ build (release)"}),
        json!({"title": "Relaunch plan", "description": "NEAR the end, \"quoted\" OR not"}),
    ] {
        api.create(task).await;
    }
}

pub async fn search_matches_word_prefixes_in_title_description_and_tags(ctx: &'static Ctx) {
    let api = member(ctx);
    seed(&api).await;
    assert_eq!(search(&api, "lau").await, ["Launch the rocket"], "a prefix");
    assert_eq!(
        search(&api, "LAUNCH").await,
        ["Launch the rocket"],
        "any case"
    );
    assert_eq!(search(&api, "relaunch").await, ["Relaunch plan"]);
    assert_eq!(search(&api, "cafe").await, ["Café menu"], "accents folded");
    assert_eq!(search(&api, "CAFÉ").await, ["Café menu"]);
    assert_eq!(search(&api, "eur").await, ["Café menu"], "the description");
    assert_eq!(search(&api, "spa").await, ["Launch the rocket"], "the tags");
    assert_eq!(
        search(&api, "the rock").await,
        ["Launch the rocket"],
        "a phrase"
    );
    assert!(
        search(&api, "rocket launch").await.is_empty(),
        "words in order"
    );
    assert!(search(&api, "rockets").await.is_empty());
}

pub async fn search_syntax_is_text_never_an_error(ctx: &'static Ctx) {
    let api = member(ctx);
    seed(&api).await;
    // What FTS5 would read as syntax is searched as the words around it.
    for (q, expected) in [
        ("\"launch", vec!["Launch the rocket"]),
        ("launch\"", vec!["Launch the rocket"]),
        ("launch*", vec!["Launch the rocket"]),
        ("-launch", vec!["Launch the rocket"]),
        ("^launch", vec!["Launch the rocket"]),
        ("title:launch", vec![]),
        ("{title}: launch", vec![]),
        ("(release", vec!["Fix C++ build (release)"]),
        ("build (release)", vec!["Fix C++ build (release)"]),
        ("NEAR(the end)", vec!["Relaunch plan"]),
        ("NEAR the end", vec!["Relaunch plan"]),
        ("quoted OR not", vec!["Relaunch plan"]),
        ("launch OR cafe", vec![]),
        ("launch AND", vec![]),
        ("NOT launch", vec![]),
        ("c++ build", vec!["Fix C++ build (release)"]),
    ] {
        assert_eq!(search(&api, q).await, expected, "q = {q:?}");
    }
    // Nothing but punctuation: no words, so nothing matches (and nothing fails).
    for q in [
        "\"", "*", "(", ")", "()", "\"\"", ":", "'", "%", "_", "\\", "^", "-", "+", "{}", "*)(\"",
    ] {
        assert!(search(&api, q).await.is_empty(), "q = {q:?}");
    }
    // Too long is the one way to get an error from q, and it says why.
    let reply = api
        .get(&format!("/api/tasks?q={}", "a".repeat(201)))
        .await
        .expect(422);
    assert_eq!(reply.body["errors"][0]["field"], "q", "{}", reply.body);
}

pub async fn search_keeps_list_order_paging_and_workspace(ctx: &'static Ctx) {
    let api = member(ctx);
    let mut created = Vec::new();
    for n in 0..5 {
        let task = api
            .create(json!({"title": format!("Paged item {n}"), "tags": ["paging"]}))
            .await;
        created.push(task["title"].as_str().unwrap().to_owned());
        api.create(json!({"title": format!("Other {n}")})).await;
    }
    created.reverse();
    let mut seen = Vec::new();
    let mut path = "/api/tasks?q=paged&limit=2".to_owned();
    loop {
        let reply = api.get(&path).await.expect(200);
        let page: Vec<Value> = reply.body["tasks"].as_array().unwrap().clone();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|t| t["title"].as_str().unwrap().to_owned()));
        match reply.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/tasks?q=paged&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, created, "newest first, every match once");
    // Combined with the other filters.
    assert_eq!(titles(&api, "q=item&tag=paging&limit=3").await.len(), 3);
    assert!(titles(&api, "q=item&tag=nope").await.is_empty());
    assert!(titles(&api, "q=item&status=done").await.is_empty());
    // Another workspace with the same words sees only its own.
    let other = member(ctx);
    other.create(json!({"title": "Paged elsewhere"})).await;
    assert_eq!(search(&other, "paged").await, ["Paged elsewhere"]);
}

/// One page: its titles, its `next_cursor` and the rows it read from D1.
async fn page(api: &Api, path: &str) -> (Vec<String>, Option<String>, u64) {
    let reply = api.get(path).await.expect(200);
    let cost = Cost::parse_header(reply.header(COST_HEADER).expect("a cost header"));
    let titles = reply.body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["title"].as_str().unwrap().to_owned())
        .collect();
    let cursor = reply.body["next_cursor"].as_str().map(str::to_owned);
    (titles, cursor, cost.rows_read)
}

/// Search is in insertion order, newest first, so FTS5 streams a common word's matches and
/// a page reads about a page of them, however many there are. Every cursor pages every
/// list: a search's works without `q` too, and one from before search carried a `seq`
/// continues the search from where it stood.
pub async fn search_pages_a_common_word_newest_first_reading_a_page_at_a_time(ctx: &'static Ctx) {
    const MATCHES: usize = 40;
    const LIMIT: usize = 3;
    let api = member(ctx);
    // Every task in creation order, and the matches among them.
    let mut everything = Vec::new();
    for n in 0..MATCHES {
        everything.push(format!("Review item {n}"));
        if n % 4 == 0 {
            everything.push(format!("Other {n}"));
        }
    }
    for title in &everything {
        api.create(json!({ "title": title })).await;
    }
    everything.reverse();
    let matches: Vec<String> = everything
        .iter()
        .filter(|title| title.starts_with("Review"))
        .cloned()
        .collect();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut most_rows_read = 0;
    loop {
        let path = match &cursor {
            None => format!("/api/tasks?q=review&limit={LIMIT}"),
            Some(cursor) => format!("/api/tasks?q=review&limit={LIMIT}&cursor={cursor}"),
        };
        let (titles, next, rows_read) = page(&api, &path).await;
        assert!(titles.len() <= LIMIT);
        seen.extend(titles);
        most_rows_read = most_rows_read.max(rows_read);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, matches, "every match once, newest first");
    // A page reads the page's matches and their tasks (one past the page, to know whether
    // another follows), never every match, and page 10 no more than page 1: the cursor is
    // a rowid FTS5 seeks to (measured: 7 rows for the first page, 8 for each after it).
    let bound = 2 * (LIMIT as u64 + 1) + 2;
    assert!(
        most_rows_read <= bound,
        "a page of {LIMIT} read {most_rows_read} rows (bound {bound}, matches {MATCHES})"
    );

    // A search's cursor pages the list without q from the same task, in created order.
    let (first, next, _) = page(&api, &format!("/api/tasks?q=review&limit={LIMIT}")).await;
    let next = next.expect("more matches");
    let (after, _, _) = page(&api, &format!("/api/tasks?limit=2&cursor={next}")).await;
    let at = everything
        .iter()
        .position(|title| title == first.last().unwrap())
        .unwrap();
    assert_eq!(
        after,
        everything[at + 1..at + 3],
        "the list after {}",
        first.last().unwrap()
    );

    // A cursor from before search paged by insertion (no seq) continues the search from the
    // first task created before its position.
    let cursor = Cursor::decode(&next).unwrap();
    let old = URL_SAFE_NO_PAD.encode(
        [
            cursor.created_at.as_bytes(),
            &[0xff_u8][..],
            cursor.id.as_bytes(),
        ]
        .concat(),
    );
    let path = format!("/api/tasks?q=review&limit={LIMIT}&cursor={old}");
    let (continued, _, _) = page(&api, &path).await;
    assert_eq!(continued, matches[LIMIT..2 * LIMIT]);
}
