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

/// How claims treat serials no manufacturer registered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClaimPolicy {
    /// `DEVICEHUB_REQUIRE_REGISTRATION`: refuse them (else the claim creates the device).
    pub require_registration: bool,
}

/// What a claim transaction ends with. Both are committed: a wrong claim code is counted
/// (and audited) while the device's row lock is held, so no more than five wrong codes per
/// window are ever evaluated, whatever the concurrency.
#[derive(Debug, Clone)]
pub enum ClaimOutcome {
    /// The caller owns the device.
    Claimed(Box<Claimed>),
    /// The device has a claim code and the request's was missing or wrong (403
    /// `invalid_claim_code`); the failure and its `CLAIM_FAILED` row are written.
    InvalidClaimCode,
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
/// [`Error::UnknownBlueprint`], [`Error::NotRegistered`], [`Error::AlreadyClaimed`] (another
/// user's device), [`Error::RateLimited`] (too many wrong codes), or a validation error
/// (serial or name format, blueprint mismatch) from device_core.
pub fn provision_new_device(
    tx: &mut Tx<'_>,
    caller: UserId,
    context: ActiveContext,
    request: &ClaimRequest,
    policy: ClaimPolicy,
    actor: &Actor,
) -> Result<ClaimOutcome, Error> {
    let organization = authorize(tx, caller, context)?;
    core::validate_serial(&request.cpu_serial)?;
    let blueprint = core::find_blueprint_by_version(tx, &request.hardware_blueprint_version)?
        .ok_or_else(|| Error::UnknownBlueprint(request.hardware_blueprint_version.clone()))?;
    let name = request.name.as_deref();
    let created = if policy.require_registration {
        None
    } else {
        core::insert_claimed_device(tx, &request.cpu_serial, &blueprint, organization, name)?
    };
    let (device, credentials) = match created {
        Some(created) => created,
        None => match claim_existing(tx, caller, organization, blueprint.id, request, actor)? {
            Taken::Claimed(device, credentials) => (device, credentials),
            Taken::AlreadyMine(device) => {
                return Ok(ClaimOutcome::Claimed(Box::new(Claimed { device, credentials: None })));
            }
            Taken::WrongCode => return Ok(ClaimOutcome::InvalidClaimCode),
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
    Ok(ClaimOutcome::Claimed(Box::new(Claimed { device, credentials: Some(credentials) })))
}

enum Taken {
    Claimed(Device, Credentials),
    AlreadyMine(Device),
    WrongCode,
}

/// Step 3 for a serial that exists (locked until the transaction ends). For an `unclaimed`
/// one the checks run in the contract's order: the claim-code throttle (429), blueprint
/// mismatch (422), organization mismatch (403), the claim code (403, committed).
fn claim_existing(
    tx: &mut Tx<'_>,
    caller: UserId,
    organization: Option<OrganizationId>,
    blueprint_id: i64,
    request: &ClaimRequest,
    actor: &Actor,
) -> Result<Taken, Error> {
    // Absent: never registered (when registration is required), or deleted since our insert
    // found it.
    let device =
        core::lock_device_by_serial(tx, &request.cpu_serial)?.ok_or(Error::NotRegistered)?;
    if device.status == DeviceStatus::Active {
        return if device_access::providers::is_user_owner_of_device(tx, caller, device.id)? {
            Ok(Taken::AlreadyMine(device))
        } else {
            Err(Error::AlreadyClaimed)
        };
    }
    if let Some(retry_after_secs) = core::claim_throttle(tx, device.id)? {
        return Err(Error::RateLimited { retry_after_secs });
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
    if core::claim_code_matches(tx, device.id, request.claim_code.as_deref())? == Some(false) {
        record_wrong_code(tx, &device, actor)?;
        return Ok(Taken::WrongCode);
    }
    let (device, credentials) =
        core::activate_device(tx, device.id, organization, request.name.as_deref())?;
    Ok(Taken::Claimed(device, credentials))
}

/// Counts the wrong code and writes `CLAIM_FAILED`; the caller commits both.
fn record_wrong_code(tx: &mut Tx<'_>, device: &Device, actor: &Actor) -> Result<(), Error> {
    core::record_claim_failure(tx, device.id)?;
    let mut entry = NewEntry::new(
        EventType::ClaimFailed,
        format!("claim of device {} with a missing or wrong claim code", device.cpu_serial),
    )
    .on_device(device.id)
    .with_details(serde_json::json!({ "cpu_serial": device.cpu_serial }));
    entry.organization_id = device.organization_id;
    audit::providers::record(tx, actor, entry)?;
    Ok(())
}
