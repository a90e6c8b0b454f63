//! The pure scoring of the load generator: finding update markers in frames, and judging a
//! client's received sequence. Also built as its own test target (`bench-score` in
//! Cargo.toml), since the bench binary itself has no test harness.

/// The numbers `n` of every `bench#<n>#` marker in a frame, in order.
pub fn markers(frame: &str) -> impl Iterator<Item = usize> + '_ {
    frame.match_indices("bench#").filter_map(move |(at, tag)| {
        let digits = &frame[at + tag.len()..];
        let end = digits.find('#')?;
        digits[..end].parse().ok()
    })
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub expected: u64,
    pub exactly_once_in_order: u64,
    pub missing: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
}

/// Scores one client's received seqs against the range it should have seen: a seq counts
/// when it arrived exactly once and after every seq before it.
pub fn tally(received: &[u64], expected: std::ops::RangeInclusive<u64>) -> Tally {
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
}
