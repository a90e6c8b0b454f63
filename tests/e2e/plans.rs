//! Query plans and migrated data, on the real local D1 (workerd's SQLite, through
//! `wrangler d1 execute`), in a scratch database of its own:
//!
//! - every list shape `GET /api/tasks` can build, and every fixed statement the store runs,
//!   is planned on an index: no scan of `tasks`, `task_tags` or `task_changes`, and no sort
//!   for a list (the walk stops at the page size; a search walks FTS5 in rowid order). Checked before and after `ANALYZE`, so
//!   neither the planner's defaults nor real statistics can turn a list into a scan;
//! - migration 0004 indexes the tasks that were there before it: their tags are in
//!   `task_tags` and their words in the search index, and the real list statement finds
//!   them by tag and by `q`.

use std::path::Path;

use hero_core::list_plan::{self, Driver, ListStatement, SqlValue};
use hero_core::listing::ListQuery;
use hero_testkit::wrangler::{d1_execute, project_root, scratch_dir};
use serde_json::Value;

use crate::Ctx;

register! {
    Shared: [
        every_query_is_planned_on_an_index,
        migration_0004_indexes_the_tasks_already_there,
    ],
}

const WORKSPACE: &str = "plan-ws";

/// Runs `sql` (one or more statements) and returns each statement's rows.
fn run(state: &Path, sql: &str) -> Vec<Vec<Value>> {
    let file = state.join(format!("{}.sql", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, sql).expect("write SQL file");
    d1_execute(state, &file)
}

fn literal(value: &SqlValue) -> String {
    match value {
        SqlValue::Text(text) => format!("'{}'", text.replace('\'', "''")),
        SqlValue::Integer(n) => n.to_string(),
    }
}

/// The statement with its parameters written in as literals: `wrangler d1 execute` has no
/// way to bind them, and EXPLAIN plans a literal as it would a bound value.
fn inlined(statement: &ListStatement) -> String {
    let mut sql = statement.sql.clone();
    // Highest first, so ?1 does not eat the start of ?10.
    for (index, value) in statement.params.iter().enumerate().rev() {
        sql = sql.replace(&format!("?{}", index + 1), &literal(value));
    }
    sql
}

/// A fixed statement with every parameter as a text literal (enough to plan it).
fn inlined_fixed(sql: &str) -> String {
    let mut sql = sql.to_owned();
    for index in (1..=20).rev() {
        sql = sql.replace(&format!("?{index}"), "'x'");
    }
    sql
}

fn list_statement(query: &ListQuery) -> ListStatement {
    list_plan::list_statement(hero_tasks::store::TASK_COLUMNS, WORKSPACE, query)
        .expect("every shape has words to search")
}

/// A state directory with the first `upto` migrations applied, by hand: the migrations
/// table is not needed to read plans.
fn database_with_migrations(upto: usize) -> std::path::PathBuf {
    let state = scratch_dir("hero-plans");
    let mut files: Vec<_> = std::fs::read_dir(project_root().join("migrations"))
        .expect("migrations dir")
        .map(|entry| entry.expect("migration").path())
        .collect();
    files.sort();
    for file in files.iter().take(upto) {
        d1_execute(&state, file);
    }
    state
}

fn seed(state: &Path, tasks: usize) {
    let mut sql = String::new();
    for n in 0..tasks {
        let tags = match n % 3 {
            0 => r#"["bug","ui"]"#,
            1 => r#"["docs"]"#,
            _ => "[]",
        };
        sql += &format!(
            "INSERT INTO tasks (id, workspace_id, title, description, status, assignee_id, \
             tags, created_by, created_at, updated_at) VALUES ('t{n:05}', '{WORKSPACE}', \
             'Launch step {n}', 'plan {n}', '{}', '{}', '{tags}', 'seed', \
             '2026-01-01T00:00:{:02}.{:03}Z', '2026-01-01T00:00:00.000Z');\n",
            ["todo", "done"][n % 2],
            ["ana", "bob"][n % 2],
            n / 1000,
            n % 1000,
        );
    }
    run(state, &sql);
}

/// Every plan line of `sql`, as SQLite words them ("SEARCH tasks USING INDEX …").
fn plan(state: &Path, statements: &[String]) -> Vec<Vec<String>> {
    let sql: String = statements
        .iter()
        .map(|sql| format!("EXPLAIN QUERY PLAN {sql};\n"))
        .collect();
    run(state, &sql)
        .into_iter()
        .map(|rows| {
            rows.iter()
                .map(|row| row["detail"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .collect()
}

fn is_table_scan(line: &str) -> bool {
    ["tasks", "task_tags", "task_changes"]
        .iter()
        .any(|table| line == format!("SCAN {table}") || line.starts_with(&format!("SCAN {table} ")))
}

fn assert_plans(state: &Path, when: &str) {
    let shapes = list_plan::every_shape();
    let lists: Vec<String> = shapes
        .iter()
        .map(|query| inlined(&list_statement(query)))
        .collect();
    for ((sql, lines), query) in lists.iter().zip(plan(state, &lists)).zip(&shapes) {
        assert!(!lines.is_empty(), "no plan for {sql}");
        assert!(
            !lines.iter().any(|line| is_table_scan(line)),
            "{when}: a list scans a table\n{sql}\n{lines:#?}"
        );
        // A search with a filter of few tasks sorts those (at most list_plan::FEW_FILTERED);
        // nothing else may sort: a search streams its matches in rowid order.
        let sorts = lines
            .iter()
            .filter(|line| line.contains("TEMP B-TREE"))
            .count();
        let filtered_search =
            query.search.is_some() && list_statement(query).driver != Driver::Newest;
        let allowed = usize::from(filtered_search);
        assert!(
            sorts <= allowed,
            "{when}: a list sorts instead of walking an index in order\n{sql}\n{lines:#?}"
        );
    }
    let fixed: Vec<String> = hero_tasks::store::fixed_statements()
        .into_iter()
        .map(inlined_fixed)
        .collect();
    for (sql, lines) in fixed.iter().zip(plan(state, &fixed)) {
        assert!(
            !lines.iter().any(|line| is_table_scan(line)),
            "{when}: a statement scans a table\n{sql}\n{lines:#?}"
        );
        assert!(
            !lines.iter().any(|line| line.contains("TEMP B-TREE")),
            "{when}: a statement sorts (it reads everything it could match first)\n{sql}\n{lines:#?}"
        );
    }
}

pub async fn every_query_is_planned_on_an_index(_: &'static Ctx) {
    let state = database_with_migrations(usize::MAX);
    seed(&state, 3000);
    // The checker itself: a plain scan is caught.
    let scan = plan(
        &state,
        &["SELECT * FROM tasks WHERE title = 'x'".to_owned()],
    );
    assert!(scan[0].iter().any(|line| is_table_scan(line)), "{scan:?}");
    assert_plans(&state, "without statistics");
    run(&state, "ANALYZE;");
    assert_plans(&state, "after ANALYZE");
}

pub async fn migration_0004_indexes_the_tasks_already_there(_: &'static Ctx) {
    let state = database_with_migrations(3);
    seed(&state, 30);
    let migration_0004 = project_root().join("migrations/0004_search_and_tags.sql");
    d1_execute(&state, &migration_0004);

    let tagged = run(
        &state,
        "SELECT count(*) AS n FROM task_tags WHERE tag = 'bug';",
    );
    assert_eq!(tagged[0][0]["n"], 10, "every third task was tagged bug");

    let ids = |pairs: &[(&str, &str)]| -> Vec<String> {
        let query = ListQuery::parse(pairs.iter().copied()).expect("valid query");
        let rows = run(&state, &format!("{};", inlined(&list_statement(&query))));
        rows[0]
            .iter()
            .map(|row| row["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let expected_bug: Vec<String> = (0..30)
        .rev()
        .filter(|n| n % 3 == 0)
        .map(|n| format!("t{n:05}"))
        .collect();
    assert_eq!(ids(&[("tag", "bug")]), expected_bug, "newest first");
    assert_eq!(ids(&[("tag", "bug"), ("status", "todo")]).len(), 5);
    assert_eq!(ids(&[("q", "step 7")]), ["t00007"]);
    assert_eq!(ids(&[("q", "LAUN")]).len(), 30, "prefix, any case");
    assert_eq!(ids(&[("q", "docs")]).len(), 10, "tags are searched");

    // Triggers keep both in step after the migration.
    run(
        &state,
        "UPDATE tasks SET tags = '[\"docs\",\"new\"]', title = 'Relaunch' WHERE id = 't00000';",
    );
    assert_eq!(ids(&[("tag", "bug")]).len(), 9);
    assert_eq!(ids(&[("tag", "new")]), ["t00000"]);
    assert_eq!(ids(&[("q", "relaunch")]), ["t00000"]);
    run(&state, "DELETE FROM tasks WHERE id = 't00000';");
    assert!(ids(&[("tag", "new")]).is_empty());
    assert!(ids(&[("q", "relaunch")]).is_empty());
    let left = run(
        &state,
        "SELECT count(*) AS n FROM task_tags WHERE task_id = 't00000';",
    );
    assert_eq!(left[0][0]["n"], 0);
}
