//! How `GET /api/tasks` reads D1: one statement that walks an index in list order.
//!
//! A page costs the same in a 100,000-task workspace as in a 100-task one when the rows come
//! out of an index already in list order and the walk stops at the page size, with no sort
//! and no scan.
//!
//! **Without `q`** the list is in `created_at` order (`created_at DESC, id DESC`). Each
//! filter has an index in that order (migrations 0001 and 0004), and the most selective
//! filter present picks it, the **driver**:
//!
//! | driver   | index                                      | other filters  |
//! |----------|--------------------------------------------|----------------|
//! | tag      | `task_tags_by_workspace_tag` (join tasks)  | checked per row |
//! | status   | `tasks_by_workspace_status`                | checked per row |
//! | assignee | `tasks_by_workspace_assignee`              | checked per row |
//! | newest   | `tasks_by_workspace_created`               | (none)          |
//!
//! The cursor is a row-value range on the driver's index (`(created_at, id) < (?, ?)`), so
//! page 1,000 starts with a seek, not a walk past 50,000 rows.
//!
//! **With `q`** the list is in insertion order, newest first (see
//! [`crate::listing::ListOrder`]): FTS5 yields a workspace's matches (see [`crate::search`])
//! by rowid, `ORDER BY rowid DESC` walks them backwards without a sort, and `tasks` is read
//! by rowid for each, so a page of a common word reads about a page of matches and a rare
//! word its few. The cursor is a rowid bound that FTS5 seeks to (`rowid < ?`). Other filters
//! are checked per match, which costs `limit ÷ (share of matches that pass)`; when the
//! driver's filter holds at most [`FEW_FILTERED`] tasks (an assignee with a handful, a rare
//! tag), those are read instead, kept if among the matches and sorted by rowid: that reads
//! every match once (as every search did before), where walking the matches could read
//! each of them twice and never fill the page.
//!
//! `INDEXED BY` pins each driver's index: if a migration ever drops it, the statement fails
//! loudly instead of quietly scanning. The e2e plan test runs `EXPLAIN QUERY PLAN` on every
//! shape this module can build and fails on a scan of `tasks` or an unexpected sort.

use crate::listing::{ListQuery, Start};
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

impl Driver {
    /// The most selective filter present.
    fn of(query: &ListQuery) -> Driver {
        if query.tag.is_some() {
            Driver::Tag
        } else if query.status.is_some() {
            Driver::Status
        } else if query.assignee.is_some() {
            Driver::Assignee
        } else {
            Driver::Newest
        }
    }
}

/// One list query, ready to bind: `sql` numbers its parameters `?1`, `?2`, … in `params`
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListStatement {
    pub driver: Driver,
    pub sql: String,
    pub params: Vec<SqlValue>,
}

/// The column every list statement adds to `columns`: the row's rowid, which a search is
/// ordered by and its cursor carries.
pub const SEQ_COLUMN: &str = "seq";

/// The statement for one page of `query` in `workspace_id`, selecting `columns` (a
/// comma-separated list of `tasks` columns) and [`SEQ_COLUMN`], and one row past the page.
/// `None` when the page is empty without asking: a `q` with no words in it.
pub fn list_statement(
    columns: &str,
    workspace_id: &str,
    query: &ListQuery,
) -> Option<ListStatement> {
    let search = match query.search.as_deref() {
        Some(q) => Some(search::match_expression(workspace_id, q)?),
        None => None,
    };
    let driver = Driver::of(query);
    let mut sql = Sql::default();
    let workspace = sql.bind(SqlValue::Text(workspace_id.to_owned()));
    let tag = query
        .tag
        .as_ref()
        .map(|tag| sql.bind(SqlValue::Text(tag.clone())));
    let status = query
        .status
        .map(|status| sql.bind(SqlValue::Text(status.as_str().to_owned())));
    let assignee = query
        .assignee
        .as_ref()
        .map(|assignee| sql.bind(SqlValue::Text(assignee.clone())));
    let start = start_bound(&mut sql, &workspace, query);
    let limit = sql.bind(SqlValue::Integer(i64::from(query.limit) + 1));
    let selected = columns
        .split(',')
        .map(|column| format!("tasks.{}", column.trim()))
        .chain([format!("tasks.rowid AS {SEQ_COLUMN}")])
        .collect::<Vec<_>>()
        .join(", ");
    let page = Page {
        selected,
        workspace,
        tag,
        status,
        assignee,
        start,
        limit,
    };
    sql.text = match search {
        None => page.created_walk(driver),
        Some(expression) => {
            let expression = sql.bind(SqlValue::Text(expression));
            page.search(driver, &expression)
        }
    };
    Some(ListStatement {
        driver,
        sql: sql.text,
        params: sql.params,
    })
}

