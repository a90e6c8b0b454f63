//! What a request costs, counted rather than timed: calls and queries to D1, the rows they
//! read and wrote (from D1's own result meta), and calls to rooms. Counts do not drift
//! between runs the way times do, so `make bench` reports them per operation.
//!
//! A room adds its own cost to its answer ([`COST_HEADER`]) and the Worker adds that to its
//! own, so one response carries the cost of everything on its critical path.

use serde::{Deserialize, Serialize};

/// The response header a cost travels in: `d1_calls=1, d1_queries=2, rows_read=3, …`.
pub const COST_HEADER: &str = "X-Hero-Cost";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    /// Round trips to D1 (a batch is one).
    pub d1_calls: u32,
    /// Statements D1 ran.
    pub d1_queries: u32,
    pub rows_read: u64,
    pub rows_written: u64,
    /// Requests to Durable Objects (rooms).
    pub room_calls: u32,
    /// The longest chain of remote calls made one after another (a room's D1 batch after
    /// the Worker's call to the room is 2).
    pub sequential_calls: u32,
}

const FIELDS: [&str; 6] = [
    "d1_calls",
    "d1_queries",
    "rows_read",
    "rows_written",
    "room_calls",
    "sequential_calls",
];

impl Cost {
    /// One D1 round trip that ran `queries` statements.
    pub fn d1(queries: u32, rows_read: u64, rows_written: u64) -> Cost {
        Cost {
            d1_calls: 1,
            d1_queries: queries,
            rows_read,
            rows_written,
            room_calls: 0,
            sequential_calls: 1,
        }
    }

    /// `self` followed by `next`: everything adds up, and so do the chains.
    pub fn then(self, next: Cost) -> Cost {
        Cost {
            sequential_calls: self.sequential_calls + next.sequential_calls,
            ..self.beside(next)
        }
    }

    /// `self` and `other` side by side (concurrently): the longer chain counts.
    pub fn beside(self, other: Cost) -> Cost {
        Cost {
            d1_calls: self.d1_calls + other.d1_calls,
            d1_queries: self.d1_queries + other.d1_queries,
            rows_read: self.rows_read + other.rows_read,
            rows_written: self.rows_written + other.rows_written,
            room_calls: self.room_calls + other.room_calls,
            sequential_calls: self.sequential_calls.max(other.sequential_calls),
        }
    }

    /// A call to a room, around what the room itself spent.
    pub fn room_call(inside: Cost) -> Cost {
        Cost {
            room_calls: inside.room_calls + 1,
            sequential_calls: inside.sequential_calls + 1,
            ..inside
        }
    }

    fn values(&self) -> [u64; 6] {
        [
            u64::from(self.d1_calls),
            u64::from(self.d1_queries),
            self.rows_read,
            self.rows_written,
            u64::from(self.room_calls),
            u64::from(self.sequential_calls),
        ]
    }

    pub fn to_header(&self) -> String {
        FIELDS
            .iter()
            .zip(self.values())
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Reads a header written by [`Cost::to_header`]; unknown or broken parts are ignored.
    pub fn parse_header(text: &str) -> Cost {
        let mut cost = Cost::default();
        for part in text.split(',') {
            let Some((name, value)) = part.trim().split_once('=') else {
                continue;
            };
            let Ok(value) = value.parse::<u64>() else {
                continue;
            };
            let small = u32::try_from(value).unwrap_or(u32::MAX);
            match name {
                "d1_calls" => cost.d1_calls = small,
                "d1_queries" => cost.d1_queries = small,
                "rows_read" => cost.rows_read = value,
                "rows_written" => cost.rows_written = value,
                "room_calls" => cost.room_calls = small,
                "sequential_calls" => cost.sequential_calls = small,
                _ => {}
            }
        }
        cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_through_its_room_is_two_calls_in_a_row() {
        let in_room = Cost::d1(2, 1, 3);
        let patch = Cost::room_call(in_room);
        assert_eq!(patch.sequential_calls, 2);
        assert_eq!(
            (patch.room_calls, patch.d1_calls, patch.d1_queries),
            (1, 1, 2)
        );
        let parsed = Cost::parse_header(&patch.to_header());
        assert_eq!(parsed, patch);
        assert_eq!(
            patch.to_header(),
            "d1_calls=1, d1_queries=2, rows_read=1, rows_written=3, room_calls=1, sequential_calls=2"
        );
    }

    #[test]
    fn side_by_side_calls_do_not_lengthen_the_chain() {
        let two = Cost::d1(1, 1, 0).beside(Cost::d1(1, 5, 0));
        assert_eq!(
            (two.d1_calls, two.rows_read, two.sequential_calls),
            (2, 6, 1)
        );
        let chain = Cost::d1(1, 1, 0).then(Cost::d1(1, 1, 0));
        assert_eq!(chain.sequential_calls, 2);
        assert_eq!(
            Cost::parse_header("garbage, rows_read=x, d1_calls=4"),
            Cost {
                d1_calls: 4,
                ..Cost::default()
            }
        );
    }
}
