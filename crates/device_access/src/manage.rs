//! Changing a device and its links. Every operation locks the device row first and checks
//! access on what it locked.

use audit::providers::{Actor, EventType, NewEntry};
use device_core::providers::{self as core, Credentials, Device, DeviceStatus};
use foundation::{
    ActiveContext, DbConn, DeviceId, Tx, UserId,
    pagination::{Page, PageParams, Pager},
};
use user_authorization::providers as users;

use crate::{
    error::Error,
    links,
    models::{Action, Link, LinkRole},
    policy::{get_device_if_user_has_update_access, lock_with_access},
};

fn entry(event: EventType, device: &Device, description: String) -> NewEntry {
    let mut entry = NewEntry::new(event, description).on_device(device.id);
    entry.organization_id = device.organization_id;
    entry
}

fn require_claimed(device: &Device) -> Result<(), Error> {
    match device.status {
        DeviceStatus::Active => Ok(()),
        DeviceStatus::Unclaimed => Err(Error::Conflict("the device is unclaimed".into())),
    }
}

/// When `device` has no owner left: resets it (unclaimed, new uuid, credential revoked, name
/// cleared, every link removed) and writes `DEVICE_RESET`. Returns whether it reset.
pub(crate) fn reset_if_ownerless(
    tx: &mut Tx<'_>,
    device: &Device,
    actor: &Actor,
) -> Result<bool, Error> {
    if device.status == DeviceStatus::Unclaimed || links::owner_count(tx, device.id)? > 0 {
        return Ok(false);
    }
    links::remove_all(tx, device.id)?;
    let reset = core::reset_device(tx, device.id)?;
    let details =
        serde_json::json!({ "cpu_serial": reset.cpu_serial, "new_uuid": reset.current_uuid });
    let description = format!("device {} reset: its last owner left", reset.cpu_serial);
    audit::providers::record(
        tx,
        actor,
        entry(EventType::DeviceReset, &reset, description).with_details(details),
    )?;
    Ok(true)
}

/// Renames the device (`None` clears the name). Needs update access in `context`.
/// Writes `DEVICE_UPDATED`.
pub fn rename_device(
    tx: &mut Tx<'_>,
    caller: UserId,
    device: DeviceId,
    context: ActiveContext,
    name: Option<&str>,
    actor: &Actor,
) -> Result<Device, Error> {
    lock_with_access(tx, caller, device, Action::Update, context)?;
    let renamed = core::rename_device(tx, device, name)?;
    let details = serde_json::json!({ "name": renamed.name });
    audit::providers::record(
        tx,
        actor,
        entry(EventType::DeviceUpdated, &renamed, format!("device {} renamed", renamed.cpu_serial))
            .with_details(details),
    )?;
    Ok(renamed)
}

/// Deletes the device and its links. Needs delete access in `context`. Writes
/// `DEVICE_DELETED` (the audit history of the device stays).
pub fn delete_device(
    tx: &mut Tx<'_>,
    caller: UserId,
    device: DeviceId,
    context: ActiveContext,
    actor: &Actor,
) -> Result<(), Error> {
    let found = lock_with_access(tx, caller, device, Action::Delete, context)?;
    core::delete_device(tx, device)?;
    let details = serde_json::json!({ "cpu_serial": found.cpu_serial });
    audit::providers::record(
        tx,
        actor,
        entry(EventType::DeviceDeleted, &found, format!("device {} deleted", found.cpu_serial))
            .with_details(details),
    )?;
    Ok(())
}

/// Issues a new device secret. Needs update access in `context` and a claimed device (else
/// [`Error::Conflict`]). Writes `DEVICE_CREDENTIALS_ROTATED`.
pub fn rotate_credentials(
    tx: &mut Tx<'_>,
    caller: UserId,
    device: DeviceId,
    context: ActiveContext,
    actor: &Actor,
) -> Result<Credentials, Error> {
    let found = lock_with_access(tx, caller, device, Action::Update, context)?;
    require_claimed(&found)?;
    let credentials = core::rotate_credentials(tx, device)?;
    let description = format!("credentials of device {} rotated", found.cpu_serial);
    audit::providers::record(
        tx,
        actor,
        entry(EventType::DeviceCredentialsRotated, &found, description),
    )?;
    Ok(credentials)
}

