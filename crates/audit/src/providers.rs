//! The audit facade: what other crates may call.

use chrono::NaiveDateTime;
use foundation::{
    DbConn, DbError, DeviceId, OrganizationId, Tx, UserId,
    pagination::{Page, PageParams},
};
use serde::{Deserialize, Serialize};

pub use crate::error::Error;
use crate::store;

/// The kinds of audited events (contract §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum EventType {
    UserCreated,
    UserUpdated,
    UserDeleted,
    RoleGranted,
    RoleRevoked,
    OrganizationCreated,
    MemberAdded,
    MemberRemoved,
    BlueprintCreated,
    DeviceProvisioned,
    DeviceUpdated,
    DeviceDeleted,
    DeviceLinked,
    DeviceUnlinked,
    DeviceOwnershipTransferred,
    DeviceReset,
    DeviceCredentialsRotated,
    DeviceRegistered,
    ClaimFailed,
    AccessDenied,
}

impl EventType {
    /// Every event type, in the contract's order.
    pub const ALL: [EventType; 20] = [
        EventType::UserCreated,
        EventType::UserUpdated,
        EventType::UserDeleted,
        EventType::RoleGranted,
        EventType::RoleRevoked,
        EventType::OrganizationCreated,
        EventType::MemberAdded,
        EventType::MemberRemoved,
        EventType::BlueprintCreated,
        EventType::DeviceProvisioned,
        EventType::DeviceUpdated,
        EventType::DeviceDeleted,
        EventType::DeviceLinked,
        EventType::DeviceUnlinked,
        EventType::DeviceOwnershipTransferred,
        EventType::DeviceReset,
        EventType::DeviceCredentialsRotated,
        EventType::DeviceRegistered,
        EventType::ClaimFailed,
        EventType::AccessDenied,
    ];

    /// The stored name, e.g. `DEVICE_RESET`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::UserCreated => "USER_CREATED",
            EventType::UserUpdated => "USER_UPDATED",
            EventType::UserDeleted => "USER_DELETED",
            EventType::RoleGranted => "ROLE_GRANTED",
            EventType::RoleRevoked => "ROLE_REVOKED",
            EventType::OrganizationCreated => "ORGANIZATION_CREATED",
            EventType::MemberAdded => "MEMBER_ADDED",
            EventType::MemberRemoved => "MEMBER_REMOVED",
            EventType::BlueprintCreated => "BLUEPRINT_CREATED",
            EventType::DeviceProvisioned => "DEVICE_PROVISIONED",
            EventType::DeviceUpdated => "DEVICE_UPDATED",
            EventType::DeviceDeleted => "DEVICE_DELETED",
            EventType::DeviceLinked => "DEVICE_LINKED",
            EventType::DeviceUnlinked => "DEVICE_UNLINKED",
            EventType::DeviceOwnershipTransferred => "DEVICE_OWNERSHIP_TRANSFERRED",
            EventType::DeviceReset => "DEVICE_RESET",
            EventType::DeviceCredentialsRotated => "DEVICE_CREDENTIALS_ROTATED",
            EventType::DeviceRegistered => "DEVICE_REGISTERED",
            EventType::ClaimFailed => "CLAIM_FAILED",
            EventType::AccessDenied => "ACCESS_DENIED",
        }
    }
}

/// Who caused an event, and in which request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// The acting user; `None` for the system (bootstrap, operators' commands).
    pub user_id: Option<UserId>,
    /// The HTTP request id, when the event comes from a request.
    pub request_id: Option<String>,
}

impl Actor {
    /// A user acting in a request.
    pub fn user(user_id: UserId, request_id: Option<String>) -> Self {
        Actor { user_id: Some(user_id), request_id }
    }

    /// The system itself (start-up bootstrap, operator commands).
    pub fn system() -> Self {
        Actor::default()
    }
}

/// An event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// What happened.
    pub event_type: EventType,
    /// One line for people.
    pub description: String,
    /// The device concerned, if any.
    pub target_device_id: Option<DeviceId>,
    /// The organization concerned, if any.
    pub organization_id: Option<OrganizationId>,
    /// Structured details (never a secret).
    pub details: serde_json::Value,
}

impl NewEntry {
    /// An entry with no device, organization or details.
    pub fn new(event_type: EventType, description: impl Into<String>) -> Self {
        NewEntry {
            event_type,
            description: description.into(),
            target_device_id: None,
            organization_id: None,
            details: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// Names the organization concerned.
    pub fn in_organization(mut self, organization_id: OrganizationId) -> Self {
        self.organization_id = Some(organization_id);
        self
    }

    /// Names the device concerned.
    pub fn on_device(mut self, device_id: DeviceId) -> Self {
        self.target_device_id = Some(device_id);
        self
    }

    /// Attaches structured details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    #[allow(missing_docs)]
    pub id: i64,
    /// When it happened (UTC, microseconds).
    pub occurred_at: NaiveDateTime,
    /// The stored event type name.
    pub event_type: String,
    #[allow(missing_docs)]
    pub description: String,
    #[allow(missing_docs)]
    pub actor_user_id: Option<UserId>,
    #[allow(missing_docs)]
    pub target_device_id: Option<DeviceId>,
    #[allow(missing_docs)]
    pub organization_id: Option<OrganizationId>,
    #[allow(missing_docs)]
    pub details: serde_json::Value,
    #[allow(missing_docs)]
    pub request_id: Option<String>,
}

/// Optional narrowing of a listing; all given conditions must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    #[allow(missing_docs)]
    pub device_id: Option<DeviceId>,
    #[allow(missing_docs)]
    pub actor_user_id: Option<UserId>,
    #[allow(missing_docs)]
    pub event_type: Option<EventType>,
    /// At or after this instant.
    pub since: Option<NaiveDateTime>,
    /// Before this instant.
    pub until: Option<NaiveDateTime>,
}

/// Which entries a caller may see. Deciding which rule applies (permissions, contexts) is the
/// caller's job; this crate only applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Every entry (global `audit:read`).
    Everything,
    /// Entries of one organization.
    Organization(OrganizationId),
    /// Entries the user performed, plus entries of the given devices from the given instant
    /// on (devices the user owns, since they were last claimed).
    Personal {
        /// The caller.
        user_id: UserId,
        /// `(device, since)` windows the caller may also see.
        devices: Vec<(DeviceId, NaiveDateTime)>,
    },
}

/// Appends an entry inside the caller's transaction: if the transaction rolls back, so does
/// the entry. Needs a write transaction; fails only with a storage error.
pub fn record(tx: &mut Tx<'_>, actor: &Actor, entry: NewEntry) -> Result<(), DbError> {
    store::insert(tx, actor, &entry)
}

/// Appends many entries inside the caller's transaction, in few statements (bulk imports).
pub fn record_many(tx: &mut Tx<'_>, actor: &Actor, entries: &[NewEntry]) -> Result<(), DbError> {
    store::insert_many(tx, actor, entries)
}

/// One page of the entries `visibility` allows and `filter` selects, newest first (by
/// `occurred_at`, then `id`). Fails with [`Error::Page`] for a bad limit or cursor.
pub fn list(
    conn: &mut DbConn,
    visibility: &Visibility,
    filter: &Filter,
    page: &PageParams,
) -> Result<Page<Entry>, Error> {
    store::list(conn, visibility, filter, page)
}

/// How many entries of `event_type` exist (for tests and invariant checks).
pub fn count(conn: &mut DbConn, event_type: EventType) -> Result<i64, Error> {
    store::count(conn, event_type)
}
