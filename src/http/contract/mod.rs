//! The OpenAPI document (`openapi.json`) is the API's contract: these tests hold it to the
//! code, so that a limit, an enum, a pattern or a header format cannot change on one side
//! only.
//!
//! - Numbers and names are compared with the constants the validation uses (`maxLength`
//!   with `TITLE_MAX_CHARS`, `enum` with `Status::ALL`, `maximum` with `MAX_LIMIT`, …).
//! - Patterns are compared with the ones the core builds from its own rules, and each is
//!   also run (with the `regex` crate, which reads their ECMA-262 subset alike) over a
//!   corpus of strings (edge cases and pseudo-random ones) next to the validator it
//!   describes: the two must accept exactly the same strings.
//!
//! The end-to-end run of schemathesis (`tests/e2e/schema.rs`) then checks the live server
//! against the document with every check on. Reading the document, matching its patterns
//! and the string corpus are in [`support`].

mod patterns;
mod support;
mod text;

use serde_json::{json, Value};

use self::support::{
    at, doc, keys, names, operations, parameter, pattern, pattern_of, schema, sorted, usize_of,
    Corpus,
};
use super::request::MAX_BODY_BYTES;
use super::sockets::parse_since;
use hero_core::activity;
use hero_core::auth::{parse_dev_sign_in, Role, DEV_TOKEN_HOURS};
use hero_core::listing;
use hero_core::task::{
    ChangeKind, Priority, Stamp, Status, Tags, Task, TaskChanges, TaskId, Title,
    DESCRIPTION_MAX_CHARS, TAGS_MAX, TAG_MAX_CHARS, TITLE_MAX_CHARS, USER_ID_MAX_CHARS,
    WRITABLE_FIELDS,
};

#[test]
fn task_fields_have_the_validators_limits_and_patterns() {
    let doc = doc();
    let title = schema(&doc, "Title");
    assert_eq!(usize_of(&title, "maxLength"), TITLE_MAX_CHARS);
    assert_eq!(usize_of(&title, "minLength"), 1);
    assert_eq!(pattern_of(&title), Title::pattern());

    let description = schema(&doc, "Description");
    assert_eq!(usize_of(&description, "maxLength"), DESCRIPTION_MAX_CHARS);
    assert_eq!(pattern_of(&description), TaskChanges::description_pattern());

    let tag = schema(&doc, "Tag");
    assert_eq!(usize_of(&tag, "maxLength"), TAG_MAX_CHARS);
    assert_eq!(usize_of(&tag, "minLength"), 1);
    assert_eq!(pattern_of(&tag), Tags::item_pattern());
    let tags = schema(&doc, "Tags");
    assert_eq!(usize_of(&tags, "maxItems"), TAGS_MAX);
    assert_eq!(tags["items"]["$ref"], "#/components/schemas/Tag");
    assert!(
        tags.get("uniqueItems").is_none(),
        "duplicates are dropped, not refused"
    );
    // A served tag is in NFC, which may change its length: the pattern, not the maxLength.
    let stored = schema(&doc, "StoredTags");
    assert_eq!(usize_of(&stored, "maxItems"), TAGS_MAX);
    assert_eq!(stored["items"]["$ref"], "#/components/schemas/StoredTag");
    let stored_tag = schema(&doc, "StoredTag");
    assert_eq!(pattern_of(&stored_tag), Tags::item_pattern());
    assert!(stored_tag.get("maxLength").is_none());
    assert_eq!(
        schema(&doc, "Task")["properties"]["tags"]["$ref"],
        "#/components/schemas/StoredTags"
    );

    let user_id = schema(&doc, "UserId");
    assert_eq!(usize_of(&user_id, "maxLength"), USER_ID_MAX_CHARS);
    assert_eq!(usize_of(&user_id, "minLength"), 1);
    assert_eq!(pattern_of(&user_id), TaskChanges::assignee_pattern());

    let due_date = schema(&doc, "DueDate");
    assert_eq!(pattern_of(&due_date), TaskChanges::DUE_DATE_PATTERN);
    assert_eq!(due_date["format"], "date");

    let id = schema(&doc, "TaskId");
    assert_eq!(pattern_of(&id), TaskId::PATTERN);
    for path in [
        "/api/tasks/{id}",
        "/api/tasks/{id}/activity",
        "/ws/tasks/{id}",
    ] {
        let method = "get";
        let parameter = parameter(&doc, path, method, "id");
        assert_eq!(parameter["schema"]["$ref"], "#/components/schemas/TaskId");
    }
}

