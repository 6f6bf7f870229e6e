use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// A failure of the storage layer. Domain errors wrap it; the binary maps
/// [`DbError::Unavailable`] to 503 and everything else to 500.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// `DATABASE_URL` names a scheme other than `sqlite://`, `postgres://` or `postgresql://`.
    #[error("unsupported DATABASE_URL scheme {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// No connection could be had in time, or the database is too busy to answer in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The connection to the database broke (server gone, network cut). The pool drops the
    /// connection; a later attempt gets a new one.
    #[error("database connection lost: {0}")]
    ConnectionLost(String),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(DieselError),
    /// Applying or reverting migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// The blocking task that ran the database work panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(String),
}

impl DbError {
    /// A unique constraint refused the statement.
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            DbError::Query(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
        )
    }

    /// The transaction lost a race the database detected (serialization failure or deadlock)
    /// and may succeed if run again from the start.
    pub fn is_retryable(&self) -> bool {
        match self {
            DbError::Query(DieselError::DatabaseError(
                DatabaseErrorKind::SerializationFailure,
                _,
            )) => true,
            DbError::Query(DieselError::DatabaseError(_, info)) => {
                info.message().contains("deadlock detected")
            }
            _ => false,
        }
    }
}

/// Messages of errors that mean "the database is stuck or busy", not "the query is wrong":
/// PostgreSQL's statement and lock timeouts, SQLite's busy timeout.
const OVERLOAD_MESSAGES: [&str; 3] =
    ["canceling statement due to statement timeout", "lock timeout", "database is locked"];

impl From<DieselError> for DbError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => DbError::ConnectionLost(info.message().to_owned()),
            DieselError::DatabaseError(_, ref info)
                if OVERLOAD_MESSAGES.iter().any(|m| info.message().contains(m)) =>
            {
                DbError::Unavailable(info.message().to_owned())
            }
            other => DbError::Query(other),
        }
    }
}

impl From<r2d2::Error> for DbError {
    fn from(err: r2d2::Error) -> Self {
        DbError::Unavailable(err.to_string())
    }
}

/// Lets [`crate::Db`] see the storage error inside a domain error: to decide whether a
/// transaction that lost a race is worth running again, and whether the connection it ran on
/// is lost.
pub trait StorageFailure {
    /// The storage error this error carries, if any.
    fn storage_error(&self) -> Option<&DbError>;

    /// The connection broke while this error happened, so it must not be used again.
    fn lost_connection(&self) -> bool {
        matches!(self.storage_error(), Some(DbError::ConnectionLost(_)))
    }
}

impl StorageFailure for DbError {
    fn storage_error(&self) -> Option<&DbError> {
        Some(self)
    }
}

impl From<crate::BlockingError> for DbError {
    fn from(err: crate::BlockingError) -> Self {
        match err {
            crate::BlockingError::NotStarted => {
                DbError::Unavailable("no database connection was free in time".into())
            }
            other => DbError::Task(other.to_string()),
        }
    }
}
