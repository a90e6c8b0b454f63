//! JSON as the API reads it from clients: like `serde_json`, except that an object that
//! names the same key twice is refused.
//!
//! RFC 8259 leaves a repeated key's meaning to the parser: `serde_json` keeps the last one,
//! many proxies, WAFs and loggers keep the first. A request that two parsers read
//! differently could pass a check on one reading and be carried out on the other, so REST
//! bodies and socket frames are parsed here, by a visitor that builds the same
//! [`Value`] `serde_json` would and stops at the first repeated key.

use std::cell::Cell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::echo;

/// Why a text is not JSON the API takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON at all (or trailing characters, or nested too deep): serde_json's message.
    Syntax(String),
    /// An object names this key (cut to an echo's length) more than once.
    DuplicateKey(String),
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Syntax(message) => f.write_str(message),
            JsonError::DuplicateKey(key) => write!(f, "the key {key:?} appears more than once"),
        }
    }
}

impl JsonError {
    /// What to tell the client about `what` (`"the body"`, `"the frame"`).
    pub fn message(&self, what: &str) -> String {
        match self {
            JsonError::Syntax(message) => format!("{what} is not valid JSON: {message}"),
            JsonError::DuplicateKey(key) => format!("{what} names the key {key:?} more than once"),
        }
    }
}

/// Parses `bytes` as one JSON value, refusing repeated keys in any object at any depth.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    let repeated = Cell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictSeed {
        repeated: &repeated,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    parsed.map_err(|error| match repeated.take() {
        Some(key) => JsonError::DuplicateKey(key),
        None => JsonError::Syntax(error.to_string()),
    })
}

/// Builds a [`Value`], and notes the first repeated key in `repeated` (the error serde
/// hands back does not say which kind of failure it was).
#[derive(Clone, Copy)]
struct StrictSeed<'a> {
    repeated: &'a Cell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    /// As serde_json does: a float JSON can spell is always finite.
    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut list = Vec::new();
        while let Some(item) = items.next_element_seed(self)? {
            list.push(item);
        }
        Ok(Value::Array(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            if object.contains_key(&key) {
                let key = echo(&key);
                let error = A::Error::custom(format!("the key {key:?} appears more than once"));
                self.repeated.set(Some(key));
                return Err(error);
            }
            let value = entries.next_value_seed(self)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            r#"{"title":"a","tags":["x","y"],"n":-1,"f":1.5,"big":18446744073709551615}"#,
            r#"[null,true,false,{},[],"\u00e9\ud83d\ude00",0,1e300]"#,
            r#"  {"a":{"b":{"c":[1,{"d":2}]}}}  "#,
            r#""just a string""#,
            r#"{"same":1,"Same":2}"#,
        ] {
            let ours = parse_strict(text.as_bytes()).unwrap();
            let theirs: Value = serde_json::from_str(text).unwrap();
            assert_eq!(ours, theirs, "{text}");
            // key order kept, as serde_json (preserve_order) keeps it
            assert_eq!(ours.to_string(), theirs.to_string(), "{text}");
        }
    }

    #[test]
    fn refuses_a_repeated_key_at_any_depth() {
        for (text, key) in [
            (r#"{"title":"a","title":"b"}"#, "title"),
            (r#"{"x":{"k":1,"k":1}}"#, "k"),
            (r#"[{"ok":1},{"id":1,"type":"ping","id":2}]"#, "id"),
            (r#"{"a\u0062":1,"ab":2}"#, "ab"),
        ] {
            assert_eq!(
                parse_strict(text.as_bytes()),
                Err(JsonError::DuplicateKey(key.into())),
                "{text}"
            );
        }
    }

    #[test]
    fn a_repeated_key_is_echoed_cut() {
        let long = "k".repeat(10_000);
        let text = format!(r#"{{"{long}":1,"{long}":2}}"#);
        let Err(JsonError::DuplicateKey(key)) = parse_strict(text.as_bytes()) else {
            panic!("refused as a repeat");
        };
        assert!(key.chars().count() <= crate::error::ECHO_MAX_CHARS + 1);
        let error = JsonError::DuplicateKey(key);
        assert!(error.to_string().len() < 200);
        assert!(error
            .message("the body")
            .starts_with("the body names the key \"kkk"));
    }

    #[test]
    fn syntax_errors_are_serde_jsons() {
        for text in ["", "{", "{\"a\":1,}", "[1] 2", "nul", "{\"a\" 1}"] {
            let Err(JsonError::Syntax(message)) = parse_strict(text.as_bytes()) else {
                panic!("{text:?} is not JSON");
            };
            let theirs = serde_json::from_str::<Value>(text).unwrap_err();
            assert_eq!(message, theirs.to_string(), "{text:?}");
        }
        // serde_json's depth limit holds here too
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(matches!(
            parse_strict(deep.as_bytes()),
            Err(JsonError::Syntax(_))
        ));
    }
}