/// Where the page starts, bound: a position in `created_at` order for a list, a rowid for
/// a search (looked up from `(created_at, id)` for a cursor that has none).
fn start_bound(sql: &mut Sql, workspace: &str, query: &ListQuery) -> Option<Bound> {
    match query.start() {
        Start::First => None,
        Start::AfterCreated { created_at, id } => {
            let (at, id) = sql.bind_position(created_at, id);
            Some(Bound::CreatedBefore(at, id))
        }
        // D1 binds every number as a REAL, and FTS5 seeks to a rowid bound only when it is
        // an INTEGER (otherwise it walks down from the newest match, page after page).
        Start::BeforeSeq(seq) => {
            let seq = sql.bind(SqlValue::Integer(seq));
            Some(Bound::SeqBelow(format!("CAST({seq} AS INTEGER)")))
        }
        Start::AtFirstCreatedAfter { created_at, id } => {
            let (at, id) = sql.bind_position(created_at, id);
            Some(Bound::SeqAtMost(format!(
                "(SELECT older.rowid FROM tasks AS older INDEXED BY tasks_by_workspace_created \
                 WHERE older.workspace_id = {workspace} \
                 AND (older.created_at, older.id) < ({at}, {id}) \
                 ORDER BY older.created_at DESC, older.id DESC LIMIT 1)"
            )))
        }
    }
}

/// A search with a filter whose driver holds more tasks than this walks the matches and
/// checks the filter on each; with this many or fewer, it reads the filter's tasks, keeps
/// those among the matches and sorts them (at most this many). Walking the matches alone
/// would read every match of a common word, twice over (the index and the task), when the
/// filter keeps almost none of them.
pub const FEW_FILTERED: u32 = 1000;

/// Where a page starts, as a condition (placeholders, bound).
enum Bound {
    /// `(created_at, id) < (?, ?)` on the driver's index.
    CreatedBefore(String, String),
    /// `rowid < CAST(? AS INTEGER)`.
    SeqBelow(String),
    /// `rowid <= (…)`: at most this rowid (a subquery).
    SeqAtMost(String),
}

/// What every way of reading a page shares (placeholders, bound).
struct Page {
    selected: String,
    workspace: String,
    tag: Option<String>,
    status: Option<String>,
    assignee: Option<String>,
    start: Option<Bound>,
    limit: String,
}

impl Page {
    /// What every row must be, however the list is walked: the tenant and the filters that
    /// live on `tasks`.
    fn task_conditions(&self) -> Vec<String> {
        let mut conditions = vec![format!("tasks.workspace_id = {}", self.workspace)];
        if let Some(status) = &self.status {
            conditions.push(format!("tasks.status = {status}"));
        }
        if let Some(assignee) = &self.assignee {
            conditions.push(format!("tasks.assignee_id = {assignee}"));
        }
        conditions
    }

    /// The rows of the driver's index that match its own filter, in list order, and that
    /// order's columns (`FROM` text, conditions, created_at column, id column).
    fn driver_source(&self, driver: Driver) -> (String, Vec<String>, &'static str, &'static str) {
        let workspace = &self.workspace;
        match (driver, &self.tag) {
            (Driver::Tag, Some(tag)) => (
                "task_tags AS by_tag INDEXED BY task_tags_by_workspace_tag \
                 CROSS JOIN tasks ON tasks.id = by_tag.task_id"
                    .to_owned(),
                vec![
                    format!("by_tag.workspace_id = {workspace}"),
                    format!("by_tag.tag = {tag}"),
                ],
                "by_tag.created_at",
                "by_tag.task_id",
            ),
            _ => {
                let index = match driver {
                    Driver::Status => "tasks_by_workspace_status",
                    Driver::Assignee => "tasks_by_workspace_assignee",
                    _ => "tasks_by_workspace_created",
                };
                (
                    format!("tasks INDEXED BY {index}"),
                    Vec::new(),
                    "tasks.created_at",
                    "tasks.id",
                )
            }
        }
    }

    /// A list without `q`: the driver's index in `created_at` order, stopping at the page
    /// size.
    fn created_walk(&self, driver: Driver) -> String {
        let (from, mut conditions, at, id) = self.driver_source(driver);
        conditions.extend(self.task_conditions());
        if let Some(Bound::CreatedBefore(after_at, after_id)) = &self.start {
            conditions.push(format!("({at}, {id}) < ({after_at}, {after_id})"));
        }
        format!(
            "SELECT {} FROM {from} WHERE {} ORDER BY {at} DESC, {id} DESC LIMIT {}",
            self.selected,
            conditions.join(" AND "),
            self.limit,
        )
    }

