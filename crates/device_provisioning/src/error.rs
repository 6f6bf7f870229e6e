use foundation::{DbError, StorageFailure};

/// What the device_provisioning providers can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller may not do this in the active context.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The active context cannot be used for this (e.g. claiming in `global`).
    #[error("{0}")]
    InvalidContext(String),
    /// No blueprint has the version named.
    #[error("no hardware blueprint has version {0:?}")]
    UnknownBlueprint(String),
    /// The serial belongs to another user.
    #[error("this device is claimed by another user")]
    AlreadyClaimed,
    /// From user_authorization.
    #[error(transparent)]
    Users(#[from] user_authorization::providers::Error),
    /// From device_core.
    #[error(transparent)]
    Core(#[from] device_core::providers::Error),
    /// From device_access.
    #[error(transparent)]
    Access(#[from] device_access::providers::Error),
    /// From audit.
    #[error(transparent)]
    Audit(#[from] audit::providers::Error),
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
            Error::Users(err) => err.storage_error(),
            Error::Core(err) => err.storage_error(),
            Error::Access(err) => err.storage_error(),
            Error::Audit(err) => err.storage_error(),
            Error::Storage(err) => Some(err),
            _ => None,
        }
    }
}
