use foundation::{DbError, StorageFailure};

/// One refused item of a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// Its position in the request, from 0.
    pub index: usize,
    /// `validation_error`, `unknown_blueprint` or `conflict`.
    pub code: &'static str,
    /// What is wrong with it.
    pub detail: String,
}

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
    /// `DEVICEHUB_REQUIRE_REGISTRATION` is on and no manufacturer registered this serial.
    #[error("no device with this serial was registered")]
    NotRegistered,
    /// Too many wrong claim codes for this serial; retry after this many seconds.
    #[error("too many wrong claim codes for this device; retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the window lets another code through.
        retry_after_secs: u64,
    },
    /// A registration's items break rules (422): every bad item, with its index.
    #[error("{} registration item(s) are invalid", errors.len())]
    InvalidItems {
        /// `unknown_blueprint` when every error is an unknown blueprint.
        unknown_blueprint_only: bool,
        /// The bad items.
        errors: Vec<ItemError>,
    },
    /// A registration names serials that exist (409).
    #[error("{} serial(s) are registered already", .0.len())]
    ExistingItems(Vec<ItemError>),
    /// A well-formed value breaks a rule (422).
    #[error("{0}")]
    Invalid(String),
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
