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
//! `q` is never the driver: FTS5 hands back the workspace's matching rows as a set (see
//! [`crate::search`]) and the walk keeps the rows in it. The cursor is a row-value range on
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
    let selected = columns
        .split(',')
        .map(|column| format!("tasks.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    // The table whose (created_at, id) the driver's index is ordered by.
    let (order_at, order_id) = match driver {
        Driver::Tag => ("by_tag.created_at", "by_tag.task_id"),
        _ => ("tasks.created_at", "tasks.id"),
    };
    let from = match driver {
        Driver::Tag => {
            let tag = sql.bind(SqlValue::Text(query.tag.clone().unwrap_or_default()));
            format!(
                "task_tags AS by_tag INDEXED BY task_tags_by_workspace_tag \
                 JOIN tasks ON tasks.id = by_tag.task_id \
                 WHERE by_tag.workspace_id = {workspace} AND by_tag.tag = {tag} \
                 AND tasks.workspace_id = {workspace}"
            )
        }
        Driver::Status => {
            "tasks INDEXED BY tasks_by_workspace_status WHERE tasks.workspace_id = ".to_owned()
                + &workspace
        }
        Driver::Assignee => {
            "tasks INDEXED BY tasks_by_workspace_assignee WHERE tasks.workspace_id = ".to_owned()
                + &workspace
        }
        Driver::Newest => {
            "tasks INDEXED BY tasks_by_workspace_created WHERE tasks.workspace_id = ".to_owned()
                + &workspace
        }
    };
    sql.text = format!("SELECT {selected} FROM {from}");
    if let Some(status) = query.status {
        let status = sql.bind(SqlValue::Text(status.as_str().to_owned()));
        sql.push(&format!("tasks.status = {status}"));
    }
    if let Some(assignee) = &query.assignee {
        let assignee = sql.bind(SqlValue::Text(assignee.clone()));
        sql.push(&format!("tasks.assignee_id = {assignee}"));
    }
    if let Some(expression) = search {
        let expression = sql.bind(SqlValue::Text(expression));
        sql.push(&format!(
            "tasks.rowid IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH {expression})"
        ));
    }
    if let Some(after) = &query.after {
        let at = sql.bind(SqlValue::Text(after.created_at.clone()));
        let id = sql.bind(SqlValue::Text(after.id.clone()));
        sql.push(&format!("({order_at}, {order_id}) < ({at}, {id})"));
    }
    let limit = sql.bind(SqlValue::Integer(i64::from(query.limit) + 1));
    sql.text += &format!(" ORDER BY {order_at} DESC, {order_id} DESC LIMIT {limit}");
    Some(ListStatement {
        driver,
        sql: sql.text,
        params: sql.params,
    })
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

    fn push(&mut self, condition: &str) {
        self.text += " AND ";
        self.text += condition;
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
        assert!(s
            .sql
            .contains("tasks.rowid IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ?2)"));
        assert_eq!(
            s.params[1],
            SqlValue::Text(
                "search_scope : \"7773\" AND {title description tags} : \"x DROP TABLE tasks\"*"
                    .into()
            )
        );
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
