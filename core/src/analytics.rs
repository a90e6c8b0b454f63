//! Workspace analytics: counts by status and priority, overdue, and done this week.
//!
//! The workspace's board keeps counters as changes arrive ([`bucket_deltas`]), so a change
//! costs it no query, and both the live `analytics` frame and `GET /api/analytics` are built
//! from them ([`Analytics::from_buckets`]), at the same cost for 100 tasks as for 100,000.
//! Overdue and "done this week" depend on the day, so the board counts by date and sums at
//! report time.

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::task::{Priority, Status, Task};

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

/// What the board needs of a task to count it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFacts {
    pub status: Status,
    pub priority: Priority,
    pub due_date: Option<NaiveDate>,
    /// The UTC day it was completed on, while it is done.
    pub completed_on: Option<NaiveDate>,
}

impl TaskFacts {
    pub fn of(task: &Task) -> Self {
        TaskFacts {
            status: task.status,
            priority: task.priority,
            due_date: task.due_date,
            completed_on: completed_day(task.completed_at.as_deref()),
        }
    }
}

/// The day of an API timestamp (`2026-01-02T…`), if it is one.
pub fn completed_day(timestamp: Option<&str>) -> Option<NaiveDate> {
    timestamp
        .and_then(|at| at.get(..10))
        .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
}

/// One counter the board keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    Status(Status),
    Priority(Priority),
    /// Tasks not done, due on this day (overdue = the days before today).
    OpenDue(NaiveDate),
    /// Done tasks completed on this day (done this week = the days since Monday).
    DoneOn(NaiveDate),
}

impl Bucket {
    /// The counter's key in storage: `status:todo`, `priority:high`, `due:2026-01-02`,
    /// `done:2026-01-02`.
    pub fn key(&self) -> String {
        match self {
            Bucket::Status(status) => format!("status:{}", status.as_str()),
            Bucket::Priority(priority) => format!("priority:{}", priority.as_str()),
            Bucket::OpenDue(day) => format!("due:{}", day.format("%Y-%m-%d")),
            Bucket::DoneOn(day) => format!("done:{}", day.format("%Y-%m-%d")),
        }
    }

    pub fn parse(key: &str) -> Option<Bucket> {
        let (kind, value) = key.split_once(':')?;
        let day = || NaiveDate::parse_from_str(value, "%Y-%m-%d").ok();
        match kind {
            "status" => Status::parse(value).map(Bucket::Status),
            "priority" => Priority::parse(value).map(Bucket::Priority),
            "due" => day().map(Bucket::OpenDue),
            "done" => day().map(Bucket::DoneOn),
            _ => None,
        }
    }

    fn of(facts: &TaskFacts) -> Vec<Bucket> {
        let mut buckets = vec![
            Bucket::Status(facts.status),
            Bucket::Priority(facts.priority),
        ];
        match (facts.status, facts.due_date, facts.completed_on) {
            (Status::Done, _, Some(day)) => buckets.push(Bucket::DoneOn(day)),
            (Status::Done, _, None) => {}
            (_, Some(due), _) => buckets.push(Bucket::OpenDue(due)),
            (_, None, _) => {}
        }
        buckets
    }
}

/// How the board's counters move when a task goes from `before` to `after` (`None`: the
/// task does not exist). Buckets that stay are left out.
pub fn bucket_deltas(before: Option<&TaskFacts>, after: Option<&TaskFacts>) -> Vec<(Bucket, i64)> {
    let mut deltas: BTreeMap<Bucket, i64> = BTreeMap::new();
    for bucket in before.map(Bucket::of).unwrap_or_default() {
        *deltas.entry(bucket).or_default() -= 1;
    }
    for bucket in after.map(Bucket::of).unwrap_or_default() {
        *deltas.entry(bucket).or_default() += 1;
    }
    deltas
        .into_iter()
        .filter(|(_, delta)| *delta != 0)
        .collect()
}