/// One page of the device's links, by user id. Needs update access in `context` and a claimed
/// device.
pub fn list_access(
    conn: &mut DbConn,
    caller: UserId,
    device: DeviceId,
    context: ActiveContext,
    page: &PageParams,
) -> Result<Page<Link>, Error> {
    let found = get_device_if_user_has_update_access(conn, caller, device, context)?;
    require_claimed(&found)?;
    let pager: Pager<i64> = Pager::new(format!("access:{device}"), page)?;
    let rows = links::of_device(conn, device, pager.after().copied(), pager.fetch())?;
    let page = pager.page(rows, |row| row.0);
    let ids: Vec<UserId> = page.items.iter().map(|row| UserId(row.0)).collect();
    let names = users::usernames(conn, &ids)?;
    let items = page
        .items
        .into_iter()
        .map(|(user, role, created_at)| {
            let username = names
                .iter()
                .find(|(id, _)| id.0 == user)
                .map(|(_, n)| n.clone())
                .unwrap_or_default();
            Ok(Link { user_id: UserId(user), username, role: LinkRole::parse(&role)?, created_at })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Page { items, next_cursor: page.next_cursor })
}

/// Gives `user` the `role` on the device, or changes the role they have. Needs update access
/// in `context` and a claimed device. An unknown role is [`Error::Invalid`], a missing user
/// [`Error::NotFound`]; demoting the last owner is [`Error::Conflict`]. The role already held
/// changes nothing; otherwise writes `DEVICE_LINKED`.
pub fn grant_access(
    tx: &mut Tx<'_>,
    caller: UserId,
    device: DeviceId,
    context: ActiveContext,
    user: UserId,
    role: &str,
    actor: &Actor,
) -> Result<(), Error> {
    let found = lock_with_access(tx, caller, device, Action::Update, context)?;
    require_claimed(&found)?;
    let role = LinkRole::parse(role)?;
    if users::is_active_user(tx, user)?.is_none() {
        return Err(Error::NotFound("user"));
    }
    let previous = links::role_of(tx, user, device)?;
    if previous == Some(role) {
        return Ok(());
    }
    if previous == Some(LinkRole::Owner) && links::owner_count(tx, device)? == 1 {
        return Err(Error::Conflict(
            "the last owner cannot become a viewer: transfer the device or remove the link".into(),
        ));
    }
    links::set_role(tx, user, device, role)?;
    let details = serde_json::json!({
        "user_id": user.0,
        "role": role.as_str(),
        "previous_role": previous.map(LinkRole::as_str),
    });
    let description = format!("user {user} is {} of device {}", role.as_str(), found.cpu_serial);
    audit::providers::record(
        tx,
        actor,
        entry(EventType::DeviceLinked, &found, description).with_details(details),
    )?;
    Ok(())
}

/// Removes `user`'s link. Allowed to the user themself, or with update access in `context` on
/// a claimed device. A link that does not exist is [`Error::NotFound`]. Writes
/// `DEVICE_UNLINKED`; when the last owner goes, the device is reset in the same transaction.
pub fn revoke_access(
    tx: &mut Tx<'_>,
    caller: UserId,
    device: DeviceId,
    context: ActiveContext,
    user: UserId,
    actor: &Actor,
) -> Result<(), Error> {
    let found = if caller == user {
        core::lock_device(tx, device)?.ok_or(Error::NotFound("device"))?
    } else {
        let found = lock_with_access(tx, caller, device, Action::Update, context)?;
        require_claimed(&found)?;
        found
    };
    unlink(tx, &found, user, actor)
}

fn unlink(tx: &mut Tx<'_>, device: &Device, user: UserId, actor: &Actor) -> Result<(), Error> {
    let role = links::role_of(tx, user, device.id)?.ok_or(Error::NotFound("link"))?;
    links::remove(tx, user, device.id)?;
    let details = serde_json::json!({ "user_id": user.0, "role": role.as_str() });
    let description = format!("user {user} unlinked from device {}", device.cpu_serial);
    audit::providers::record(
        tx,
        actor,
        entry(EventType::DeviceUnlinked, device, description).with_details(details),
    )?;
    reset_if_ownerless(tx, device, actor)?;
    Ok(())
}

/// Makes `to` the only owner: every other owner loses their link, viewers keep theirs, `to`'s
/// link (if any) becomes `owner`; credentials are not rotated. Needs update access in
/// `context` and a claimed device; a missing target is [`Error::NotFound`], a deactivated one
/// [`Error::Invalid`]. Writes `DEVICE_OWNERSHIP_TRANSFERRED`.
pub fn transfer_device(
    tx: &mut Tx<'_>,
    caller: UserId,
    device: DeviceId,
    context: ActiveContext,
    to: UserId,
    actor: &Actor,
) -> Result<Device, Error> {
    let found = lock_with_access(tx, caller, device, Action::Update, context)?;
    require_claimed(&found)?;
    match users::is_active_user(tx, to)? {
        None => return Err(Error::NotFound("user")),
        Some(false) => return Err(Error::Invalid("the new owner is deactivated".into())),
        Some(true) => {}
    }
    let previous = links::owners(tx, device)?;
    links::remove_owners_except(tx, device, to)?;
    links::set_role(tx, to, device, LinkRole::Owner)?;
    let details = serde_json::json!({
        "from": previous.iter().map(|u| u.0).collect::<Vec<_>>(),
        "to": to.0,
    });
    let description = format!("device {} transferred to user {to}", found.cpu_serial);
    audit::providers::record(
        tx,
        actor,
        entry(EventType::DeviceOwnershipTransferred, &found, description).with_details(details),
    )?;
    Ok(found)
}

/// Links `user` as owner of a device just claimed (device_provisioning's step 4). A device
/// being claimed has no links (it is new, or a reset removed them all), so this is a single
/// insert; a leftover link would fail it as a unique violation rather than be overwritten.
pub fn link_owner(tx: &mut Tx<'_>, user: UserId, device: DeviceId) -> Result<(), Error> {
    links::insert(tx, user, device, LinkRole::Owner)
}

/// Removes every link of `user` (before the user is deleted), resetting each device left
/// without an owner; devices are locked in id order. Returns how many devices were reset.
pub fn remove_all_links_of_user(
    tx: &mut Tx<'_>,
    user: UserId,
    actor: &Actor,
) -> Result<usize, Error> {
    let mut resets = 0;
    let mut after = None;
    loop {
        let batch = links::devices_of(tx, user, None, after, 500)?;
        let Some(last) = batch.last() else { return Ok(resets) };
        after = Some(last.0);
        for device in batch {
            let Some(found) = core::lock_device(tx, device)? else { continue };
            let role = links::role_of(tx, user, device)?;
            links::remove(tx, user, device)?;
            if role == Some(LinkRole::Owner) && reset_if_ownerless(tx, &found, actor)? {
                resets += 1;
            }
        }
    }
}
