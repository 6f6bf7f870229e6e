//! Organizations and their members: every member holds exactly one organization role.

use audit::providers::{Actor, EventType, NewEntry};
use diesel::prelude::*;
use foundation::{
    DbConn, OrganizationId, Tx, UserId,
    pagination::{Page, PageParams, Pager},
    time,
};

use crate::{
    error::{Error, conflict_on_unique},
    models::{Member, Membership, Organization, OrganizationRow, Permission, Role, Scope},
    roles::{check_user_permission, insert_grant, require, role_id},
    schema::{organizations as o, roles, user_roles as ur, users},
    users::require_user,
    validate,
};

fn require_organization(conn: &mut DbConn, org: OrganizationId) -> Result<Organization, Error> {
    let row: Option<OrganizationRow> = o::table.find(org.0).first(conn).optional()?;
    row.map(Organization::from).ok_or(Error::NotFound("organization"))
}

/// Whether the organization exists.
pub fn organization_exists(conn: &mut DbConn, org: OrganizationId) -> Result<bool, Error> {
    Ok(diesel::select(diesel::dsl::exists(o::table.find(org.0))).get_result(conn)?)
}

/// Creates an organization; `caller` becomes its `org_admin`. A bad name (1–128 characters,
/// not only whitespace, no control characters) is [`Error::Invalid`]; a taken one
/// [`Error::Conflict`]. Writes `ORGANIZATION_CREATED`.
pub fn create_organization(
    tx: &mut Tx<'_>,
    caller: UserId,
    name: &str,
    actor: &Actor,
) -> Result<Organization, Error> {
    validate::display_name("organization name", name, 128)?;
    let row: OrganizationRow = tx
        .savepoint(|conn| {
            diesel::insert_into(o::table)
                .values((o::name.eq(name), o::created_at.eq(time::now())))
                .get_result(conn)
        })
        .map_err(|e| conflict_on_unique(e, "an organization with that name exists"))?;
    let org = Organization::from(row);
    insert_grant(tx, caller, Role::OrgAdmin, Some(org.id))?;
    let entry =
        NewEntry::new(EventType::OrganizationCreated, format!("organization {} created", org.name))
            .in_organization(org.id)
            .with_details(serde_json::json!({ "name": org.name, "org_admin": caller.0 }));
    audit::providers::record(tx, actor, entry)?;
    Ok(org)
}

/// One page of the caller's organizations by id — every organization for holders of
/// `org:manage` globally.
pub fn list_organizations(
    conn: &mut DbConn,
    caller: UserId,
    page: &PageParams,
) -> Result<Page<Organization>, Error> {
    let everything = check_user_permission(conn, caller, Permission::OrgManage, Scope::Global)?;
    let pager: Pager<i64> = Pager::new(format!("organizations:{everything}"), page)?;
    let mut query = o::table.order(o::id).limit(pager.fetch()).into_boxed();
    if !everything {
        let mine = ur::table
            .filter(ur::user_id.eq(caller.0))
            .select(ur::organization_id.assume_not_null());
        query = query.filter(o::id.eq_any(mine));
    }
    if let Some(after) = pager.after() {
        query = query.filter(o::id.gt(*after));
    }
    let rows: Vec<OrganizationRow> = query.load(conn)?;
    Ok(pager.page(rows, |row| row.id).map(Organization::from))
}

fn membership_role(
    conn: &mut DbConn,
    org: OrganizationId,
    user: UserId,
) -> Result<Option<Role>, Error> {
    let name: Option<String> = ur::table
        .inner_join(roles::table)
        .filter(ur::organization_id.eq(org.0))
        .filter(ur::user_id.eq(user.0))
        .select(roles::name)
        .first(conn)
        .optional()?;
    name.map(|n| n.parse()).transpose()
}

/// One organization, for its members and holders of `org:manage` globally. Missing:
/// [`Error::NotFound`]; not visible to the caller: [`Error::PermissionDenied`].
pub fn get_organization(
    conn: &mut DbConn,
    caller: UserId,
    org: OrganizationId,
) -> Result<Organization, Error> {
    let found = require_organization(conn, org)?;
    let member = membership_role(conn, org, caller)?.is_some();
    if !member && !check_user_permission(conn, caller, Permission::OrgManage, Scope::Global)? {
        return Err(Error::PermissionDenied("not a member of this organization".into()));
    }
    Ok(found)
}

