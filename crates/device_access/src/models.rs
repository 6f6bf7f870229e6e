//! Links and actions.

use chrono::NaiveDateTime;
use foundation::UserId;

use crate::error::Error;

/// A user's role on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkRole {
    /// Reads, updates, deletes and manages the device (in the personal context).
    Owner,
    /// Reads the device (in the personal context).
    Viewer,
}

impl LinkRole {
    /// `owner` or `viewer`.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkRole::Owner => "owner",
            LinkRole::Viewer => "viewer",
        }
    }

    /// Parses `owner` or `viewer`; anything else is [`Error::Invalid`].
    pub fn parse(text: &str) -> Result<LinkRole, Error> {
        match text {
            "owner" => Ok(LinkRole::Owner),
            "viewer" => Ok(LinkRole::Viewer),
            other => Err(Error::Invalid(format!("role must be owner or viewer, not {other:?}"))),
        }
    }
}

/// One user's link to a device, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    #[allow(missing_docs)]
    pub user_id: UserId,
    #[allow(missing_docs)]
    pub username: String,
    #[allow(missing_docs)]
    pub role: LinkRole,
    #[allow(missing_docs)]
    pub created_at: NaiveDateTime,
}

/// What a request wants to do with a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// See it.
    Read,
    /// Change it or manage its links and credentials.
    Update,
    /// Delete it.
    Delete,
}
