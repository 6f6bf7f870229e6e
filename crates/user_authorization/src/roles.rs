//! Permissions and roles (contract §3): the permission check every rule relies on, and
//! granting and revoking global roles.

use audit::providers::{Actor, EventType, NewEntry};
use diesel::{dsl::exists, prelude::*};
use foundation::{DbConn, OrganizationId, Tx, UserId, time};

use crate::{
    error::Error,
    models::{Permission, Role, Scope},
    schema::{permissions, role_permissions, roles, user_roles, users},
    users::require_user,
};

/// Whether `user` holds `permission` in `scope`: globally through a global role; in an
/// organization through their role there or the global `admin` role (no other global role).
/// An inactive (or missing) user holds nothing. Read-only; fails only on storage errors.
pub fn check_user_permission(
    conn: &mut DbConn,
    user: UserId,
    permission: Permission,
    scope: Scope,
) -> Result<bool, Error> {
    let grants = user_roles::table
        .inner_join(users::table)
        .inner_join(roles::table.inner_join(role_permissions::table.inner_join(permissions::table)))
        .filter(user_roles::user_id.eq(user.0))
        .filter(users::is_active.eq(true))
        .filter(permissions::name.eq(permission.as_str()));
    let held = match scope {
        Scope::Global => {
            diesel::select(exists(grants.filter(user_roles::organization_id.is_null())))
                .get_result(conn)?
        }
        Scope::Organization(org) => {
            diesel::select(exists(grants.filter(user_roles::organization_id.eq(org.0).or(
                user_roles::organization_id.is_null().and(roles::name.eq(Role::Admin.as_str())),
            ))))
            .get_result(conn)?
        }
    };
    Ok(held)
}

/// [`check_user_permission`], as an error when not held.
pub(crate) fn require(
    conn: &mut DbConn,
    user: UserId,
    permission: Permission,
    scope: Scope,
) -> Result<(), Error> {
    if check_user_permission(conn, user, permission, scope)? {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!("{} is required", permission.as_str())))
    }
}

pub(crate) fn role_id(conn: &mut DbConn, role: Role) -> Result<i64, Error> {
    Ok(roles::table.filter(roles::name.eq(role.as_str())).select(roles::id).first(conn)?)
}

/// Adds a grant of `role` to `user` in `organization` (`None`: global) unless an equal grant
/// exists; returns whether it was added. Concurrent equal grants end with one row.
pub(crate) fn insert_grant(
    tx: &mut Tx<'_>,
    user: UserId,
    role: Role,
    organization: Option<OrganizationId>,
) -> Result<bool, Error> {
    let role_id = role_id(tx, role)?;
    let inserted = tx.savepoint(|conn| {
        diesel::insert_into(user_roles::table)
            .values((
                user_roles::user_id.eq(user.0),
                user_roles::role_id.eq(role_id),
                user_roles::organization_id.eq(organization.map(|o| o.0)),
                user_roles::created_at.eq(time::now()),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(err) => {
            let db: foundation::DbError = err.into();
            if db.is_unique_violation() { Ok(false) } else { Err(Error::Storage(db)) }
        }
    }
}

/// The checks both role changes start with: `user:manage` globally, a known global role, an
/// existing user.
fn checked_global_role(
    tx: &mut Tx<'_>,
    caller: UserId,
    user: UserId,
    role: &str,
) -> Result<Role, Error> {
    require(tx, caller, Permission::UserManage, Scope::Global)?;
    let role = global_role(role)?;
    require_user(tx, user)?;
    Ok(role)
}

fn role_entry(event: EventType, user: UserId, role: Role) -> NewEntry {
    let verb = if event == EventType::RoleGranted { "granted" } else { "revoked" };
    NewEntry::new(event, format!("global role {} {verb}", role.as_str()))
        .with_details(serde_json::json!({ "user_id": user.0, "role": role.as_str() }))
}

fn global_role(role: &str) -> Result<Role, Error> {
    let role: Role = role.parse()?;
    if role.is_global() {
        Ok(role)
    } else {
        Err(Error::Invalid(format!(
            "{} is an organization role; set it through organization membership",
            role.as_str()
        )))
    }
}

/// Grants the global role named `role` to `user` (`PUT /users/{id}/roles/{role}`).
///
/// Needs `user:manage` globally (else [`Error::PermissionDenied`]); an unknown or
/// organization role is [`Error::Invalid`]; a missing user [`Error::NotFound`]. Granting a
/// role already held changes nothing and writes no audit row; otherwise `ROLE_GRANTED`.
pub fn grant_global_role(
    tx: &mut Tx<'_>,
    caller: UserId,
    user: UserId,
    role: &str,
    actor: &Actor,
) -> Result<(), Error> {
    let role = checked_global_role(tx, caller, user, role)?;
    if insert_grant(tx, user, role, None)? {
        audit::providers::record(tx, actor, role_entry(EventType::RoleGranted, user, role))?;
    }
    Ok(())
}

/// Revokes the global role named `role` from `user` (`DELETE /users/{id}/roles/{role}`).
///
/// Needs `user:manage` globally; a role not held (or a missing user) is [`Error::NotFound`];
/// an unknown or organization role is [`Error::Invalid`]. Writes `ROLE_REVOKED`.
pub fn revoke_global_role(
    tx: &mut Tx<'_>,
    caller: UserId,
    user: UserId,
    role: &str,
    actor: &Actor,
) -> Result<(), Error> {
    let role = checked_global_role(tx, caller, user, role)?;
    let role_id = role_id(tx, role)?;
    let removed = diesel::delete(
        user_roles::table
            .filter(user_roles::user_id.eq(user.0))
            .filter(user_roles::role_id.eq(role_id))
            .filter(user_roles::organization_id.is_null()),
    )
    .execute(&mut **tx)?;
    if removed == 0 {
        return Err(Error::NotFound("role grant"));
    }
    audit::providers::record(tx, actor, role_entry(EventType::RoleRevoked, user, role))?;
    Ok(())
}

/// The global roles `user` holds, by name.
pub(crate) fn global_roles_of(conn: &mut DbConn, user: UserId) -> Result<Vec<Role>, Error> {
    let names: Vec<String> = user_roles::table
        .inner_join(roles::table)
        .filter(user_roles::user_id.eq(user.0))
        .filter(user_roles::organization_id.is_null())
        .select(roles::name)
        .load(conn)?;
    let mut roles: Vec<Role> = names.iter().filter_map(|n| n.parse().ok()).collect();
    roles.sort();
    Ok(roles)
}