    /// A search: its matches newest first; with a filter, that or (when the driver's filter
    /// holds few tasks) those tasks among the matches, whichever the count picks.
    fn search(&self, driver: Driver, expression: &str) -> String {
        if driver == Driver::Newest {
            return self.matches(expression, None);
        }
        format!(
            "WITH hits(hit) AS MATERIALIZED \
             (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH {expression}), \
             few(yes) AS (SELECT count(*) <= {FEW_FILTERED} FROM \
             (SELECT 1 FROM {} LIMIT {FEW_FILTERED} + 1)) \
             SELECT * FROM ({}) UNION ALL SELECT * FROM ({})",
            self.driver_rows(driver),
            self.matches(expression, Some(Gate::ManyFiltered)),
            self.filtered_matches(driver),
        )
    }

    /// The rowid condition where a search's page starts, on `rowid` (a column).
    fn seq_start(&self, rowid: &str) -> Option<String> {
        match &self.start {
            Some(Bound::SeqBelow(seq)) => Some(format!("{rowid} < {seq}")),
            Some(Bound::SeqAtMost(seq)) => Some(format!("{rowid} <= {seq}")),
            _ => None,
        }
    }

    /// The tag filter, checked on one task (its primary key finds the row).
    fn tag_check(&self) -> Option<String> {
        self.tag.as_ref().map(|tag| {
            format!(
                "EXISTS (SELECT 1 FROM task_tags WHERE task_tags.task_id = tasks.id \
                 AND task_tags.tag = {tag})"
            )
        })
    }

    /// A search's matches, newest first as FTS5 yields them, each task read by rowid and
    /// checked against the filters, stopping at the page size (with a filter, only when the
    /// driver's filter holds many tasks: `gate`).
    fn matches(&self, expression: &str, gate: Option<Gate>) -> String {
        let mut conditions = vec![format!("tasks_fts MATCH {expression}")];
        conditions.extend(self.task_conditions());
        conditions.extend(self.tag_check());
        conditions.extend(self.seq_start("tasks_fts.rowid"));
        format!(
            "SELECT {} FROM tasks_fts CROSS JOIN tasks ON tasks.rowid = tasks_fts.rowid \
             WHERE {} ORDER BY tasks_fts.rowid DESC LIMIT {}",
            self.selected,
            conditions.join(" AND "),
            self.gated_limit(gate),
        )
    }

    /// A search with a filter that holds few tasks: those among the matches (`hits`, every
    /// match once: checking each task with its own FTS5 query would rebuild a prefix's
    /// whole doclist per task), sorted newest first by rowid. The `+` keeps SQLite from
    /// looking each task up once per match instead. (A tag is always the driver when
    /// present, so its index already checks it.)
    fn filtered_matches(&self, driver: Driver) -> String {
        let (from, mut conditions, _, _) = self.driver_source(driver);
        conditions.extend(self.task_conditions());
        conditions.extend(self.seq_start("tasks.rowid"));
        conditions.push("+tasks.rowid IN hits".to_owned());
        format!(
            "SELECT {} FROM {from} WHERE {} ORDER BY tasks.rowid DESC LIMIT {}",
            self.selected,
            conditions.join(" AND "),
            self.gated_limit(Some(Gate::FewFiltered)),
        )
    }

    /// The driver's own filter on its index alone (counted to pick the way to read).
    fn driver_rows(&self, driver: Driver) -> String {
        let workspace = &self.workspace;
        let (index, column, value) = match driver {
            Driver::Tag => (
                "task_tags INDEXED BY task_tags_by_workspace_tag",
                "tag",
                &self.tag,
            ),
            Driver::Status => (
                "tasks INDEXED BY tasks_by_workspace_status",
                "status",
                &self.status,
            ),
            _ => (
                "tasks INDEXED BY tasks_by_workspace_assignee",
                "assignee_id",
                &self.assignee,
            ),
        };
        let value = value.as_deref().unwrap_or("NULL");
        format!("{index} WHERE workspace_id = {workspace} AND {column} = {value}")
    }

