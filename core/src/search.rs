//! Search: what someone typed into `q`, as an FTS5 query that can only ever mean words.
//!
//! `q` is never handed to FTS5 as syntax. It is split into words the way the index's
//! `unicode61` tokenizer splits text (letters and digits; everything else separates), and the
//! words go back as one quoted phrase whose last word is a prefix: `fix lau` becomes
//! `"fix lau"*`, which finds "Fix launch" but not "launch fix". So quotes, `*`, `-`, `NEAR`,
//! `AND`, `OR` and parentheses search literally, as the words (if any) around them, and a
//! `q` with no letters or digits at all matches nothing.
//!
//! The phrase is also confined to the caller's workspace inside the index: every task is
//! indexed with `search_scope`, the hex of its workspace id (migration 0004), and the query
//! intersects with it, so one workspace's common word costs another workspace nothing.

/// The words of `q`, in order, as the index's tokenizer would cut them.
pub fn words(q: &str) -> impl Iterator<Item = &str> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
}

/// The FTS5 `MATCH` expression for `q` within one workspace, or `None` when `q` has no
/// words (it can match no task).
pub fn match_expression(workspace_id: &str, q: &str) -> Option<String> {
    let phrase = words(q).collect::<Vec<_>>().join(" ");
    if phrase.is_empty() {
        return None;
    }
    // Neither part can hold a quote: the scope is hex and the words are alphanumeric.
    Some(format!(
        "search_scope : \"{}\" AND {{title description tags}} : \"{phrase}\"*",
        search_scope(workspace_id)
    ))
}

/// What SQLite's `hex()` makes of a workspace id: one alphanumeric token.
pub fn search_scope(workspace_id: &str) -> String {
    workspace_id
        .bytes()
        .map(|byte| format!("{byte:02X}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_letters_and_digits_in_any_script() {
        assert_eq!(
            words("Fix: the  'login'-bug (100%) café ユーザー").collect::<Vec<_>>(),
            ["Fix", "the", "login", "bug", "100", "café", "ユーザー"]
        );
    }

    #[test]
    fn the_phrase_is_quoted_and_prefixed_and_scoped() {
        assert_eq!(
            match_expression("ws-1", "fix lau").unwrap(),
            "search_scope : \"77732D31\" AND {title description tags} : \"fix lau\"*"
        );
    }

    #[test]
    fn fts_operators_become_plain_words_or_nothing() {
        for (q, phrase) in [
            ("a OR b", "\"a OR b\"*"),
            ("NEAR(a b)", "\"NEAR a b\"*"),
            ("\"unbalanced", "\"unbalanced\"*"),
            ("x* -y ^z", "\"x y z\"*"),
            ("title:secret", "\"title secret\"*"),
            ("{title}: (((", "\"title\"*"),
        ] {
            let expression = match_expression("w", q).unwrap();
            assert!(
                expression.ends_with(&format!(": {phrase}")),
                "{q} -> {expression}"
            );
        }
    }

    #[test]
    fn nothing_searchable_matches_nothing() {
        for q in ["", "   ", "***", "\"\"", "()", "%_%", "-"] {
            assert_eq!(match_expression("w", q), None, "{q:?}");
        }
    }

    #[test]
    fn the_scope_is_sqlite_hex() {
        assert_eq!(search_scope("é"), "C3A9");
        assert!(search_scope("any \"id\" (at all)")
            .chars()
            .all(|c| c.is_ascii_hexdigit()));
    }
}
