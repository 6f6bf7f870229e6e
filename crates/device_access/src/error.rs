use foundation::{DbError, StorageFailure, pagination::PageError};

/// What the device_access providers can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The device (or the link, or the user) does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The active context does not give the caller this access.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The device is not in a state that allows this (409).
    #[error("{0}")]
    Conflict(String),
    /// A well-formed value breaks a rule (422).
    #[error("{0}")]
    Invalid(String),
    /// The page request is not valid for this list (400).
    #[error(transparent)]
    Page(#[from] PageError),
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] DbError),
    /// Something else failed in a domain this one calls.
    #[error("{0}")]
    Internal(String),
}

impl From<diesel::result::Error> for Error {
    fn from(err: diesel::result::Error) -> Self {
        Error::Storage(err.into())
    }
}

impl From<device_core::providers::Error> for Error {
    fn from(err: device_core::providers::Error) -> Self {
        use device_core::providers::Error as Core;
        match err {
            Core::NotFound(what) => Error::NotFound(what),
            Core::Invalid(detail) => Error::Invalid(detail),
            Core::Conflict(detail) => Error::Conflict(detail),
            Core::Page(page) => Error::Page(page),
            Core::Storage(db) => Error::Storage(db),
            other @ Core::Random(_) => Error::Internal(other.to_string()),
        }
    }
}

impl From<user_authorization::providers::Error> for Error {
    fn from(err: user_authorization::providers::Error) -> Self {
        use user_authorization::providers::Error as Users;
        match err {
            Users::NotFound(what) => Error::NotFound(what),
            Users::PermissionDenied(detail) => Error::PermissionDenied(detail),
            Users::Invalid(detail) => Error::Invalid(detail),
            Users::Conflict(detail) => Error::Conflict(detail),
            Users::Page(page) => Error::Page(page),
            Users::Storage(db) => Error::Storage(db),
            other => Error::Internal(other.to_string()),
        }
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
