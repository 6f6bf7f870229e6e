//! Queries on `user_devices`.

use diesel::prelude::*;
use foundation::{DbConn, DeviceId, Tx, UserId, time};

use crate::{error::Error, models::LinkRole, schema::user_devices as ud};

pub(crate) fn role_of(
    conn: &mut DbConn,
    user: UserId,
    device: DeviceId,
) -> Result<Option<LinkRole>, Error> {
    let role: Option<String> =
        ud::table.find((user.0, device.0)).select(ud::role).first(conn).optional()?;
    role.map(|r| LinkRole::parse(&r)).transpose()
}

pub(crate) fn owner_count(conn: &mut DbConn, device: DeviceId) -> Result<i64, Error> {
    Ok(ud::table
        .filter(ud::device_id.eq(device.0))
        .filter(ud::role.eq(LinkRole::Owner.as_str()))
        .count()
        .get_result(conn)?)
}

pub(crate) fn owners(conn: &mut DbConn, device: DeviceId) -> Result<Vec<UserId>, Error> {
    let ids: Vec<i64> = ud::table
        .filter(ud::device_id.eq(device.0))
        .filter(ud::role.eq(LinkRole::Owner.as_str()))
        .select(ud::user_id)
        .order(ud::user_id)
        .load(conn)?;
    Ok(ids.into_iter().map(UserId).collect())
}

/// Sets `user`'s role on `device`, creating the link if needed. (The device row is locked by
/// the caller, so no other transaction changes this device's links meanwhile.)
pub(crate) fn set_role(
    tx: &mut Tx<'_>,
    user: UserId,
    device: DeviceId,
    role: LinkRole,
) -> Result<(), Error> {
    let updated = diesel::update(ud::table.find((user.0, device.0)))
        .set(ud::role.eq(role.as_str()))
        .execute(&mut **tx)?;
    if updated == 0 {
        insert(tx, user, device, role)?;
    }
    Ok(())
}

/// A new link (the pair must not have one).
pub(crate) fn insert(
    tx: &mut Tx<'_>,
    user: UserId,
    device: DeviceId,
    role: LinkRole,
) -> Result<(), Error> {
    diesel::insert_into(ud::table)
        .values((
            ud::user_id.eq(user.0),
            ud::device_id.eq(device.0),
            ud::role.eq(role.as_str()),
            ud::created_at.eq(time::now()),
        ))
        .execute(&mut **tx)?;
    Ok(())
}

pub(crate) fn remove(tx: &mut Tx<'_>, user: UserId, device: DeviceId) -> Result<bool, Error> {
    Ok(diesel::delete(ud::table.find((user.0, device.0))).execute(&mut **tx)? > 0)
}

pub(crate) fn remove_all(tx: &mut Tx<'_>, device: DeviceId) -> Result<(), Error> {
    diesel::delete(ud::table.filter(ud::device_id.eq(device.0))).execute(&mut **tx)?;
    Ok(())
}

pub(crate) fn remove_owners_except(
    tx: &mut Tx<'_>,
    device: DeviceId,
    keep: UserId,
) -> Result<(), Error> {
    diesel::delete(
        ud::table
            .filter(ud::device_id.eq(device.0))
            .filter(ud::role.eq(LinkRole::Owner.as_str()))
            .filter(ud::user_id.ne(keep.0)),
    )
    .execute(&mut **tx)?;
    Ok(())
}

/// `(user, role, created_at)` of a device's links with user ids above `after`, by user id.
pub(crate) fn of_device(
    conn: &mut DbConn,
    device: DeviceId,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<(i64, String, chrono::NaiveDateTime)>, Error> {
    let mut query = ud::table
        .filter(ud::device_id.eq(device.0))
        .select((ud::user_id, ud::role, ud::created_at))
        .order(ud::user_id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(ud::user_id.gt(after));
    }
    Ok(query.load(conn)?)
}

/// Device ids `user` is linked to (with `role`, when given), above `after`, by id.
pub(crate) fn devices_of(
    conn: &mut DbConn,
    user: UserId,
    role: Option<LinkRole>,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<DeviceId>, Error> {
    let mut query = ud::table
        .filter(ud::user_id.eq(user.0))
        .select(ud::device_id)
        .order(ud::device_id)
        .limit(limit)
        .into_boxed();
    if let Some(role) = role {
        query = query.filter(ud::role.eq(role.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(ud::device_id.gt(after));
    }
    let ids: Vec<i64> = query.load(conn)?;
    Ok(ids.into_iter().map(DeviceId).collect())
}
