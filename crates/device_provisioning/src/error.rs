use foundation::{DbError, StorageFailure};

/// What the device_provisioning providers can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller may not do this in the active context.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// From user_authorization.
    #[error(transparent)]
    Users(#[from] user_authorization::providers::Error),
    /// From audit.
    #[error(transparent)]
    Audit(#[from] audit::providers::Error),
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] DbError),
}

impl StorageFailure for Error {
    fn storage_error(&self) -> Option<&DbError> {
        match self {
            Error::Users(err) => err.storage_error(),
            Error::Audit(err) => err.storage_error(),
            Error::Storage(err) => Some(err),
            Error::PermissionDenied(_) => None,
        }
    }
}
