//! How `GET /api/tasks` reads D1: one statement that walks an index in list order.
//!
//! A page costs the same in a 100,000-task workspace as in a 100-task one when the rows come
//! out of an index already in list order (`created_at DESC, id DESC`) and the walk stops at
//! the page size, with no sort and no scan. Each filter has such an index (migrations 0001
//! and 0004), and the most selective filter present picks it, the **driver**:
//!
//! | driver   | index                                      | other filters  |
//! |----------|--------------------------------------------|----------------|
//! | tag      | `task_tags_by_workspace_tag` (join tasks)  | checked per row |
//! | status   | `tasks_by_workspace_status`                | checked per row |
//! | assignee | `tasks_by_workspace_assignee`              | checked per row |
//! | newest   | `tasks_by_workspace_created`               | (none)          |
//!
//! `q` is never the driver. FTS5 hands back the workspace's matches as a set (see
//! [`crate::search`]), counted up to [`FEW_HITS`] in the same statement: with more, the walk
//! keeps the rows among them (a common word fills a page within a few hundred rows); with
//! fewer, the matches themselves are read and sorted (a rare word costs its few matches, not
//! a walk through the whole workspace). The cursor is a row-value range on
//! the driver's index (`(created_at, id) < (?, ?)`), so page 1,000 starts with a seek, not a
//! walk past 50,000 rows. `INDEXED BY` pins each driver's index: if a migration ever drops
//! it, the statement fails loudly instead of quietly scanning.
//!
//! The e2e plan test runs `EXPLAIN QUERY PLAN` on every shape this module can build and fails
//! on a scan of `tasks` or a sort.

use crate::listing::ListQuery;
use crate::search;

/// A value bound to a statement parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    Text(String),
    Integer(i64),
}

/// The index that walks a list in order (see the table above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Tag,
    Status,
    Assignee,
    Newest,
}

/// One list query, ready to bind: `sql` numbers its parameters `?1`, `?2`, … in `params`
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListStatement {
    pub driver: Driver,
    pub sql: String,
    pub params: Vec<SqlValue>,
}

/// The statement for one page of `query` in `workspace_id`, selecting `columns` (a
/// comma-separated list of `tasks` columns) and one row past the page. `None` when the page
/// is empty without asking: a `q` with no words in it.
pub fn list_statement(
    columns: &str,
    workspace_id: &str,
    query: &ListQuery,
) -> Option<ListStatement> {
    let search = match query.search.as_deref() {
        Some(q) => Some(search::match_expression(workspace_id, q)?),
        None => None,
    };
    let driver = if query.tag.is_some() {
        Driver::Tag
    } else if query.status.is_some() {
        Driver::Status
    } else if query.assignee.is_some() {
        Driver::Assignee
    } else {
        Driver::Newest
    };

    let mut sql = Sql::default();
    let workspace = sql.bind(SqlValue::Text(workspace_id.to_owned()));
    let tag = query
        .tag
        .as_ref()
        .map(|tag| sql.bind(SqlValue::Text(tag.clone())));
    // What every row must be, whichever way the list is walked.
    let mut conditions = vec![format!("tasks.workspace_id = {workspace}")];
    if let Some(status) = query.status {
        let status = sql.bind(SqlValue::Text(status.as_str().to_owned()));
        conditions.push(format!("tasks.status = {status}"));
    }
    if let Some(assignee) = &query.assignee {
        let assignee = sql.bind(SqlValue::Text(assignee.clone()));
        conditions.push(format!("tasks.assignee_id = {assignee}"));
    }
    let after = query.after.as_ref().map(|cursor| {
        let at = sql.bind(SqlValue::Text(cursor.created_at.clone()));
        let id = sql.bind(SqlValue::Text(cursor.id.clone()));
        (at, id)
    });
    let limit = sql.bind(SqlValue::Integer(i64::from(query.limit) + 1));
    let selected = columns
        .split(',')
        .map(|column| format!("tasks.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let walk = Walk {
        selected: &selected,
        workspace: &workspace,
        tag: tag.as_deref(),
        conditions: &conditions,
        after: after.as_ref(),
        limit: &limit,
    };
    sql.text = match search {
        None => walk.index(driver, None),
        Some(expression) => {
            let expression = sql.bind(SqlValue::Text(expression));
            format!(
                "WITH hits(hit) AS MATERIALIZED \
                 (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH {expression}), \
                 many(yes) AS (SELECT count(*) > {FEW_HITS} FROM \
                 (SELECT 1 FROM hits LIMIT {FEW_HITS} + 1)) \
                 SELECT * FROM ({}) UNION ALL SELECT * FROM ({})",
                walk.index(driver, Some(Gate::ManyHits)),
                walk.hits(),
            )
        }
    };
    Some(ListStatement {
        driver,
        sql: sql.text,
        params: sql.params,
    })
}

/// With more matches than this in the workspace, a search walks the list's index and keeps
/// the rows among the matches (about `limit × tasks ÷ matches` rows walked); with this many or
/// fewer, it reads the matches themselves and sorts them (at most this many). Either way a
/// page costs a bounded number of rows, where one walk alone would cost a whole workspace
/// for a rare word, or a sort of every match for a common one.
pub const FEW_HITS: u32 = 1000;

/// The parts of a list query that both ways of reading it share (placeholders, bound).
struct Walk<'a> {
    selected: &'a str,
    workspace: &'a str,
    tag: Option<&'a str>,
    conditions: &'a [String],
    after: Option<&'a (String, String)>,
    limit: &'a str,
}

