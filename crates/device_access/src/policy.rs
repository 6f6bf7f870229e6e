//! The access rule of contract §4, per active context:
//!
//! | context | allowed when |
//! | --- | --- |
//! | `personal` | read: an `owner` or `viewer` link; update, delete: an `owner` link |
//! | organization O | the device belongs to O and the user holds `device:<action>` in O |
//! | `global` | the user holds `device:<action>_all` globally |

use device_core::providers::{self as core, Device};
use foundation::{ActiveContext, DbConn, DeviceId, Tx, UserId};
use user_authorization::providers::{Permission, Scope, check_user_permission};

use crate::{
    error::Error,
    links,
    models::{Action, LinkRole},
};

fn organization_permission(action: Action) -> Permission {
    match action {
        Action::Read => Permission::DeviceRead,
        Action::Update => Permission::DeviceUpdate,
        Action::Delete => Permission::DeviceDelete,
    }
}

fn global_permission(action: Action) -> Permission {
    match action {
        Action::Read => Permission::DeviceReadAll,
        Action::Update => Permission::DeviceUpdateAll,
        Action::Delete => Permission::DeviceDeleteAll,
    }
}

/// Whether `user` may do `action` on `device` in `context`.
pub fn may_access(
    conn: &mut DbConn,
    user: UserId,
    device: &Device,
    action: Action,
    context: ActiveContext,
) -> Result<bool, Error> {
    Ok(match context {
        ActiveContext::Personal => matches!(
            (links::role_of(conn, user, device.id)?, action),
            (Some(LinkRole::Owner), _) | (Some(LinkRole::Viewer), Action::Read)
        ),
        ActiveContext::Organization(org) => {
            device.organization_id == Some(org)
                && check_user_permission(
                    conn,
                    user,
                    organization_permission(action),
                    Scope::Organization(org),
                )?
        }
        ActiveContext::Global => {
            check_user_permission(conn, user, global_permission(action), Scope::Global)?
        }
    })
}

fn denied(action: Action, context: ActiveContext) -> Error {
    let what = match action {
        Action::Read => "read",
        Action::Update => "update",
        Action::Delete => "delete",
    };
    Error::PermissionDenied(format!("no {what} access to this device in the {context:?} context"))
}

fn checked(
    conn: &mut DbConn,
    user: UserId,
    device: Option<Device>,
    action: Action,
    context: ActiveContext,
) -> Result<Device, Error> {
    let device = device.ok_or(Error::NotFound("device"))?;
    if may_access(conn, user, &device, action, context)? {
        Ok(device)
    } else {
        Err(denied(action, context))
    }
}

/// The device, when `user` may do `action` on it in `context`. A missing device is
/// [`Error::NotFound`] (whatever the context); a refusal [`Error::PermissionDenied`].
pub fn get_device_if_user_has_access(
    conn: &mut DbConn,
    user: UserId,
    device: DeviceId,
    action: Action,
    context: ActiveContext,
) -> Result<Device, Error> {
    let found = core::get_device(conn, device)?;
    checked(conn, user, found, action, context)
}

/// [`get_device_if_user_has_access`] for reading (the seed's smart provider).
pub fn get_device_if_user_has_read_access(
    conn: &mut DbConn,
    user: UserId,
    device: DeviceId,
    context: ActiveContext,
) -> Result<Device, Error> {
    get_device_if_user_has_access(conn, user, device, Action::Read, context)
}

/// [`get_device_if_user_has_access`] for updating.
pub fn get_device_if_user_has_update_access(
    conn: &mut DbConn,
    user: UserId,
    device: DeviceId,
    context: ActiveContext,
) -> Result<Device, Error> {
    get_device_if_user_has_access(conn, user, device, Action::Update, context)
}

/// [`get_device_if_user_has_access`] for deleting.
pub fn get_device_if_user_has_delete_access(
    conn: &mut DbConn,
    user: UserId,
    device: DeviceId,
    context: ActiveContext,
) -> Result<Device, Error> {
    get_device_if_user_has_access(conn, user, device, Action::Delete, context)
}

/// Locks the device's row, then checks `action` as above: the decision and the change that
/// follows see the same links.
pub(crate) fn lock_with_access(
    tx: &mut Tx<'_>,
    user: UserId,
    device: DeviceId,
    action: Action,
    context: ActiveContext,
) -> Result<Device, Error> {
    let found = core::lock_device(tx, device)?;
    checked(tx, user, found, action, context)
}

/// Whether `user` has an `owner` link to `device`.
pub fn is_user_owner_of_device(
    conn: &mut DbConn,
    user: UserId,
    device: DeviceId,
) -> Result<bool, Error> {
    Ok(links::role_of(conn, user, device)? == Some(LinkRole::Owner))
}