impl Analytics {
    /// Builds the report for `today` from the board's counters.
    pub fn from_buckets(counts: &[(Bucket, u64)], today: NaiveDate) -> Self {
        let week_start = week_start(today);
        let mut by_status = Vec::new();
        let mut by_priority = Vec::new();
        let (mut overdue, mut done_this_week) = (0, 0);
        for (bucket, count) in counts {
            match bucket {
                Bucket::Status(status) => by_status.push((status.as_str().to_owned(), *count)),
                Bucket::Priority(p) => by_priority.push((p.as_str().to_owned(), *count)),
                Bucket::OpenDue(day) if *day < today => overdue += count,
                Bucket::DoneOn(day) if *day >= week_start => done_this_week += count,
                Bucket::OpenDue(_) | Bucket::DoneOn(_) => {}
            }
        }
        Analytics::from_counts(
            &by_status,
            &by_priority,
            overdue,
            done_this_week,
            week_start,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::{new_task, TaskChanges};
    use serde_json::json;

    /// Applies deltas to a counter map the way the board's storage does.
    fn apply(counts: &mut BTreeMap<Bucket, u64>, deltas: Vec<(Bucket, i64)>) {
        for (bucket, delta) in deltas {
            let entry = counts.entry(bucket).or_default();
            *entry = entry
                .checked_add_signed(delta)
                .expect("counters never go negative");
            if *entry == 0 {
                counts.remove(&bucket);
            }
        }
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn buckets_have_stable_keys() {
        for bucket in [
            Bucket::Status(Status::InReview),
            Bucket::Priority(Priority::Critical),
            Bucket::OpenDue(day("2026-02-03")),
            Bucket::DoneOn(day("2026-02-04")),
        ] {
            assert_eq!(Bucket::parse(&bucket.key()), Some(bucket));
        }
        assert_eq!(Bucket::parse("due:someday"), None);
        assert_eq!(Bucket::parse("colour:red"), None);
    }

    #[test]
    fn counters_follow_a_task_through_its_life_and_match_a_recount() {
        let today = day("2026-11-26"); // a Thursday; the week starts on the 23rd
        let mut counts = BTreeMap::new();
        let mut task =
            new_task(json!({"title": "A", "due_date": "2026-11-20", "priority": "high"}));
        let mut facts = TaskFacts::of(&task);
        apply(&mut counts, bucket_deltas(None, Some(&facts)));
        let mut other = new_task(json!({"title": "B", "status": "done"}));
        other.completed_at = Some("2026-11-24T10:00:00.000Z".into());
        apply(
            &mut counts,
            bucket_deltas(None, Some(&TaskFacts::of(&other))),
        );
        let list: Vec<(Bucket, u64)> = counts.iter().map(|(b, n)| (*b, *n)).collect();
        let report = Analytics::from_buckets(&list, today);
        assert_eq!(
            (report.total, report.overdue, report.done_this_week),
            (2, 1, 1)
        );
        assert_eq!(report.by_priority["high"], 1);

        // done: no longer overdue, done this week
        let patch = TaskChanges::for_patch(&json!({"status": "done"})).unwrap();
        task.apply(patch, "2026-11-25T08:00:00.000Z");
        let done = TaskFacts::of(&task);
        apply(&mut counts, bucket_deltas(Some(&facts), Some(&done)));
        facts = done;
        let list: Vec<(Bucket, u64)> = counts.iter().map(|(b, n)| (*b, *n)).collect();
        let report = Analytics::from_buckets(&list, today);
        assert_eq!((report.overdue, report.done_this_week), (0, 2));
        assert_eq!(report.by_status["done"], 2);

        // the next week, nothing was done "this week"; deleting empties every counter
        let next_week: Vec<(Bucket, u64)> = counts.iter().map(|(b, n)| (*b, *n)).collect();
        assert_eq!(
            Analytics::from_buckets(&next_week, day("2026-12-01")).done_this_week,
            0
        );
        apply(&mut counts, bucket_deltas(Some(&facts), None));
        apply(
            &mut counts,
            bucket_deltas(Some(&TaskFacts::of(&other)), None),
        );
        assert!(counts.is_empty(), "{counts:?}");
    }

    #[test]
    fn an_unchanged_bucket_is_not_touched() {
        let task = new_task(json!({"title": "A"}));
        let facts = TaskFacts::of(&task);
        assert!(bucket_deltas(Some(&facts), Some(&facts)).is_empty());
        let mut moved = facts.clone();
        moved.priority = Priority::Low;
        assert_eq!(
            bucket_deltas(Some(&facts), Some(&moved)),
            [
                (Bucket::Priority(Priority::Low), 1),
                (Bucket::Priority(Priority::Medium), -1)
            ]
        );
    }

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
