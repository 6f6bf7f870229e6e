//! Deleting a user together with the device resets it causes, in one transaction.

use audit::providers::Actor;
use foundation::{Tx, UserId};
use user_authorization::providers::{self as users, Permission, Scope, check_user_permission};

use crate::error::Error;

/// Deletes `user`: needs `user:manage` globally. Their links are removed first and every
/// device left without an owner is reset (each writing `DEVICE_RESET`), then the user, their
/// tokens, roles and memberships go (`USER_DELETED`). A missing user is a not-found error.
pub fn delete_user(
    tx: &mut Tx<'_>,
    caller: UserId,
    user: UserId,
    actor: &Actor,
) -> Result<(), Error> {
    if !check_user_permission(tx, caller, Permission::UserManage, Scope::Global)? {
        return Err(Error::PermissionDenied("user:manage is required".into()));
    }
    if users::is_active_user(tx, user)?.is_none() {
        return Err(Error::Users(users::Error::NotFound("user")));
    }
    device_access::providers::remove_all_links_of_user(tx, user, actor)?;
    users::delete_user(tx, caller, user, actor)?;
    Ok(())
}
