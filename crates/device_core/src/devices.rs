//! Devices and their credentials: the data operations. Who may do what is decided by the
//! callers (device_access, device_provisioning) before they call these.

use diesel::prelude::*;
use foundation::{DbConn, DeviceId, OrganizationId, Tx, time};

use crate::{
    error::Error,
    models::{Blueprint, Credentials, Device, DeviceFilter, DeviceRow, DeviceStatus},
    schema::{devices as d, hardware_blueprints as hb},
    secrets, validate,
};

type Columns = (
    d::id,
    d::cpu_serial,
    d::current_uuid,
    d::hardware_blueprint_id,
    d::organization_id,
    d::name,
    d::status,
    d::claimed_at,
    d::created_at,
    d::updated_at,
    hb::version,
);

const COLUMNS: Columns = (
    d::id,
    d::cpu_serial,
    d::current_uuid,
    d::hardware_blueprint_id,
    d::organization_id,
    d::name,
    d::status,
    d::claimed_at,
    d::created_at,
    d::updated_at,
    hb::version,
);

/// Checks the serial format of contract §2 (422 when broken).
pub fn validate_serial(serial: &str) -> Result<(), Error> {
    validate::cpu_serial(serial)
}

/// The device with this id, if any.
pub fn get_device(conn: &mut DbConn, id: DeviceId) -> Result<Option<Device>, Error> {
    let row: Option<DeviceRow> = d::table
        .inner_join(hb::table)
        .select(COLUMNS)
        .filter(d::id.eq(id.0))
        .first(conn)
        .optional()?;
    Ok(row.map(Device::from))
}

/// Locks the device's row until the transaction ends (so changes to one device queue behind
/// each other on every backend) and returns it; `None` when it does not exist.
pub fn lock_device(tx: &mut Tx<'_>, id: DeviceId) -> Result<Option<Device>, Error> {
    diesel::update(d::table.find(id.0)).set(d::id.eq(d::id)).execute(&mut **tx)?;
    get_device(tx, id)
}

/// Locks and returns the device with this serial, if any.
pub fn lock_device_by_serial(tx: &mut Tx<'_>, serial: &str) -> Result<Option<Device>, Error> {
    diesel::update(d::table.filter(d::cpu_serial.eq(serial)))
        .set(d::id.eq(d::id))
        .execute(&mut **tx)?;
    let row: Option<DeviceRow> = d::table
        .inner_join(hb::table)
        .select(COLUMNS)
        .filter(d::cpu_serial.eq(serial))
        .first(&mut **tx)
        .optional()?;
    Ok(row.map(Device::from))
}

/// Creates an `active` device with fresh credentials, unless the serial exists (then `None`,
/// and nothing is written). Concurrent calls with one serial create one device: the database
/// decides (`ON CONFLICT DO NOTHING`), the losers wait for the winner's commit and get `None`.
pub fn insert_claimed_device(
    tx: &mut Tx<'_>,
    serial: &str,
    blueprint: &Blueprint,
    organization: Option<OrganizationId>,
    name: Option<&str>,
) -> Result<Option<(Device, Credentials)>, Error> {
    validate::cpu_serial(serial)?;
    if let Some(name) = name {
        validate::device_name(name)?;
    }
    let (uuid, secret) = (secrets::new_uuid()?, secrets::new_secret()?);
    let now = time::now();
    let values = (
        d::cpu_serial.eq(serial),
        d::current_uuid.eq(&uuid),
        d::hardware_blueprint_id.eq(blueprint.id),
        d::organization_id.eq(organization.map(|o| o.0)),
        d::name.eq(name),
        d::status.eq(DeviceStatus::Active.as_str()),
        d::credential_hash.eq(secrets::hash(&secret)),
        d::claimed_at.eq(now),
        d::created_at.eq(now),
        d::updated_at.eq(now),
    );
    let id: Option<i64> = match &mut **tx {
        DbConn::Pg(c) => diesel::insert_into(d::table)
            .values(values)
            .on_conflict(d::cpu_serial)
            .do_nothing()
            .returning(d::id)
            .get_result(c)
            .optional()?,
        DbConn::Sqlite(c) => diesel::insert_into(d::table)
            .values(values)
            .on_conflict(d::cpu_serial)
            .do_nothing()
            .returning(d::id)
            .get_result(c)
            .optional()?,
    };
    let Some(id) = id else { return Ok(None) };
    // Everything stored is known here: no need to read the row back.
    let device = Device {
        id: DeviceId(id),
        cpu_serial: serial.to_owned(),
        current_uuid: uuid.clone(),
        name: name.map(str::to_owned),
        status: DeviceStatus::Active,
        organization_id: organization,
        hardware_blueprint_id: blueprint.id,
        hardware_blueprint_version: blueprint.version.clone(),
        claimed_at: Some(now),
        created_at: now,
        updated_at: now,
    };
    Ok(Some((device, Credentials { device_uuid: uuid, device_secret: secret })))
}

