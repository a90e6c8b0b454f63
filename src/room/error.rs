//! The one way a room call fails: a [`RoomError`], mapped to an [`ApiError`] in one place
//! ([`From<RoomError> for ApiError`]) and answered as problem+json, which the Worker's stub
//! turns back into the same error. (A write's own verdict, inside a group commit, is part of
//! its reply instead: see `hero_core::room::WriteReply`.)

use hero_core::error::ApiError;

use crate::store::StoreError;

/// Why a room could not do what it was asked.
#[derive(Debug)]
pub enum RoomError {
    /// The room refused the call itself: no such task, a call this room does not take.
    Refused(ApiError),
    /// D1 failed, with what kind of failure it was.
    Store(StoreError),
    /// The room's own SQLite, a socket or the alarm failed on the runtime.
    Runtime(worker::Error),
    /// A row of the room's own SQLite does not parse.
    Corrupt(serde_json::Error),
}

pub type RoomResult<T> = Result<T, RoomError>;

impl std::fmt::Display for RoomError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RoomError::Refused(error) => write!(f, "refused: {}", error.problem().title),
            RoomError::Store(error) => write!(f, "{error}"),
            RoomError::Runtime(error) => write!(f, "room runtime: {error}"),
            RoomError::Corrupt(error) => write!(f, "room storage row: {error}"),
        }
    }
}

impl From<ApiError> for RoomError {
    fn from(error: ApiError) -> Self {
        RoomError::Refused(error)
    }
}

impl From<StoreError> for RoomError {
    fn from(error: StoreError) -> Self {
        RoomError::Store(error)
    }
}

impl From<worker::Error> for RoomError {
    fn from(error: worker::Error) -> Self {
        RoomError::Runtime(error)
    }
}

impl From<serde_json::Error> for RoomError {
    fn from(error: serde_json::Error) -> Self {
        RoomError::Corrupt(error)
    }
}

/// The one mapping from a room's failure to what the client is told. A store error keeps
/// its meaning (a constraint is a 409 or 422, as when the Worker writes D1 itself);
/// anything on the runtime is a 500 whose cause is logged, never sent.
impl From<RoomError> for ApiError {
    fn from(error: RoomError) -> Self {
        match error {
            RoomError::Refused(error) => error,
            RoomError::Store(error) => ApiError::from(error),
            RoomError::Runtime(error) => ApiError::internal(error),
            RoomError::Corrupt(error) => ApiError::internal(error),
        }
    }
}
