//! Conditional requests: task versions as strong `ETag`s and `If-Match` preconditions.

/// The `ETag` header value for a task version: `"<version>"`.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// A parsed `If-Match` header.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IfMatch {
    /// `*`: the task must exist, any version.
    Any,
    /// One or more listed versions; the write goes ahead if the current one is among them.
    Versions(Vec<i64>),
}

impl IfMatch {
    /// Parses `"3"`, `"3", "4"` or `*`. Weak tags (`W/"3"`) never match under RFC 9110's
    /// strong comparison, so they are refused rather than silently failing every write.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw == "*" {
            return Ok(IfMatch::Any);
        }
        let mut versions = Vec::new();
        for part in raw.split(',') {
            let part = part.trim();
            let quoted = part
                .strip_prefix('"')
                .and_then(|rest| rest.strip_suffix('"'))
                .ok_or_else(|| {
                    format!("If-Match must list quoted versions like \"3\", got {part:?}")
                })?;
            let version = quoted
                .parse::<i64>()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| {
                    format!("If-Match version must be a positive integer, got {part:?}")
                })?;
            versions.push(version);
        }
        Ok(IfMatch::Versions(versions))
    }

    pub fn matches(&self, current_version: i64) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::Versions(versions) => versions.contains(&current_version),
        }
    }
}

/// A task's version moves with every write, the room's own writes of the shared description
/// included (a few seconds after people type). An `If-Match` naming a version the task has
/// moved past only by such writes (`field_version` is the version of its last other change)
/// still holds for a write that leaves the description alone: nobody is asked to resolve a
/// conflict because someone else was typing.
pub fn relaxed_for_document(
    precondition: Option<&IfMatch>,
    current_version: i64,
    field_version: i64,
    touches_description: bool,
) -> Option<IfMatch> {
    match precondition {
        Some(IfMatch::Versions(versions))
            if !touches_description
                && versions
                    .iter()
                    .any(|v| (field_version..=current_version).contains(v)) =>
        {
            Some(IfMatch::Versions(vec![current_version]))
        }
        other => other.cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strong_tags_and_star() {
        assert_eq!(IfMatch::parse("\"3\""), Ok(IfMatch::Versions(vec![3])));
        assert_eq!(
            IfMatch::parse(" \"3\", \"5\" "),
            Ok(IfMatch::Versions(vec![3, 5]))
        );
        assert_eq!(IfMatch::parse("*"), Ok(IfMatch::Any));
        assert!(IfMatch::parse("W/\"3\"").is_err());
        assert!(IfMatch::parse("3").is_err());
        assert!(IfMatch::parse("\"x\"").is_err());
        assert!(IfMatch::parse("\"0\"").is_err());
    }

    #[test]
    fn matching_is_by_exact_version() {
        assert!(IfMatch::Versions(vec![3]).matches(3));
        assert!(!IfMatch::Versions(vec![3]).matches(4));
        assert!(IfMatch::Any.matches(9));
        assert_eq!(etag(7), "\"7\"");
    }

    #[test]
    fn document_writes_do_not_make_an_if_match_stale_for_other_fields() {
        let named = |v| Some(IfMatch::Versions(vec![v]));
        // version 5 was the last other change; 6 and 7 were the document's
        assert_eq!(
            relaxed_for_document(named(5).as_ref(), 7, 5, false),
            named(7)
        );
        assert_eq!(
            relaxed_for_document(named(6).as_ref(), 7, 5, false),
            named(7)
        );
        // older than the last other change: stale, as ever
        assert_eq!(
            relaxed_for_document(named(4).as_ref(), 7, 5, false),
            named(4)
        );
        // a write of the description itself: strict
        assert_eq!(
            relaxed_for_document(named(5).as_ref(), 7, 5, true),
            named(5)
        );
        assert_eq!(relaxed_for_document(None, 7, 5, false), None);
        assert_eq!(
            relaxed_for_document(Some(&IfMatch::Any), 7, 5, false),
            Some(IfMatch::Any)
        );
    }
}
