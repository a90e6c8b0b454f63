//! The contract tests' support: reading the OpenAPI document, running its patterns as a
//! JSON Schema validator would, and a reproducible corpus of strings to run them over.

use serde_json::Value;

use super::super::OPENAPI;

/// A schema `pattern` as a matcher. JSON Schema patterns are ECMA-262 regular expressions;
/// the subset these use (anchors, classes with `\uXXXX` ranges, `(?:…)`, `|`, counted
/// repeats, escaped punctuation) reads the same in the `regex` crate, which
/// `the_matcher_reads_patterns_like_a_validator` pins down. Like a validator, a match may
/// start anywhere; the patterns here anchor themselves.
pub fn pattern(source: &str) -> regex::Regex {
    regex::Regex::new(source).unwrap_or_else(|e| panic!("pattern {source}: {e}"))
}

pub fn doc() -> Value {
    serde_json::from_str(OPENAPI).expect("openapi.json is JSON")
}

/// The value at a JSON pointer, resolving a `$ref` at the end.
pub fn at(doc: &Value, pointer: &str) -> Value {
    let value = doc
        .pointer(pointer)
        .unwrap_or_else(|| panic!("openapi.json has no {pointer}"));
    match value.get("$ref").and_then(Value::as_str) {
        Some(target) => at(doc, target.trim_start_matches('#')),
        None => value.clone(),
    }
}

pub fn schema(doc: &Value, name: &str) -> Value {
    at(doc, &format!("/components/schemas/{name}"))
}

pub fn usize_of(value: &Value, key: &str) -> usize {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {value}")) as usize
}

pub fn pattern_of(value: &Value) -> &str {
    value["pattern"]
        .as_str()
        .unwrap_or_else(|| panic!("no pattern in {value}"))
}

pub fn names(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().expect("a name"))
        .collect()
}

pub fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

pub fn sorted<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut names: Vec<&str> = names.into_iter().collect();
    names.sort_unstable();
    names
}

/// A parameter of an operation, by name (`$ref`s resolved).
pub fn parameter(doc: &Value, path: &str, method: &str, name: &str) -> Value {
    let escaped = path.replace('~', "~0").replace('/', "~1");
    let item = format!("/paths/{escaped}");
    let mut listed: Vec<Value> = Vec::new();
    for list in [
        format!("{item}/parameters"),
        format!("{item}/{method}/parameters"),
    ] {
        if let Some(items) = doc.pointer(&list).and_then(Value::as_array) {
            for index in 0..items.len() {
                listed.push(at(doc, &format!("{list}/{index}")));
            }
        }
    }
    listed
        .into_iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
}

pub fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                found.push((path.clone(), method.clone(), operation.clone()));
            }
        }
    }
    found
}

// ---------------------------------------------------------------------------------------
// Numbers, names and patterns against the core's constants.

/// Deterministic pseudo-random strings (xorshift), so a failure is reproducible.
pub struct Corpus(u64);

impl Corpus {
    pub fn new(seed: u64) -> Corpus {
        Corpus(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below as u64) as usize
    }

    /// `count` strings of up to `max_len` characters from `alphabet`.
    pub fn strings(&mut self, alphabet: &str, max_len: usize, count: usize) -> Vec<String> {
        let alphabet: Vec<char> = alphabet.chars().collect();
        (0..count)
            .map(|_| {
                let len = self.next(max_len + 1);
                (0..len)
                    .map(|_| alphabet[self.next(alphabet.len())])
                    .collect()
            })
            .collect()
    }

    /// `count` copies of `base` with one or two characters replaced, inserted or removed.
    pub fn mutations(&mut self, base: &str, alphabet: &str, count: usize) -> Vec<String> {
        let alphabet: Vec<char> = alphabet.chars().collect();
        (0..count)
            .map(|_| {
                let mut chars: Vec<char> = base.chars().collect();
                for _ in 0..=self.next(2) {
                    let at = self.next(chars.len() + 1);
                    let c = alphabet[self.next(alphabet.len())];
                    match self.next(3) {
                        0 if at < chars.len() => chars[at] = c,
                        1 if at < chars.len() => {
                            chars.remove(at);
                        }
                        _ => chars.insert(at, c),
                    }
                }
                chars.into_iter().collect()
            })
            .collect()
    }
}
