//! The claim (contract §5): the seed's `provision_new_device`, in one transaction.

use audit::providers::{Actor, EventType, NewEntry};
use device_core::providers::{self as core, Credentials, Device, DeviceStatus};
use foundation::{ActiveContext, OrganizationId, Tx, UserId};
use user_authorization::providers::{self as users, Permission, Scope, check_user_permission};

use crate::error::Error;

/// `POST /devices/claim`.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    #[allow(missing_docs)]
    pub cpu_serial: String,
    #[allow(missing_docs)]
    pub hardware_blueprint_version: String,
    #[allow(missing_docs)]
    pub name: Option<String>,
    /// The code printed on a registered device.
    pub claim_code: Option<String>,
}

/// The answer to a claim.
#[derive(Debug, Clone)]
pub struct Claimed {
    #[allow(missing_docs)]
    pub device: Device,
    /// Issued by this claim (201); `None` when the caller already owned the device (200).
    pub credentials: Option<Credentials>,
}

/// 1. Authorization: `device:provision` globally (personal) or in the organization.
fn authorize(
    tx: &mut Tx<'_>,
    caller: UserId,
    context: ActiveContext,
) -> Result<Option<OrganizationId>, Error> {
    let (scope, organization) = match context {
        ActiveContext::Personal => (Scope::Global, None),
        ActiveContext::Organization(org) => (Scope::Organization(org), Some(org)),
        ActiveContext::Global => {
            return Err(Error::InvalidContext(
                "devices are claimed in the personal context or an organization's, not global"
                    .into(),
            ));
        }
    };
    if !check_user_permission(tx, caller, Permission::DeviceProvision, scope)? {
        return Err(Error::PermissionDenied("device:provision is required in this context".into()));
    }
    if let Some(org) = organization
        && !users::organization_exists(tx, org)?
    {
        return Err(Error::Users(users::Error::NotFound("organization")));
    }
    Ok(organization)
}

/// Claims a device for `caller` in `context`, all in the caller's transaction: authorization,
/// validation, the device created (or the `unclaimed` one taken) with fresh credentials, the
/// caller linked as owner, `DEVICE_PROVISIONED` written. A failure at any step leaves nothing.
///
/// Fails with [`Error::PermissionDenied`], [`Error::InvalidContext`] (global),
/// [`Error::UnknownBlueprint`], [`Error::AlreadyClaimed`] (another user's device), or a
/// validation error (serial or name format, blueprint mismatch) from device_core.
pub fn provision_new_device(
    tx: &mut Tx<'_>,
    caller: UserId,
    context: ActiveContext,
    request: &ClaimRequest,
    actor: &Actor,
) -> Result<Claimed, Error> {
    let organization = authorize(tx, caller, context)?;
    core::validate_serial(&request.cpu_serial)?;
    let blueprint = core::find_blueprint_by_version(tx, &request.hardware_blueprint_version)?
        .ok_or_else(|| Error::UnknownBlueprint(request.hardware_blueprint_version.clone()))?;
    let name = request.name.as_deref();
    let (device, credentials) = match core::insert_claimed_device(
        tx,
        &request.cpu_serial,
        blueprint.id,
        organization,
        name,
    )? {
        Some(created) => created,
        None => match claim_existing(tx, caller, organization, blueprint.id, request)? {
            Taken::Claimed(device, credentials) => (device, credentials),
            Taken::AlreadyMine(device) => return Ok(Claimed { device, credentials: None }),
        },
    };
    device_access::providers::link_owner(tx, caller, device.id)?;
    let mut entry = NewEntry::new(
        EventType::DeviceProvisioned,
        format!("device {} provisioned", device.cpu_serial),
    )
    .on_device(device.id)
    .with_details(serde_json::json!({
        "cpu_serial": device.cpu_serial,
        "hardware_blueprint_version": device.hardware_blueprint_version,
    }));
    entry.organization_id = device.organization_id;
    audit::providers::record(tx, actor, entry)?;
    Ok(Claimed { device, credentials: Some(credentials) })
}

enum Taken {
    Claimed(Device, Credentials),
    AlreadyMine(Device),
}

/// Step 3 for a serial that exists (locked until the transaction ends).
fn claim_existing(
    tx: &mut Tx<'_>,
    caller: UserId,
    organization: Option<OrganizationId>,
    blueprint_id: i64,
    request: &ClaimRequest,
) -> Result<Taken, Error> {
    let device = core::lock_device_by_serial(tx, &request.cpu_serial)?.ok_or(Error::Core(
        core::Error::Conflict("the device changed during the claim; retry".into()),
    ))?;
    if device.status == DeviceStatus::Active {
        return if device_access::providers::is_user_owner_of_device(tx, caller, device.id)? {
            Ok(Taken::AlreadyMine(device))
        } else {
            Err(Error::AlreadyClaimed)
        };
    }
    if device.hardware_blueprint_id != blueprint_id {
        return Err(Error::Core(core::Error::Invalid(format!(
            "this device is a {}, not a {}",
            device.hardware_blueprint_version, request.hardware_blueprint_version
        ))));
    }
    if device.organization_id.is_some() && device.organization_id != organization {
        return Err(Error::PermissionDenied(
            "this device belongs to an organization: claim it in that organization's context"
                .into(),
        ));
    }
    let (device, credentials) =
        core::activate_device(tx, device.id, organization, request.name.as_deref())?;
    Ok(Taken::Claimed(device, credentials))
}