/// Claims an `unclaimed` device: `active`, a fresh uuid and secret, the given organization and
/// name. [`Error::Conflict`] when it is not unclaimed.
pub fn activate_device(
    tx: &mut Tx<'_>,
    id: DeviceId,
    organization: Option<OrganizationId>,
    name: Option<&str>,
) -> Result<(Device, Credentials), Error> {
    if let Some(name) = name {
        validate::device_name(name)?;
    }
    let (uuid, secret) = (secrets::new_uuid()?, secrets::new_secret()?);
    let now = time::now();
    let changed = diesel::update(
        d::table.filter(d::id.eq(id.0)).filter(d::status.eq(DeviceStatus::Unclaimed.as_str())),
    )
    .set((
        d::status.eq(DeviceStatus::Active.as_str()),
        d::current_uuid.eq(&uuid),
        d::credential_hash.eq(secrets::hash(&secret)),
        d::organization_id.eq(organization.map(|o| o.0)),
        d::name.eq(name),
        d::claimed_at.eq(now),
        d::updated_at.eq(now),
    ))
    .execute(&mut **tx)?;
    if changed == 0 {
        return Err(Error::Conflict("the device is not unclaimed".into()));
    }
    let device = get_device(tx, id)?.ok_or(Error::NotFound("device"))?;
    Ok((device, Credentials { device_uuid: uuid, device_secret: secret }))
}

/// Resets a device whose last owner left: `unclaimed`, a new uuid, no credential, no name;
/// organization and claim code kept. (Links and the audit row are the caller's part.)
pub fn reset_device(tx: &mut Tx<'_>, id: DeviceId) -> Result<Device, Error> {
    let uuid = secrets::new_uuid()?;
    diesel::update(d::table.find(id.0))
        .set((
            d::status.eq(DeviceStatus::Unclaimed.as_str()),
            d::current_uuid.eq(uuid),
            d::credential_hash.eq(None::<String>),
            d::name.eq(None::<String>),
            d::claimed_at.eq(None::<chrono::NaiveDateTime>),
            d::updated_at.eq(time::now()),
        ))
        .execute(&mut **tx)?;
    get_device(tx, id)?.ok_or(Error::NotFound("device"))
}

/// Sets or clears (`None`) the name; a bad name is [`Error::Invalid`].
pub fn rename_device(tx: &mut Tx<'_>, id: DeviceId, name: Option<&str>) -> Result<Device, Error> {
    if let Some(name) = name {
        validate::device_name(name)?;
    }
    diesel::update(d::table.find(id.0))
        .set((d::name.eq(name), d::updated_at.eq(time::now())))
        .execute(&mut **tx)?;
    get_device(tx, id)?.ok_or(Error::NotFound("device"))
}

/// Deletes the device (its links go with it).
pub fn delete_device(tx: &mut Tx<'_>, id: DeviceId) -> Result<(), Error> {
    diesel::delete(d::table.find(id.0)).execute(&mut **tx)?;
    Ok(())
}

/// Issues a new secret for the device (its uuid stays); the old secret stops working.
pub fn rotate_credentials(tx: &mut Tx<'_>, id: DeviceId) -> Result<Credentials, Error> {
    let secret = secrets::new_secret()?;
    let uuid: String = diesel::update(d::table.find(id.0))
        .set((d::credential_hash.eq(secrets::hash(&secret)), d::updated_at.eq(time::now())))
        .returning(d::current_uuid)
        .get_result(&mut **tx)?;
    Ok(Credentials { device_uuid: uuid, device_secret: secret })
}

/// The device whose current uuid and secret these are, with its status; `None` for anything
/// else (unknown uuid, wrong or revoked secret).
pub fn authenticate_device(
    conn: &mut DbConn,
    device_uuid: &str,
    device_secret: &str,
) -> Result<Option<(DeviceId, DeviceStatus)>, Error> {
    let row: Option<(i64, String, Option<String>)> = d::table
        .filter(d::current_uuid.eq(device_uuid))
        .select((d::id, d::status, d::credential_hash))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(id, status, hash)| {
        let stored = hash?;
        secrets::matches(device_secret, &stored)
            .then(|| (DeviceId(id), DeviceStatus::parse(&status)))
    }))
}

type Joined = diesel::dsl::InnerJoin<d::table, hb::table>;

/// Devices joined with their blueprint, narrowed by `filter`: one query gives a page.
fn filtered(
    filter: &DeviceFilter,
) -> diesel::dsl::IntoBoxed<'static, Joined, <DbConn as Connection>::Backend> {
    let mut query = d::table.inner_join(hb::table).into_boxed();
    if let Some(org) = filter.organization_id {
        query = query.filter(d::organization_id.eq(org.0));
    }
    if let Some(status) = filter.status {
        query = query.filter(d::status.eq(status.as_str()));
    }
    if let Some(blueprint) = filter.blueprint_id {
        query = query.filter(d::hardware_blueprint_id.eq(blueprint));
    }
    query
}

/// Up to `limit` devices matching `filter` with ids above `after`, by id.
pub fn list_devices(
    conn: &mut DbConn,
    filter: &DeviceFilter,
    after: Option<DeviceId>,
    limit: i64,
) -> Result<Vec<Device>, Error> {
    let mut query = filtered(filter).select(COLUMNS).order(d::id).limit(limit);
    if let Some(after) = after {
        query = query.filter(d::id.gt(after.0));
    }
    let rows: Vec<DeviceRow> = query.load(conn)?;
    Ok(rows.into_iter().map(Device::from).collect())
}

/// The devices among `ids` that match `filter`, by id.
pub fn devices_by_ids(
    conn: &mut DbConn,
    ids: &[DeviceId],
    filter: &DeviceFilter,
) -> Result<Vec<Device>, Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    let rows: Vec<DeviceRow> =
        filtered(filter).select(COLUMNS).filter(d::id.eq_any(ids)).order(d::id).load(conn)?;
    Ok(rows.into_iter().map(Device::from).collect())
}
