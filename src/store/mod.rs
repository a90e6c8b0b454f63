//! D1, the system of record: tasks, their change records, and the workspace report.
//!
//! Every query is a constant with bound parameters (`?1`…), and every query filters on the
//! caller's workspace: no path in here can reach another tenant's rows. Writes go in a D1
//! batch (one transaction) together with their `task_changes` record, so a write and its
//! record are both committed or neither is.
//!
//! - [`tasks`]: read, insert, conditional update and delete, list;
//! - [`changes`]: the change log, for the rooms' catch-up and the activity history;
//! - [`analytics`]: the workspace report's aggregates;
//! - [`rows`]: the column lists and how a row becomes a core type.
//!
//! Failures are a [`StoreError`]; the HTTP layer decides what each means to a client.

mod analytics;
mod changes;
mod rows;
mod tasks;

pub use analytics::analytics;
pub use changes::{activity, changes_after};
pub use tasks::{delete_task, get_task, insert_task, list_tasks, update_task};

use wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

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

fn bind(statement: D1PreparedStatement, values: &[JsValue]) -> StoreResult<D1PreparedStatement> {
    Ok(statement.bind(values)?)
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_statement_is_scoped_to_a_workspace_and_bound() {
        let all = [
            super::tasks::STATEMENTS,
            super::changes::STATEMENTS,
            super::analytics::STATEMENTS,
        ];
        for sql in all.concat() {
            assert!(sql.contains("workspace_id = ?1"), "{sql}");
        }
        assert_eq!(all.concat().len(), 10);
    }
}