    /// The page size, or, for one of a search's two ways of reading, the page size only when
    /// it is the one that runs. The gate goes in the LIMIT, which SQLite works out once
    /// before the loop: a LIMIT of 0 skips the walk, where a condition in WHERE would be
    /// checked on every row of it.
    fn gated_limit(&self, gate: Option<Gate>) -> String {
        let limit = &self.limit;
        match gate {
            None => limit.clone(),
            Some(Gate::ManyFiltered) => {
                format!("CASE WHEN (SELECT yes FROM few) THEN 0 ELSE {limit} END")
            }
            Some(Gate::FewFiltered) => {
                format!("CASE WHEN (SELECT yes FROM few) THEN {limit} ELSE 0 END")
            }
        }
    }
}

/// Which of a filtered search's two ways of reading runs.
#[derive(Clone, Copy)]
enum Gate {
    ManyFiltered,
    FewFiltered,
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

    /// Binds a `(created_at, id)` position.
    fn bind_position(&mut self, created_at: &str, id: &str) -> (String, String) {
        let at = self.bind(SqlValue::Text(created_at.to_owned()));
        let id = self.bind(SqlValue::Text(id.to_owned()));
        (at, id)
    }
}

/// Every shape [`list_statement`] builds: each filter on or off, with no cursor, a cursor
/// and a cursor from before `seq` (48 queries). The plan test explains each one.
pub fn every_shape() -> Vec<ListQuery> {
    let mut shapes = Vec::new();
    for mask in 0..16u8 {
        for seq in [None, Some(None), Some(Some(70_000))] {
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
            if let Some(seq) = seq {
                let cursor = crate::listing::Cursor {
                    created_at: "2026-01-01T00:00:00.000Z".to_owned(),
                    id: "00000000-0000-4000-8000-000000000000".to_owned(),
                    seq,
                };
                pairs.push(("cursor", cursor.encode()));
            }
            let query = ListQuery::parse(pairs.iter().map(|(k, v)| (*k, v.as_str())))
                .expect("every shape is a valid query");
            shapes.push(query);
        }
    }
    shapes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::Cursor;

    const COLUMNS: &str = "id, title, created_at";

    fn statement(pairs: &[(&str, &str)]) -> ListStatement {
        let query = ListQuery::parse(pairs.iter().copied()).unwrap();
        list_statement(COLUMNS, "ws", &query).unwrap()
    }

    fn cursor(seq: Option<i64>) -> String {
        Cursor {
            created_at: "t".into(),
            id: "i".into(),
            seq,
        }
        .encode()
    }

    #[test]
    fn no_filter_walks_the_newest_first_index() {
        let s = statement(&[]);
        assert_eq!(s.driver, Driver::Newest);
        assert_eq!(
            s.sql,
            "SELECT tasks.id, tasks.title, tasks.created_at, tasks.rowid AS seq FROM tasks \
             INDEXED BY tasks_by_workspace_created WHERE tasks.workspace_id = ?1 \
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
        let s = statement(&[
            ("tag", "bug"),
            ("status", "todo"),
            ("cursor", &cursor(Some(9))),
        ]);
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
        // without q the seq plays no part
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
        assert!(s.sql.contains("WHERE tasks_fts MATCH ?3"));
        assert_eq!(
            s.params[2],
            SqlValue::Text(
                "search_scope : \"7773\" AND {title description tags} : \"x DROP TABLE tasks\"*"
                    .into()
            )
        );
    }

    #[test]
    fn a_search_streams_the_newest_matches_without_a_sort() {
        let s = statement(&[("q", "review")]);
        assert_eq!(
            s.sql,
            "SELECT tasks.id, tasks.title, tasks.created_at, tasks.rowid AS seq \
             FROM tasks_fts CROSS JOIN tasks ON tasks.rowid = tasks_fts.rowid \
             WHERE tasks_fts MATCH ?3 AND tasks.workspace_id = ?1 \
             ORDER BY tasks_fts.rowid DESC LIMIT ?2"
        );
    }

    #[test]
    fn a_search_pages_by_seq() {
        let s = statement(&[("q", "review"), ("cursor", &cursor(Some(41)))]);
        assert!(
            s.sql
                .contains("AND tasks_fts.rowid < CAST(?2 AS INTEGER) ORDER BY"),
            "{}",
            s.sql
        );
        assert_eq!(s.params[1], SqlValue::Integer(41));
        assert_eq!(s.params.len(), 4);
    }

    #[test]
    fn a_search_from_a_cursor_without_seq_starts_at_the_next_older_task() {
        let s = statement(&[("q", "review"), ("cursor", &cursor(None))]);
        assert!(
            s.sql.contains(
                "AND tasks_fts.rowid <= (SELECT older.rowid FROM tasks AS older \
                 INDEXED BY tasks_by_workspace_created WHERE older.workspace_id = ?1 \
                 AND (older.created_at, older.id) < (?2, ?3) \
                 ORDER BY older.created_at DESC, older.id DESC LIMIT 1)"
            ),
            "{}",
            s.sql
        );
        assert_eq!(s.params[1], SqlValue::Text("t".into()));
        assert_eq!(s.params[2], SqlValue::Text("i".into()));
    }

    #[test]
    fn a_filtered_search_streams_for_a_large_filter_and_reads_a_small_one() {
        let s = statement(&[
            ("q", "launch"),
            ("tag", "bug"),
            ("status", "todo"),
            ("cursor", &cursor(Some(7))),
        ]);
        let (gate, rest) = s.sql.split_once(" SELECT * FROM (").unwrap();
        let (stream, filtered) = rest.split_once(" UNION ALL ").unwrap();
        // the matches as a set, for a small filter; the gate counts the driver's filter on
        // its index, up to one past FEW_FILTERED
        assert_eq!(
            gate,
            format!(
                "WITH hits(hit) AS MATERIALIZED (SELECT rowid FROM tasks_fts WHERE \
                 tasks_fts MATCH ?6), few(yes) AS (SELECT count(*) <= {FEW_FILTERED} FROM \
                 (SELECT 1 FROM task_tags INDEXED BY task_tags_by_workspace_tag WHERE \
                 workspace_id = ?1 AND tag = ?2 LIMIT {FEW_FILTERED} + 1))"
            )
        );
        // many: the matches newest first, every filter checked on each
        assert!(stream.contains("FROM tasks_fts CROSS JOIN tasks"));
        assert!(stream.contains("tasks.workspace_id = ?1"));
        assert!(stream.contains("task_tags.tag = ?2"));
        assert!(stream.contains("tasks.status = ?3"));
        assert!(stream.contains("tasks_fts.rowid < CAST(?4 AS INTEGER)"));
        assert!(stream.ends_with(
            "ORDER BY tasks_fts.rowid DESC LIMIT CASE WHEN (SELECT yes FROM few) THEN 0 ELSE ?5 END)"
        ));
        // few: the filter's tasks, each checked against the search, sorted by rowid
        assert!(filtered.contains("FROM task_tags AS by_tag INDEXED BY task_tags_by_workspace_tag"));
        assert!(filtered.contains("by_tag.workspace_id = ?1 AND by_tag.tag = ?2"));
        assert!(filtered.contains("tasks.workspace_id = ?1"));
        assert!(filtered.contains("tasks.status = ?3"));
        assert!(filtered.contains("tasks.rowid < CAST(?4 AS INTEGER)"));
        assert!(filtered.contains("+tasks.rowid IN hits"));
        assert!(filtered.ends_with(
            "ORDER BY tasks.rowid DESC LIMIT CASE WHEN (SELECT yes FROM few) THEN ?5 ELSE 0 END)"
        ));
    }

    #[test]
    fn a_search_counts_the_filter_that_drives() {
        let gate = |pairs: &[(&str, &str)]| {
            let s = statement(pairs);
            let (_, few) = s.sql.split_once("few(yes)").unwrap();
            few.split_once(" LIMIT ").unwrap().0.to_owned()
        };
        assert!(gate(&[("q", "x"), ("status", "done"), ("assignee", "a")])
            .contains("FROM tasks INDEXED BY tasks_by_workspace_status WHERE workspace_id = ?1 AND status = ?2"));
        assert!(gate(&[("q", "x"), ("assignee", "a")]).contains(
            "FROM tasks INDEXED BY tasks_by_workspace_assignee WHERE workspace_id = ?1 \
             AND assignee_id = ?2"
        ));
    }

    #[test]
    fn a_search_without_words_reads_nothing() {
        let query = ListQuery::parse([("q", "\"*()")]).unwrap();
        assert_eq!(list_statement(COLUMNS, "ws", &query), None);
    }

    #[test]
    fn every_shape_builds_scoped_with_numbered_parameters() {
        let shapes = every_shape();
        assert_eq!(shapes.len(), 48);
        for query in &shapes {
            let s = list_statement(COLUMNS, "ws", query).unwrap();
            for n in 1..=s.params.len() {
                assert!(s.sql.contains(&format!("?{n}")), "{}", s.sql);
            }
            assert!(!s.sql.contains(&format!("?{}", s.params.len() + 1)));
            assert!(s.sql.contains("tasks.workspace_id = ?1"), "{}", s.sql);
            assert!(s.sql.contains("tasks.rowid AS seq"), "{}", s.sql);
        }
    }
}
