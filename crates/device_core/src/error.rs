use foundation::{DbError, StorageFailure, pagination::PageError};

/// What the device_core providers can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    /// No randomness could be had for a secret.
    #[error("no randomness: {0}")]
    Random(String),
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
