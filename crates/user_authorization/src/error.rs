use foundation::{DbError, StorageFailure, pagination::PageError};

/// What the user_authorization providers can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No valid credentials: missing, unknown, revoked or expired token, or a deactivated user.
    #[error("authentication required")]
    Unauthorized,
    /// Wrong username or password (or a deactivated user) at login.
    #[error("wrong username or password")]
    InvalidCredentials,
    /// Too many failed logins; retry after this many seconds.
    #[error("too many failed logins; retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the window lets another attempt through.
        retry_after_secs: u64,
    },
    /// The caller lacks the permission this needs.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A well-formed value breaks a rule (422).
    #[error("{0}")]
    Invalid(String),
    /// The change conflicts with existing data (409).
    #[error("{0}")]
    Conflict(String),
    /// The page request is not valid for this list (400).
    #[error(transparent)]
    Page(#[from] PageError),
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] DbError),
    /// Password hashing failed (not a wrong password: the hasher itself).
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

impl From<diesel::result::Error> for Error {
    fn from(err: diesel::result::Error) -> Self {
        Error::Storage(err.into())
    }
}

impl StorageFailure for Error {
    fn storage_error(&self) -> Option<&DbError> {
        match self {
            Error::Storage(err) => Some(err),
            _ => None,
        }
    }
}

/// Maps a unique-constraint violation to [`Error::Conflict`], anything else to storage.
pub(crate) fn conflict_on_unique(err: diesel::result::Error, message: &str) -> Error {
    let db: DbError = err.into();
    if db.is_unique_violation() { Error::Conflict(message.to_owned()) } else { Error::Storage(db) }
}
