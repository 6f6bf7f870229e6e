//! The domain's types (public through `providers`) and its table rows (private).

use std::fmt;

use chrono::NaiveDateTime;
use diesel::Queryable;
use foundation::{DeviceId, OrganizationId};

/// A hardware blueprint (contract §6 **Blueprint**).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blueprint {
    #[allow(missing_docs)]
    pub id: i64,
    #[allow(missing_docs)]
    pub name: String,
    /// Unique, e.g. `rpi4-b-1.2`.
    pub version: String,
    #[allow(missing_docs)]
    pub description: Option<String>,
    #[allow(missing_docs)]
    pub created_at: NaiveDateTime,
}

/// A blueprint to create.
#[derive(Debug, Clone)]
pub struct NewBlueprint {
    #[allow(missing_docs)]
    pub name: String,
    #[allow(missing_docs)]
    pub version: String,
    #[allow(missing_docs)]
    pub description: Option<String>,
}

/// Whether a device has an owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceStatus {
    /// Claimed: it has an owner and a credential.
    Active,
    /// Registered or reset: no owner, no credential; it can be claimed.
    Unclaimed,
}

impl DeviceStatus {
    /// `active` or `unclaimed`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Active => "active",
            DeviceStatus::Unclaimed => "unclaimed",
        }
    }

    pub(crate) fn parse(text: &str) -> DeviceStatus {
        if text == "active" { DeviceStatus::Active } else { DeviceStatus::Unclaimed }
    }
}

/// A device (contract §6 **Device**), without its secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    #[allow(missing_docs)]
    pub id: DeviceId,
    #[allow(missing_docs)]
    pub cpu_serial: String,
    /// Rotated on every claim and reset.
    pub current_uuid: String,
    #[allow(missing_docs)]
    pub name: Option<String>,
    #[allow(missing_docs)]
    pub status: DeviceStatus,
    /// `None` for personal devices.
    pub organization_id: Option<OrganizationId>,
    #[allow(missing_docs)]
    pub hardware_blueprint_id: i64,
    #[allow(missing_docs)]
    pub hardware_blueprint_version: String,
    /// When the current owner claimed it (`None` while unclaimed).
    pub claimed_at: Option<NaiveDateTime>,
    #[allow(missing_docs)]
    pub created_at: NaiveDateTime,
    #[allow(missing_docs)]
    pub updated_at: NaiveDateTime,
}

/// A device's credentials, shown once, when issued.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The device's `current_uuid`.
    pub device_uuid: String,
    /// The secret; stored only as a hash.
    pub device_secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("device_uuid", &self.device_uuid)
            .finish_non_exhaustive()
    }
}

/// What `list_devices` selects: all conditions must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceFilter {
    /// Only devices of this organization.
    pub organization_id: Option<OrganizationId>,
    #[allow(missing_docs)]
    pub status: Option<DeviceStatus>,
    #[allow(missing_docs)]
    pub blueprint_id: Option<i64>,
}

#[derive(Debug, Queryable)]
pub(crate) struct BlueprintRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) description: Option<String>,
    pub(crate) created_at: NaiveDateTime,
}

impl From<BlueprintRow> for Blueprint {
    fn from(row: BlueprintRow) -> Self {
        Blueprint {
            id: row.id,
            name: row.name,
            version: row.version,
            description: row.description,
            created_at: row.created_at,
        }
    }
}

/// The columns of a device a query selects, with its blueprint version.
#[derive(Debug, Queryable)]
pub(crate) struct DeviceRow {
    pub(crate) id: i64,
    pub(crate) cpu_serial: String,
    pub(crate) current_uuid: String,
    pub(crate) hardware_blueprint_id: i64,
    pub(crate) organization_id: Option<i64>,
    pub(crate) name: Option<String>,
    pub(crate) status: String,
    pub(crate) claimed_at: Option<NaiveDateTime>,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) updated_at: NaiveDateTime,
    pub(crate) blueprint_version: String,
}

impl From<DeviceRow> for Device {
    fn from(row: DeviceRow) -> Self {
        Device {
            id: DeviceId(row.id),
            cpu_serial: row.cpu_serial,
            current_uuid: row.current_uuid,
            name: row.name,
            status: DeviceStatus::parse(&row.status),
            organization_id: row.organization_id.map(OrganizationId),
            hardware_blueprint_id: row.hardware_blueprint_id,
            hardware_blueprint_version: row.blueprint_version,
            claimed_at: row.claimed_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