impl Walk<'_> {
    /// The driver's index, in list order, stopping at the page size. With a search (`gate`),
    /// only when there are many matches, keeping the rows among them.
    fn index(&self, driver: Driver, gate: Option<Gate>) -> String {
        let workspace = self.workspace;
        let mut conditions = Vec::new();
        let (from, order_at, order_id) = match (driver, self.tag) {
            (Driver::Tag, Some(tag)) => {
                conditions.push(format!("by_tag.workspace_id = {workspace}"));
                conditions.push(format!("by_tag.tag = {tag}"));
                (
                    "task_tags AS by_tag INDEXED BY task_tags_by_workspace_tag \
                     JOIN tasks ON tasks.id = by_tag.task_id"
                        .to_owned(),
                    "by_tag.created_at",
                    "by_tag.task_id",
                )
            }
            _ => {
                let index = match driver {
                    Driver::Status => "tasks_by_workspace_status",
                    Driver::Assignee => "tasks_by_workspace_assignee",
                    _ => "tasks_by_workspace_created",
                };
                (
                    format!("tasks INDEXED BY {index}"),
                    "tasks.created_at",
                    "tasks.id",
                )
            }
        };
        conditions.extend(self.conditions.iter().cloned());
        if gate.is_some() {
            conditions.push("tasks.rowid IN hits".to_owned());
        }
        self.finish(&from, conditions, (order_at, order_id), gate)
    }

    /// The search's matches themselves, sorted into list order: for a search with few.
    fn hits(&self) -> String {
        let mut conditions = self.conditions.to_vec();
        if let Some(tag) = self.tag {
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM task_tags WHERE task_tags.task_id = tasks.id \
                 AND task_tags.tag = {tag})"
            ));
        }
        let from = "hits CROSS JOIN tasks ON tasks.rowid = hits.hit";
        let order = ("tasks.created_at", "tasks.id");
        self.finish(from, conditions, order, Some(Gate::FewHits))
    }

    fn finish(
        &self,
        from: &str,
        mut conditions: Vec<String>,
        (at, id): (&str, &str),
        gate: Option<Gate>,
    ) -> String {
        if let Some((after_at, after_id)) = self.after {
            conditions.push(format!("({at}, {id}) < ({after_at}, {after_id})"));
        }
        // The gate goes in the LIMIT, which SQLite works out once before the loop: a LIMIT
        // of 0 skips the walk, where a condition in WHERE would be checked on every row of it.
        let limit = match gate {
            None => self.limit.to_owned(),
            Some(Gate::ManyHits) => {
                format!(
                    "CASE WHEN (SELECT yes FROM many) THEN {} ELSE 0 END",
                    self.limit
                )
            }
            Some(Gate::FewHits) => {
                format!(
                    "CASE WHEN (SELECT yes FROM many) THEN 0 ELSE {} END",
                    self.limit
                )
            }
        };
        format!(
            "SELECT {} FROM {from} WHERE {} ORDER BY {at} DESC, {id} DESC LIMIT {limit}",
            self.selected,
            conditions.join(" AND "),
        )
    }
}

/// Which of a search's two walks runs: the one for many matches or the one for few.
#[derive(Clone, Copy)]
enum Gate {
    ManyHits,
    FewHits,
}

/// A statement being written: text so far and its parameters.
#[derive(Default)]
struct Sql {
    text: String,
    params: Vec<SqlValue>,
}

impl Sql {
    /// Adds a parameter and returns its placeholder.
    fn bind(&mut self, value: SqlValue) -> String {
        self.params.push(value);
        format!("?{}", self.params.len())
    }
}

