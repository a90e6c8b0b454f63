//! Workspace analytics: counts by status and priority, overdue, and done this week.

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::task::{Priority, Status};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analytics {
    pub total: u64,
    /// Every status is present, with 0 where no task has it.
    pub by_status: BTreeMap<String, u64>,
    pub by_priority: BTreeMap<String, u64>,
    /// Not done, with a due date before today (UTC).
    pub overdue: u64,
    /// Done, and completed since `week_start`.
    pub done_this_week: u64,
    /// Monday of the current ISO week (UTC), the start of "this week".
    pub week_start: NaiveDate,
}

/// Monday 00:00 UTC of the ISO week containing `today`.
pub fn week_start(today: NaiveDate) -> NaiveDate {
    today - Duration::days(i64::from(today.weekday().num_days_from_monday()))
}

impl Analytics {
    /// Builds the report from grouped counts; unknown keys (none should exist) are dropped.
    pub fn from_counts(
        status_counts: &[(String, u64)],
        priority_counts: &[(String, u64)],
        overdue: u64,
        done_this_week: u64,
        week_start: NaiveDate,
    ) -> Self {
        let mut by_status: BTreeMap<String, u64> = Status::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), 0))
            .collect();
        for (key, count) in status_counts {
            if let Some(status) = Status::parse(key) {
                by_status.insert(status.as_str().to_owned(), *count);
            }
        }
        let mut by_priority: BTreeMap<String, u64> = Priority::ALL
            .iter()
            .map(|p| (p.as_str().to_owned(), 0))
            .collect();
        for (key, count) in priority_counts {
            if let Some(priority) = Priority::parse(key) {
                by_priority.insert(priority.as_str().to_owned(), *count);
            }
        }
        Analytics {
            total: by_status.values().sum(),
            by_status,
            by_priority,
            overdue,
            done_this_week,
            week_start,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn week_starts_on_monday() {
        let thursday = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        assert_eq!(
            week_start(thursday),
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
        );
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(week_start(monday), monday);
    }

    #[test]
    fn every_bucket_is_present() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let report =
            Analytics::from_counts(&[("done".into(), 2), ("todo".into(), 1)], &[], 1, 2, start);
        assert_eq!(report.total, 3);
        assert_eq!(report.by_status["in_progress"], 0);
        assert_eq!(report.by_status["done"], 2);
        assert_eq!(report.by_priority.len(), 4);
    }
}
