use foundation::{DbError, StorageFailure, pagination::PageError};

/// What the audit providers can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The page request is not valid for this list (400).
    #[error(transparent)]
    Page(#[from] PageError),
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] DbError),
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
            Error::Page(_) => None,
        }
    }
}