#[test]
fn enums_are_the_cores() {
    let doc = doc();
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let priorities: Vec<&str> = Priority::ALL.iter().map(|p| p.as_str()).collect();
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    let kinds: Vec<&str> = ChangeKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(names(&schema(&doc, "Status")["enum"]), statuses);
    assert_eq!(names(&schema(&doc, "Priority")["enum"]), priorities);
    assert_eq!(
        names(&schema(&doc, "DevSignIn")["properties"]["role"]["enum"]),
        roles
    );
    let entry = schema(&doc, "ActivityEntry");
    assert_eq!(names(&entry["properties"]["kind"]["enum"]), kinds);
    assert_eq!(
        names(&entry["properties"]["changed"]["items"]["enum"]),
        WRITABLE_FIELDS
    );
    let analytics = schema(&doc, "Analytics");
    assert_eq!(
        sorted(names(&analytics["properties"]["by_status"]["required"])),
        sorted(statuses.iter().copied())
    );
    assert_eq!(
        sorted(names(&analytics["properties"]["by_priority"]["required"])),
        sorted(priorities.iter().copied())
    );
    let status = parameter(&doc, "/api/tasks", "get", "status");
    assert_eq!(status["schema"]["$ref"], "#/components/schemas/Status");
}

#[test]
fn write_bodies_name_exactly_the_writable_fields() {
    let doc = doc();
    let writable = sorted(WRITABLE_FIELDS.iter().copied());
    for name in ["TaskCreate", "TaskPatch"] {
        let body = schema(&doc, name);
        assert_eq!(keys(&body["properties"]), writable, "{name}");
        assert_eq!(
            body["additionalProperties"], false,
            "{name}: unknown fields are a 422"
        );
    }
    assert_eq!(names(&schema(&doc, "TaskCreate")["required"]), ["title"]);
    assert!(schema(&doc, "TaskPatch").get("required").is_none());
    // The defaults a create fills in.
    let create = schema(&doc, "TaskCreate");
    let new = TaskChanges::for_create(&json!({"title": "x"})).unwrap();
    let task = Task::create(
        TaskId::generate(),
        "w",
        new,
        &Stamp {
            actor: "a",
            now: "2026-01-01T00:00:00.000Z",
        },
    );
    let task = serde_json::to_value(&task).unwrap();
    for field in ["description", "status", "priority"] {
        assert_eq!(
            create["properties"][field]["default"], task[field],
            "{field}"
        );
    }
    // A task as served has exactly the documented fields, all required.
    let served = schema(&doc, "Task");
    assert_eq!(keys(&served["properties"]), keys(&task));
    assert_eq!(sorted(names(&served["required"])), keys(&task));
}

#[test]
fn paging_parameters_have_the_cores_ranges_and_cursor_forms() {
    let doc = doc();
    assert_eq!(listing::DEFAULT_LIMIT, activity::DEFAULT_LIMIT);
    for path in ["/api/tasks", "/api/tasks/{id}/activity"] {
        let limit = parameter(&doc, path, "get", "limit")["schema"].clone();
        assert_eq!(limit["type"], "integer");
        assert_eq!(limit["minimum"], 1, "{path}");
        assert_eq!(limit["maximum"], listing::MAX_LIMIT, "{path}");
        assert_eq!(limit["default"], listing::DEFAULT_LIMIT, "{path}");
    }
    let q = parameter(&doc, "/api/tasks", "get", "q");
    assert_eq!(
        usize_of(&q["schema"], "maxLength"),
        listing::SEARCH_MAX_CHARS
    );

    let cursor = parameter(&doc, "/api/tasks", "get", "cursor");
    assert_eq!(pattern_of(&cursor["schema"]), listing::CURSOR_PATTERN);
    let list = schema(&doc, "TaskList");
    let next = &list["properties"]["next_cursor"]["anyOf"][0];
    assert_eq!(pattern_of(next), listing::CURSOR_PATTERN);

    let cursor = parameter(&doc, "/api/tasks/{id}/activity", "get", "cursor");
    assert_eq!(pattern_of(&cursor["schema"]), activity::CURSOR_PATTERN);
    let page = schema(&doc, "ActivityPage");
    let next = &page["properties"]["next_cursor"]["anyOf"][0];
    assert_eq!(pattern_of(next), activity::CURSOR_PATTERN);
}

