//! Creating hardware blueprints, for holders of `blueprint:manage`.

use audit::providers::Actor;
use device_core::providers::{self as core, Blueprint, NewBlueprint};
use foundation::{Tx, UserId};
use user_authorization::providers::{Permission, Scope, check_user_permission};

use crate::error::Error;

/// Creates a blueprint when `caller` holds `blueprint:manage` globally (else
/// [`Error::PermissionDenied`]); a taken version is a conflict. Writes `BLUEPRINT_CREATED`.
pub fn create_blueprint(
    tx: &mut Tx<'_>,
    caller: UserId,
    new: &NewBlueprint,
    actor: &Actor,
) -> Result<Blueprint, Error> {
    if !check_user_permission(tx, caller, Permission::BlueprintManage, Scope::Global)? {
        return Err(Error::PermissionDenied("blueprint:manage is required".into()));
    }
    Ok(core::create_blueprint(tx, new, actor)?)
}
