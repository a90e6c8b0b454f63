//! The pure scoring of the load generator: finding update markers in frames, judging a
//! client's received sequence, and checking a watcher against the versions writers
//! committed. Also built as its own test target (`bench-score` in
//! Cargo.toml), since the bench binary itself has no test harness.

/// A target the report checks, and whether this run met it.
#[derive(Debug, serde::Serialize)]
pub struct Goal {
    pub what: String,
    pub met: bool,
    pub detail: String,
}

/// The numbers `n` of every `bench#<n>#` marker in a frame, in order.
pub fn markers(frame: &str) -> impl Iterator<Item = usize> + '_ {
    frame.match_indices("bench#").filter_map(move |(at, tag)| {
        let digits = &frame[at + tag.len()..];
        let end = digits.find('#')?;
        digits[..end].parse().ok()
    })
}

/// The stages of a `Server-Timing` header (`name;dur=ms, …`), in order.
pub fn server_timing(header: &str) -> Vec<(String, f64)> {
    header
        .split(',')
        .filter_map(|part| {
            let (name, rest) = part.trim().split_once(";dur=")?;
            Some((name.trim().to_owned(), rest.trim().parse().ok()?))
        })
        .collect()
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub expected: u64,
    pub exactly_once_in_order: u64,
    pub missing: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
}

/// Scores one client's received seqs against the ones it should have seen (ascending): a
/// seq counts when it arrived exactly once and after every seq before it.
pub fn tally(received: &[u64], expected: impl IntoIterator<Item = u64>) -> Tally {
    let mut counts = std::collections::HashMap::<u64, u64>::new();
    let mut in_order = std::collections::HashSet::new();
    let mut highest = 0;
    let mut out_of_order = 0;
    for &seq in received {
        *counts.entry(seq).or_default() += 1;
        if seq > highest {
            in_order.insert(seq);
            highest = seq;
        } else {
            out_of_order += 1;
        }
    }
    let mut tally = Tally {
        out_of_order,
        ..Tally::default()
    };
    for seq in expected {
        tally.expected += 1;
        match counts.get(&seq).copied().unwrap_or(0) {
            0 => tally.missing += 1,
            1 if in_order.contains(&seq) => tally.exactly_once_in_order += 1,
            1 => {}
            more => tally.duplicates += more - 1,
        }
    }
    tally
}

/// A watcher's `task_updated` versions against the versions that PATCHes were told they
/// committed (the `version` of each 2xx answer).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct VersionCheck {
    /// Distinct committed versions, and the watcher's score against them.
    pub tally: Tally,
    /// 2xx answers beyond the first that reported an already reported version: two writes
    /// told they committed the same version (one of them lost).
    pub repeated_answers: u64,
    /// Versions the watcher saw that no 2xx answer reported (a write whose answer was
    /// lost on the way, say); not an error by themselves.
    pub extra: u64,
}

impl VersionCheck {
    /// Every committed version exactly once, in order, nothing reordered, no version
    /// reported to two writers.
    pub fn every_version_once_in_order(&self) -> bool {
        self.repeated_answers == 0
            && self.tally.exactly_once_in_order == self.tally.expected
            && self.tally.out_of_order == 0
    }
}

pub fn check_versions(received: &[u64], committed: &[u64]) -> VersionCheck {
    let distinct: std::collections::BTreeSet<u64> = committed.iter().copied().collect();
    VersionCheck {
        tally: tally(received, distinct.iter().copied()),
        repeated_answers: (committed.len() - distinct.len()) as u64,
        extra: received.iter().filter(|v| !distinct.contains(v)).count() as u64,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn markers_are_found_in_plain_and_batched_frames() {
        let event = |n: u64| {
            format!(r#"{{"type":"task_updated","task":{{"description":"bench#{n}# edited"}}}}"#)
        };
        let batch = format!(r#"{{"type":"batch","events":[{},{}]}}"#, event(7), event(8));
        assert_eq!(super::markers(&batch).collect::<Vec<_>>(), [7, 8]);
        assert_eq!(super::markers(r#"{"type":"welcome"}"#).count(), 0);
        assert_eq!(super::markers("bench#x# bench#12").count(), 0);
    }

    #[test]
    fn a_perfect_stream_scores_everything() {
        let tally = super::tally(&[2, 3, 4, 5], 2..=5);
        assert_eq!(tally.expected, 4);
        assert_eq!(tally.exactly_once_in_order, 4);
        assert_eq!(tally.missing + tally.duplicates + tally.out_of_order, 0);
    }

    #[test]
    fn gaps_repeats_and_reordering_are_each_counted() {
        let tally = super::tally(&[2, 4, 3, 4, 6], 2..=6);
        assert_eq!(
            tally,
            super::Tally {
                expected: 5,
                exactly_once_in_order: 2, // 2 and 6; 3 came late, 4 twice, 5 never
                missing: 1,
                duplicates: 1,
                out_of_order: 2,
            }
        );
    }

    #[test]
    fn every_committed_version_once_in_order_passes() {
        // Writers learn their versions in any order; the watcher must see them ascending.
        let check = super::check_versions(&[2, 3, 4, 5], &[4, 2, 5, 3]);
        assert!(check.every_version_once_in_order());
        assert_eq!(check.tally.expected, 4);
        assert_eq!(check.extra, 0);
    }

    #[test]
    fn an_uncommitted_version_seen_in_order_is_extra_not_wrong() {
        // 3 committed but its writer never got the answer.
        let check = super::check_versions(&[2, 3, 4], &[2, 4]);
        assert!(check.every_version_once_in_order());
        assert_eq!(check.extra, 1);
    }

    #[test]
    fn a_missed_version_fails() {
        let check = super::check_versions(&[2, 4], &[2, 3, 4]);
        assert!(!check.every_version_once_in_order());
        assert_eq!(check.tally.missing, 1);
    }

    #[test]
    fn a_duplicated_version_fails() {
        let check = super::check_versions(&[2, 3, 3, 4], &[2, 3, 4]);
        assert!(!check.every_version_once_in_order());
        assert_eq!(check.tally.duplicates, 1);
    }

    #[test]
    fn a_reordered_version_fails() {
        let check = super::check_versions(&[2, 4, 3], &[2, 3, 4]);
        assert!(!check.every_version_once_in_order());
        assert_eq!(check.tally.out_of_order, 1);
        assert_eq!(check.tally.missing, 0);
    }

    #[test]
    fn one_version_answered_to_two_writers_fails() {
        let check = super::check_versions(&[2, 3], &[2, 3, 3]);
        assert!(!check.every_version_once_in_order());
        assert_eq!(check.repeated_answers, 1);
    }

    #[test]
    fn nothing_committed_and_nothing_seen_is_vacuously_fine() {
        let check = super::check_versions(&[], &[]);
        assert!(check.every_version_once_in_order());
        assert_eq!(check.tally.expected, 0);
    }

    #[test]
    fn server_timing_headers_are_read_stage_by_stage() {
        use super::server_timing;
        assert_eq!(
            server_timing("auth;dur=1, room;dur=12, room-d1;dur=9.5, junk"),
            [
                ("auth".to_owned(), 1.0),
                ("room".to_owned(), 12.0),
                ("room-d1".to_owned(), 9.5)
            ]
        );
        assert!(server_timing("").is_empty());
    }
}