#[test]
fn socket_parameters_and_the_dev_sign_in_have_the_servers_rules() {
    let doc = doc();
    for path in ["/ws/tasks/{id}", "/ws/board"] {
        let since = parameter(&doc, path, "get", "since")["schema"].clone();
        assert_eq!(since["type"], "integer");
        assert_eq!(since["minimum"], 0);
        let max = since["maximum"].as_u64().expect("a maximum");
        assert!(
            parse_since(&max.to_string()).is_ok(),
            "{path}: the maximum is taken"
        );
        let past = u128::from(max) + 1;
        assert!(
            parse_since(&past.to_string()).is_err(),
            "{path}: and nothing above"
        );
        // The order of the checks, as sockets.rs makes them.
        let description = doc["paths"][path]["get"]["description"].as_str().unwrap();
        let order = ["(401, 403)", "`since` (400)", "(426"];
        let found: Vec<usize> = order.iter().map(|s| description.find(s).unwrap()).collect();
        assert!(
            found.windows(2).all(|w| w[0] < w[1]),
            "{path}: {description}"
        );
    }
    let body = schema(&doc, "DevSignIn");
    assert_eq!(names(&body["required"]), ["name"]);
    assert_eq!(body["additionalProperties"], false);
    assert_eq!(usize_of(&body["properties"]["name"], "maxLength"), 64);
    let token = at(
        &doc,
        "/paths/~1api~1dev~1token/post/responses/200/content/application~1json/schema",
    );
    let expires_in = &token["properties"]["expires_in"]["const"];
    assert_eq!(expires_in.as_i64(), Some(DEV_TOKEN_HOURS * 3600));
    assert!(
        at(&doc, "/components/responses/PayloadTooLarge")["description"]
            .as_str()
            .unwrap()
            .contains(&format!("{} KiB", MAX_BODY_BYTES / 1024)),
        "the body limit is stated"
    );
}

#[test]
fn every_operation_documents_what_the_server_answers() {
    let doc = doc();
    for (path, method, operation) in operations(&doc) {
        let label = format!("{} {path}", method.to_uppercase());
        let responses = operation["responses"].as_object().expect("responses");
        let secured = operation
            .get("security")
            .is_none_or(|s| s.as_array().is_some_and(|list| !list.is_empty()));
        if secured {
            for status in ["401", "403", "500"] {
                assert!(responses.contains_key(status), "{label} documents {status}");
            }
        }
        if operation.get("requestBody").is_some() {
            for status in ["400", "413", "415", "422"] {
                assert!(responses.contains_key(status), "{label} documents {status}");
            }
        }
        if path.contains("{id}") {
            assert!(responses.contains_key("404"), "{label} documents 404");
        }
        if path.starts_with("/ws/") {
            for status in ["101", "426"] {
                assert!(responses.contains_key(status), "{label} documents {status}");
            }
            let takes_since = operation["parameters"]
                .as_array()
                .is_some_and(|list| list.iter().any(|p| p.to_string().contains("Since")));
            assert_eq!(
                responses.contains_key("400"),
                takes_since,
                "{label} documents 400 exactly when it takes `since`"
            );
        }
    }
    for method in ["patch", "delete"] {
        let operation = &doc["paths"]["/api/tasks/{id}"][method];
        for status in ["400", "409", "412"] {
            assert!(
                operation["responses"].get(status).is_some(),
                "{method} documents {status}"
            );
        }
        let if_match = parameter(&doc, "/api/tasks/{id}", method, "If-Match");
        assert_eq!(if_match["required"], false);
        assert_eq!(pattern_of(&if_match["schema"]), IF_MATCH_PATTERN);
    }
    let stale = at(&doc, "/components/responses/PreconditionFailed");
    let stale_body = at(&doc, "/components/schemas/PreconditionFailed");
    assert_eq!(stale_body["allOf"][1]["required"], json!(["current"]));
    assert!(stale["headers"].get("ETag").is_some());
}