/// Every shape [`list_statement`] builds: each filter on or off, with and without a cursor
/// (32 queries). The plan test explains each one.
pub fn every_shape() -> Vec<ListQuery> {
    let mut shapes = Vec::new();
    for mask in 0..32u8 {
        let on = |bit: u8| mask & (1 << bit) != 0;
        let mut pairs = vec![("limit", "50".to_owned())];
        if on(0) {
            pairs.push(("status", "todo".to_owned()));
        }
        if on(1) {
            pairs.push(("assignee", "someone".to_owned()));
        }
        if on(2) {
            pairs.push(("tag", "bug".to_owned()));
        }
        if on(3) {
            pairs.push(("q", "launch".to_owned()));
        }
        if on(4) {
            let cursor = crate::listing::Cursor {
                created_at: "2026-01-01T00:00:00.000Z".to_owned(),
                id: "00000000-0000-4000-8000-000000000000".to_owned(),
            };
            pairs.push(("cursor", cursor.encode()));
        }
        let query = ListQuery::parse(pairs.iter().map(|(k, v)| (*k, v.as_str())))
            .expect("every shape is a valid query");
        shapes.push(query);
    }
    shapes
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: &str = "id, title, created_at";

    fn statement(pairs: &[(&str, &str)]) -> ListStatement {
        let query = ListQuery::parse(pairs.iter().copied()).unwrap();
        list_statement(COLUMNS, "ws", &query).unwrap()
    }

    #[test]
    fn no_filter_walks_the_newest_first_index() {
        let s = statement(&[]);
        assert_eq!(s.driver, Driver::Newest);
        assert_eq!(
            s.sql,
            "SELECT tasks.id, tasks.title, tasks.created_at FROM tasks INDEXED BY \
             tasks_by_workspace_created WHERE tasks.workspace_id = ?1 \
             ORDER BY tasks.created_at DESC, tasks.id DESC LIMIT ?2"
        );
        assert_eq!(
            s.params,
            [SqlValue::Text("ws".into()), SqlValue::Integer(51)]
        );
    }

    #[test]
    fn the_most_selective_filter_drives() {
        assert_eq!(statement(&[("assignee", "a")]).driver, Driver::Assignee);
        assert_eq!(
            statement(&[("assignee", "a"), ("status", "done")]).driver,
            Driver::Status
        );
        assert_eq!(
            statement(&[("assignee", "a"), ("status", "done"), ("tag", "t")]).driver,
            Driver::Tag
        );
        assert_eq!(statement(&[("q", "x")]).driver, Driver::Newest);
    }

    #[test]
    fn a_tag_walk_orders_and_pages_by_the_tag_index() {
        let query = ListQuery::parse([("tag", "bug"), ("status", "todo")]).unwrap();
        let mut query = query;
        query.after = Some(crate::listing::Cursor {
            created_at: "t".into(),
            id: "i".into(),
        });
        let s = list_statement(COLUMNS, "ws", &query).unwrap();
        assert!(s
            .sql
            .contains("FROM task_tags AS by_tag INDEXED BY task_tags_by_workspace_tag"));
        assert!(s
            .sql
            .contains("by_tag.workspace_id = ?1 AND by_tag.tag = ?2"));
        assert!(
            s.sql.contains("tasks.workspace_id = ?1"),
            "the tenant check stays"
        );
        assert!(s.sql.contains("tasks.status = ?3"));
        assert!(s
            .sql
            .contains("(by_tag.created_at, by_tag.task_id) < (?4, ?5)"));
        assert!(s
            .sql
            .ends_with("ORDER BY by_tag.created_at DESC, by_tag.task_id DESC LIMIT ?6"));
        assert_eq!(s.params.len(), 6);
    }

    #[test]
    fn search_is_a_bound_match_never_spliced_text() {
        let s = statement(&[("q", "x'); DROP TABLE tasks; --")]);
        assert!(!s.sql.contains("DROP"));
        assert!(s.sql.contains(
            "WITH hits(hit) AS MATERIALIZED (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ?3)"
        ));
        assert_eq!(
            s.params[2],
            SqlValue::Text(
                "search_scope : \"7773\" AND {title description tags} : \"x DROP TABLE tasks\"*"
                    .into()
            )
        );
    }

    #[test]
    fn a_search_walks_the_index_for_many_matches_and_sorts_few() {
        let s = statement(&[("q", "launch"), ("tag", "bug"), ("status", "todo")]);
        let (walk, hits) = s.sql.split_once(" UNION ALL ").unwrap();
        // many: the tag index in list order, keeping the rows among the matches
        assert!(walk.contains("FROM task_tags AS by_tag INDEXED BY task_tags_by_workspace_tag"));
        assert!(walk.contains("tasks.rowid IN hits"));
        assert!(walk.ends_with("LIMIT CASE WHEN (SELECT yes FROM many) THEN ?4 ELSE 0 END)"));
        // few: the matches, every other filter checked on each, sorted into list order
        assert!(hits.contains("FROM hits CROSS JOIN tasks ON tasks.rowid = hits.hit"));
        assert!(hits.contains("tasks.workspace_id = ?1"));
        assert!(hits.contains("task_tags.tag = ?2"));
        assert!(hits.contains("tasks.status = ?3"));
        assert!(hits.contains(
            "ORDER BY tasks.created_at DESC, tasks.id DESC \
             LIMIT CASE WHEN (SELECT yes FROM many) THEN 0 ELSE ?4 END"
        ));
        assert!(s.sql.contains(&format!("count(*) > {FEW_HITS}")));
    }

    #[test]
    fn a_search_without_words_reads_nothing() {
        let query = ListQuery::parse([("q", "\"*()")]).unwrap();
        assert_eq!(list_statement(COLUMNS, "ws", &query), None);
    }

    #[test]
    fn every_shape_builds_with_numbered_parameters() {
        let shapes = every_shape();
        assert_eq!(shapes.len(), 32);
        for query in &shapes {
            let s = list_statement(COLUMNS, "ws", query).unwrap();
            for n in 1..=s.params.len() {
                assert!(s.sql.contains(&format!("?{n}")), "{}", s.sql);
            }
            assert!(!s.sql.contains(&format!("?{}", s.params.len() + 1)));
        }
    }
}
