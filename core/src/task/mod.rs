//! Tasks: the validated fields, what a client may send, the task itself, the change record
//! of every write, and the decisions a write takes against the current row.

mod change;
mod columns;
mod fields;
mod input;
mod model;
mod text;
mod write;

pub use change::{format_timestamp, Change, ChangeKind};
pub use columns::{changed_columns, update_sql, TaskColumn};
pub(crate) use fields::string_enum;
pub use fields::{
    FieldError, Priority, Status, Tags, TaskId, Title, DESCRIPTION_MAX_CHARS, TAGS_MAX,
    TAG_MAX_CHARS, TITLE_MAX_CHARS, USER_ID_MAX_CHARS,
};
pub use input::{NewTask, TaskChanges, WRITABLE_FIELDS};
pub use model::{Stamp, Task};
pub(crate) use text::nfc;
pub use write::{decide_delete, decide_update, UpdateOutcome};

#[cfg(test)]
pub(crate) use model::tests::new_task;