/// One page of an organization's members by user id. Needs `org:manage` in it.
pub fn list_members(
    conn: &mut DbConn,
    caller: UserId,
    org: OrganizationId,
    page: &PageParams,
) -> Result<Page<Member>, Error> {
    require_organization(conn, org)?;
    require(conn, caller, Permission::OrgManage, Scope::Organization(org))?;
    let pager: Pager<i64> = Pager::new(format!("members:{org}"), page)?;
    let mut query = ur::table
        .inner_join(users::table)
        .inner_join(roles::table)
        .filter(ur::organization_id.eq(org.0))
        .select((users::id, users::username, roles::name))
        .order(users::id)
        .limit(pager.fetch())
        .into_boxed();
    if let Some(after) = pager.after() {
        query = query.filter(users::id.gt(*after));
    }
    let rows: Vec<(i64, String, String)> = query.load(conn)?;
    let page = pager.page(rows, |row| row.0);
    let items = page
        .items
        .into_iter()
        .map(|(id, username, role)| {
            Ok(Member { user_id: UserId(id), username, role: role.parse()? })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Page { items, next_cursor: page.next_cursor })
}

/// Sets `user`'s one role in the organization (`PUT …/members/{user_id}`). Needs `org:manage`
/// in it; the organization or user missing is [`Error::NotFound`]; an unknown or global role
/// [`Error::Invalid`]. A newcomer writes `MEMBER_ADDED`, a change `ROLE_GRANTED`, the role
/// already held nothing.
pub fn set_member_role(
    tx: &mut Tx<'_>,
    caller: UserId,
    org: OrganizationId,
    user: UserId,
    role: &str,
    actor: &Actor,
) -> Result<(), Error> {
    require_organization(tx, org)?;
    require(tx, caller, Permission::OrgManage, Scope::Organization(org))?;
    let role: Role = role.parse()?;
    if role.is_global() {
        return Err(Error::Invalid(format!("{} is not an organization role", role.as_str())));
    }
    require_user(tx, user)?;
    let event = match membership_role(tx, org, user)? {
        Some(held) if held == role => return Ok(()),
        Some(_) => {
            change_role(tx, org, user, role)?;
            EventType::RoleGranted
        }
        None if insert_grant(tx, user, role, Some(org))? => EventType::MemberAdded,
        None => {
            // Added by a concurrent request between our read and insert: set the role.
            change_role(tx, org, user, role)?;
            EventType::RoleGranted
        }
    };
    let entry =
        NewEntry::new(event, format!("user {user} is {} in organization {org}", role.as_str()))
            .in_organization(org)
            .with_details(serde_json::json!({ "user_id": user.0, "role": role.as_str() }));
    audit::providers::record(tx, actor, entry)?;
    Ok(())
}

fn change_role(
    tx: &mut Tx<'_>,
    org: OrganizationId,
    user: UserId,
    role: Role,
) -> Result<(), Error> {
    let role_id = role_id(tx, role)?;
    diesel::update(ur::table.filter(ur::organization_id.eq(org.0)).filter(ur::user_id.eq(user.0)))
        .set(ur::role_id.eq(role_id))
        .execute(&mut **tx)?;
    Ok(())
}

/// Removes `user` from the organization. Needs `org:manage` in it; a missing organization or
/// a user who is not a member is [`Error::NotFound`]. Writes `MEMBER_REMOVED`.
pub fn remove_member(
    tx: &mut Tx<'_>,
    caller: UserId,
    org: OrganizationId,
    user: UserId,
    actor: &Actor,
) -> Result<(), Error> {
    require_organization(tx, org)?;
    require(tx, caller, Permission::OrgManage, Scope::Organization(org))?;
    let removed = diesel::delete(
        ur::table.filter(ur::organization_id.eq(org.0)).filter(ur::user_id.eq(user.0)),
    )
    .execute(&mut **tx)?;
    if removed == 0 {
        return Err(Error::NotFound("membership"));
    }
    let entry = NewEntry::new(
        EventType::MemberRemoved,
        format!("user {user} removed from organization {org}"),
    )
    .in_organization(org)
    .with_details(serde_json::json!({ "user_id": user.0 }));
    audit::providers::record(tx, actor, entry)?;
    Ok(())
}

/// The organizations `user` belongs to, with their role, by id.
pub(crate) fn memberships_of(conn: &mut DbConn, user: UserId) -> Result<Vec<Membership>, Error> {
    let rows: Vec<(i64, String, String)> = ur::table
        .inner_join(o::table)
        .inner_join(roles::table)
        .filter(ur::user_id.eq(user.0))
        .select((o::id, o::name, roles::name))
        .order(o::id)
        .load(conn)?;
    rows.into_iter()
        .map(|(id, name, role)| {
            Ok(Membership { id: OrganizationId(id), name, role: role.parse()? })
        })
        .collect()
}