// ---------------------------------------------------------------------------------------
// Patterns against the validators, string by string.

/// `If-Match`: `*`, or quoted versions separated by commas (RFC 9110's optional whitespace
/// around them), each a positive integer of at most 15 digits (`+` and leading zeros
/// allowed, as the server reads it). Empty: HTTP drops an empty field, so it is the same as
/// none.
const IF_MATCH_PATTERN: &str =
    "^(?:\\*|\"\\+?0*[1-9][0-9]{0,14}\"(?:[ \\t]*,[ \\t]*\"\\+?0*[1-9][0-9]{0,14}\")*)?$";

#[test]
fn the_dev_sign_in_schema_is_what_the_server_takes() {
    let doc = doc();
    let body = schema(&doc, "DevSignIn");
    let name_schema = &body["properties"]["name"];
    let name = pattern(pattern_of(name_schema));
    let max_name = usize_of(name_schema, "maxLength");
    let workspace = pattern(pattern_of(&body["properties"]["workspace"]));
    let sign_in = |body: Value| parse_dev_sign_in(&body).is_ok();

    let mut names: Vec<String> = ["Ana", " Ana María ", "!!", "", "ééé", "a\u{7}", " a "]
        .map(str::to_owned)
        .to_vec();
    names.extend([
        "İ".repeat(64),
        format!("a{}", "İ".repeat(63)),
        "x".repeat(64),
        "x".repeat(65),
    ]);
    names.extend(Corpus::new(17).strings("aZ9 -é\u{1}\u{9f}İK!", 8, 3000));
    for text in &names {
        let valid = name.is_match(text) && text.chars().count() <= max_name;
        assert_eq!(valid, sign_in(json!({ "name": text })), "name {text:?}");
    }
    let mut workspaces: Vec<String> = ["demo", "", "a b", " demo"].map(str::to_owned).to_vec();
    workspaces.extend(["w".repeat(64), "w".repeat(65)]);
    workspaces.extend(Corpus::new(19).strings("aZ09_- .é", 8, 3000));
    for text in &workspaces {
        let accepted = sign_in(json!({"name": "Ana", "workspace": text}));
        assert_eq!(workspace.is_match(text), accepted, "workspace {text:?}");
    }
    for role in Role::ALL {
        assert!(sign_in(json!({"name": "Ana", "role": role.as_str()})));
    }
    for (body, why) in [
        (json!({"name": "Ana", "role": "owner"}), "an unknown role"),
        (
            json!({"name": "Ana", "role": " admin"}),
            "a role with spaces",
        ),
        (json!({"name": "Ana", "role": null}), "a null role"),
        (
            json!({"name": "Ana", "workspace": 7}),
            "a workspace that is not a string",
        ),
        (json!({"name": "Ana", "colour": "red"}), "an unknown field"),
        (json!({"role": "admin"}), "no name"),
        (json!(["Ana"]), "not an object"),
    ] {
        assert!(!sign_in(body), "{why} is refused, as the schema says");
    }
}

/// The contract's own tools work: the matcher reads these patterns as a JSON Schema
/// (ECMA-262) validator would.
#[test]
fn the_matcher_reads_patterns_like_a_validator() {
    let cases = [
        ("^a$", "a", true),
        ("^a$", "ab", false),
        ("b", "abc", true),
        ("^(?:ab|c)*$", "abcab", true),
        ("^(?:ab|c)*$", "abca", false),
        ("^[^\\u0000-\\u001F]*$", "x\u{1f}", false),
        ("^[^\\u0000-\\u001F]*$", "x\u{20}", true),
        ("^[A-Za-z0-9_-]{1,3}$", "a-_", true),
        ("^[A-Za-z0-9_-]{1,3}$", "a-_b", false),
        ("^[A-Za-z0-9_-]{1,3}$", "", false),
        ("^\\+?x$", "+x", true),
        ("^[ \\t]*,$", "\t ,", true),
        ("^\"\\*\"$", "\"*\"", true),
        ("^a{2}$", "aa", true),
        ("^a{2}$", "aaa", false),
    ];
    for (source, text, expected) in cases {
        assert_eq!(
            pattern(source).is_match(text),
            expected,
            "{source} ~ {text:?}"
        );
    }
}
