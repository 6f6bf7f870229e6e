//! Factory registration: devices written `unclaimed`, without owner, organization or
//! credential, many rows per statement.

use diesel::prelude::*;
use foundation::{DbConn, DeviceId, Tx, time};

use crate::{error::Error, models::DeviceStatus, schema::devices as d, secrets};

/// One device to register.
#[derive(Debug, Clone)]
pub struct Registration {
    #[allow(missing_docs)]
    pub cpu_serial: String,
    #[allow(missing_docs)]
    pub blueprint_id: i64,
    /// SHA-256 of its claim code (`None`: claimable by serial alone).
    pub claim_code_hash: Option<String>,
}

/// Which of `serials` exist already.
pub fn existing_serials(conn: &mut DbConn, serials: &[String]) -> Result<Vec<String>, Error> {
    let mut found = Vec::new();
    for chunk in serials.chunks(1000) {
        let rows: Vec<String> =
            d::table.filter(d::cpu_serial.eq_any(chunk)).select(d::cpu_serial).load(conn)?;
        found.extend(rows);
    }
    Ok(found)
}

/// Writes the devices (up to 1000 per statement), skipping serials that exist when
/// `skip_existing`; returns `(id, serial)` of the rows written. Without `skip_existing`, an
/// existing serial is [`Error::Conflict`] and the caller's transaction should roll back.
pub fn register_devices(
    tx: &mut Tx<'_>,
    devices: &[Registration],
    skip_existing: bool,
) -> Result<Vec<(DeviceId, String)>, Error> {
    let mut written = Vec::with_capacity(devices.len());
    for chunk in devices.chunks(1000) {
        let now = time::now();
        let mut rows = Vec::with_capacity(chunk.len());
        for device in chunk {
            rows.push((
                d::cpu_serial.eq(device.cpu_serial.clone()),
                d::current_uuid.eq(secrets::new_uuid()?),
                d::hardware_blueprint_id.eq(device.blueprint_id),
                d::status.eq(DeviceStatus::Unclaimed.as_str()),
                d::claim_code_hash.eq(device.claim_code_hash.clone()),
                d::created_at.eq(now),
                d::updated_at.eq(now),
            ));
        }
        let inserted: Vec<(i64, String)> = match (&mut **tx, skip_existing) {
            (DbConn::Pg(c), true) => diesel::insert_into(d::table)
                .values(&rows)
                .on_conflict(d::cpu_serial)
                .do_nothing()
                .returning((d::id, d::cpu_serial))
                .get_results(c)?,
            (DbConn::Pg(c), false) => diesel::insert_into(d::table)
                .values(&rows)
                .returning((d::id, d::cpu_serial))
                .get_results(c)?,
            (DbConn::Sqlite(c), true) => diesel::insert_into(d::table)
                .values(&rows)
                .on_conflict(d::cpu_serial)
                .do_nothing()
                .returning((d::id, d::cpu_serial))
                .get_results(c)?,
            (DbConn::Sqlite(c), false) => diesel::insert_into(d::table)
                .values(&rows)
                .returning((d::id, d::cpu_serial))
                .get_results(c)?,
        };
        written.extend(inserted.into_iter().map(|(id, serial)| (DeviceId(id), serial)));
    }
    Ok(written)
}
