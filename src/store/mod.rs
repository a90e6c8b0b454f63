//! D1, the system of record: tasks and their change records.
//!
//! Every query is a constant with bound parameters (`?1`…), except the list query, which is
//! built per filter combination by [`hero_core::list_plan`] (bound all the same, and tested
//! shape by shape). Every query filters on the
//! caller's workspace: no path in here can reach another tenant's rows. Writes go in a D1
//! batch (one transaction) together with their `task_changes` record, so a write and its
//! record are both committed or neither is.
//!
//! - [`tasks`]: read, insert, conditional update and delete, list (which reads search and
//!   tags through the FTS5 index and `task_tags` of migration 0004);
//! - [`changes`]: the change log, for the rooms' catch-up and the activity history;
//! - [`board`]: what a new board reads to count the workspace;
//! - [`keys`]: idempotency keys, claimed before a write and completed in its batch;
//! - [`rows`]: the column lists and how a row becomes a core type.
//!
//! Everything goes through a [`Store`], which counts what it costs ([`Cost`]: calls, queries,
//! rows read and written, from D1's own result meta). Failures are a [`StoreError`]; the HTTP
//! layer decides what each means to a client.

mod board;
mod changes;
mod keys;
mod rows;
mod tasks;

pub use keys::KeyRecord;
pub use rows::TASK_COLUMNS;

use std::cell::Cell;

use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Env};

use hero_core::cost::Cost;

/// D1, with a running count of what it cost.
pub struct Store {
    db: D1Database,
    cost: Cell<Cost>,
}

impl Store {
    /// The `DB` binding.
    pub fn open(env: &Env) -> StoreResult<Store> {
        let db = env
            .d1("DB")
            .map_err(|e| StoreError::Failed(format!("DB binding: {e}")))?;
        Ok(Store {
            db,
            cost: Cell::new(Cost::default()),
        })
    }

    /// What this store has cost since it was opened (or since the last [`Store::take_cost`]).
    pub fn cost(&self) -> Cost {
        self.cost.get()
    }

    pub fn take_cost(&self) -> Cost {
        self.cost.take()
    }

    fn prepare(&self, sql: &str, values: &[JsValue]) -> StoreResult<D1PreparedStatement> {
        Ok(self.db.prepare(sql).bind(values)?)
    }

    /// Counts one round trip and what its statements read and wrote.
    fn add_cost(&self, results: &[D1Result]) {
        let (mut read, mut written) = (0, 0);
        for result in results {
            if let Ok(Some(meta)) = result.meta() {
                read += meta.rows_read.unwrap_or(0) as u64;
                written += meta.rows_written.unwrap_or(0) as u64;
            }
        }
        let call = Cost::d1(results.len() as u32, read, written);
        self.cost.set(self.cost.get().then(call));
    }

    /// Runs one statement and returns its rows.
    async fn rows<T: DeserializeOwned>(
        &self,
        statement: D1PreparedStatement,
    ) -> StoreResult<Vec<T>> {
        let result = statement.all().await?;
        self.add_cost(std::slice::from_ref(&result));
        Ok(result.results()?)
    }

    /// Runs statements as one batch (one transaction, one round trip).
    async fn batch(&self, statements: Vec<D1PreparedStatement>) -> StoreResult<Vec<D1Result>> {
        let results = self.db.batch(statements).await?;
        self.add_cost(&results);
        Ok(results)
    }
}

/// Why a D1 call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// A UNIQUE constraint: another write of the same row got there first.
    Duplicate(String),
    /// A CHECK constraint: a value validation should have refused (the database is the
    /// last line, not a 500).
    Constraint(String),
    /// A stored row that does not parse: the table was edited by hand.
    Corrupt(String),
    /// Anything else D1 or the binding reported.
    Failed(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Duplicate(m) => write!(f, "D1 unique constraint: {m}"),
            StoreError::Constraint(m) => write!(f, "D1 check constraint: {m}"),
            StoreError::Corrupt(m) => write!(f, "corrupt row: {m}"),
            StoreError::Failed(m) => write!(f, "D1: {m}"),
        }
    }
}

impl From<worker::Error> for StoreError {
    fn from(error: worker::Error) -> Self {
        let message = error.to_string();
        if message.contains("UNIQUE constraint failed") {
            StoreError::Duplicate(message)
        } else if message.contains("CHECK constraint failed") {
            StoreError::Constraint(message)
        } else {
            StoreError::Failed(message)
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

fn text(value: &str) -> JsValue {
    JsValue::from_str(value)
}

fn optional(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

fn number(value: i64) -> JsValue {
    JsValue::from_f64(value as f64)
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Failed(e.to_string()))
}

/// Every fixed statement the store runs that reads `tasks` or `task_changes` (inserts aside;
/// the list query is built per shape by [`hero_core::list_plan`]). The unit tests check that
/// each is scoped to a workspace; the e2e plan test that D1 plans each on an index.
pub fn fixed_statements() -> Vec<&'static str> {
    [
        tasks::STATEMENTS,
        changes::STATEMENTS,
        board::STATEMENTS,
        keys::STATEMENTS,
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_statement_is_scoped_to_a_workspace_and_bound() {
        let all = super::fixed_statements();
        for sql in &all {
            assert!(sql.contains("workspace_id = ?1"), "{sql}");
        }
        assert_eq!(all.len(), 12);
        // …and every list shape (they are built per filter combination).
        for query in hero_core::list_plan::every_shape() {
            let statement =
                hero_core::list_plan::list_statement(super::rows::task_columns!(), "ws", &query)
                    .unwrap();
            assert!(
                statement.sql.contains("tasks.workspace_id = ?1"),
                "{}",
                statement.sql
            );
        }
    }
}
