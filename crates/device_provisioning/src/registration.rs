//! Factory registration (contract §5.1): many devices at once, all or nothing, each with a
//! claim code; and the operator's bulk import of a factory file.

use std::collections::{HashMap, HashSet};

use audit::providers::{Actor, EventType, NewEntry};
use device_core::providers::{self as core, Registration};
use foundation::{DbConn, DeviceId, Tx, UserId};
use user_authorization::providers::{Permission, Scope, check_user_permission};

use crate::error::{Error, ItemError};

/// Most devices one registration request may carry.
pub const MAX_REGISTRATION_ITEMS: usize = 1000;

/// One device a manufacturer registers.
#[derive(Debug, Clone)]
pub struct RegistrationItem {
    #[allow(missing_docs)]
    pub cpu_serial: String,
    #[allow(missing_docs)]
    pub hardware_blueprint_version: String,
    /// The code printed on the device; `None` to have one generated.
    pub claim_code: Option<String>,
}

/// A device just registered.
#[derive(Clone, PartialEq, Eq)]
pub struct RegisteredDevice {
    #[allow(missing_docs)]
    pub id: DeviceId,
    #[allow(missing_docs)]
    pub cpu_serial: String,
    /// The generated claim code, shown this once; `None` when the manufacturer supplied it.
    pub claim_code: Option<String>,
}

impl std::fmt::Debug for RegisteredDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredDevice")
            .field("id", &self.id)
            .field("cpu_serial", &self.cpu_serial)
            .finish()
    }
}

/// Blueprint ids by version, looked up once per version.
#[derive(Debug, Default)]
struct Blueprints(HashMap<String, Option<i64>>);

impl Blueprints {
    fn id(&mut self, conn: &mut DbConn, version: &str) -> Result<Option<i64>, Error> {
        if let Some(id) = self.0.get(version) {
            return Ok(*id);
        }
        let id = core::find_blueprint_by_version(conn, version)?.map(|b| b.id);
        self.0.insert(version.to_owned(), id);
        Ok(id)
    }
}

/// Checks one item; `Ok(Err(…))` is the item's own error.
fn check(
    conn: &mut DbConn,
    blueprints: &mut Blueprints,
    index: usize,
    item: &RegistrationItem,
) -> Result<Result<i64, ItemError>, Error> {
    let invalid = |code: &'static str, detail: String| Ok(Err(ItemError { index, code, detail }));
    if let Err(e) = core::validate_serial(&item.cpu_serial) {
        return invalid("validation_error", e.to_string());
    }
    if let Some(Err(e)) = item.claim_code.as_deref().map(core::validate_claim_code) {
        return invalid("validation_error", e.to_string());
    }
    match blueprints.id(conn, &item.hardware_blueprint_version)? {
        Some(id) => Ok(Ok(id)),
        None => invalid(
            "unknown_blueprint",
            format!("no hardware blueprint has version {:?}", item.hardware_blueprint_version),
        ),
    }
}

fn registered_entries(devices: &[(DeviceId, String)]) -> Vec<NewEntry> {
    devices
        .iter()
        .map(|(id, serial)| {
            NewEntry::new(EventType::DeviceRegistered, format!("device {serial} registered"))
                .on_device(*id)
                .with_details(serde_json::json!({ "cpu_serial": serial }))
        })
        .collect()
}

/// Registers 1–1000 devices, all or nothing: `caller` needs `device:register` globally. Every
/// bad item (format, unknown blueprint, a serial repeated in the batch) is listed in
/// [`Error::InvalidItems`]; otherwise serials that exist are listed in
/// [`Error::ExistingItems`]; in both cases nothing is written. Items without a code get a
/// generated one (returned once); codes are stored only as hashes. One `DEVICE_REGISTERED` per
/// device.
pub fn register_devices(
    tx: &mut Tx<'_>,
    caller: UserId,
    items: &[RegistrationItem],
    actor: &Actor,
) -> Result<Vec<RegisteredDevice>, Error> {
    if !check_user_permission(tx, caller, Permission::DeviceRegister, Scope::Global)? {
        return Err(Error::PermissionDenied("device:register is required".into()));
    }
    if !(1..=MAX_REGISTRATION_ITEMS).contains(&items.len()) {
        return Err(Error::Invalid(format!(
            "devices must hold 1 to {MAX_REGISTRATION_ITEMS} items"
        )));
    }
    let mut blueprints = Blueprints::default();
    let mut seen = HashSet::new();
    let (mut errors, mut ok) = (Vec::new(), Vec::new());
    for (index, item) in items.iter().enumerate() {
        match check(tx, &mut blueprints, index, item)? {
            Err(error) => errors.push(error),
            Ok(_) if !seen.insert(item.cpu_serial.as_str()) => errors.push(ItemError {
                index,
                code: "validation_error",
                detail: format!(
                    "serial {:?} appears more than once in this request",
                    item.cpu_serial
                ),
            }),
            Ok(blueprint_id) => ok.push(blueprint_id),
        }
    }
    if !errors.is_empty() {
        let unknown_blueprint_only = errors.iter().all(|e| e.code == "unknown_blueprint");
        return Err(Error::InvalidItems { unknown_blueprint_only, errors });
    }
    let serials: Vec<String> = items.iter().map(|i| i.cpu_serial.clone()).collect();
    let existing: HashSet<String> = core::existing_serials(tx, &serials)?.into_iter().collect();
    if !existing.is_empty() {
        let errors = items
            .iter()
            .enumerate()
            .filter(|(_, item)| existing.contains(&item.cpu_serial))
            .map(|(index, item)| ItemError {
                index,
                code: "conflict",
                detail: format!("serial {:?} is registered already", item.cpu_serial),
            })
            .collect();
        return Err(Error::ExistingItems(errors));
    }
    let mut generated = Vec::with_capacity(items.len());
    let mut registrations = Vec::with_capacity(items.len());
    for (item, blueprint_id) in items.iter().zip(ok) {
        let (code, shown) = match &item.claim_code {
            Some(code) => (code.clone(), None),
            None => {
                let code = core::generate_claim_code()?;
                (code.clone(), Some(code))
            }
        };
        generated.push(shown);
        registrations.push(Registration {
            cpu_serial: item.cpu_serial.clone(),
            blueprint_id,
            claim_code_hash: Some(core::hash_claim_code(&code)),
        });
    }
    let written = core::register_devices(tx, &registrations, false)?;
    audit::providers::record_many(tx, actor, &registered_entries(&written))?;
    Ok(written
        .into_iter()
        .zip(generated)
        .map(|((id, cpu_serial), claim_code)| RegisteredDevice { id, cpu_serial, claim_code })
        .collect())
}

/// What one batch of an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportBatch {
    /// Rows written.
    pub registered: usize,
    /// Rows whose serial existed (a re-run): left as they are.
    pub skipped: usize,
    /// The first bad row (its index in the batch, and why); the rows before it were handled.
    pub bad_row: Option<(usize, String)>,
}

/// Imports rows of a factory file for an operator (no permission check: the operator has the
/// database). Rows are handled in order up to the first bad one; serials that exist are
/// skipped, so a re-run continues without duplicates. An empty claim code registers the device
/// without one. One `DEVICE_REGISTERED` per row written.
pub fn import_batch(
    tx: &mut Tx<'_>,
    rows: &[RegistrationItem],
    actor: &Actor,
) -> Result<ImportBatch, Error> {
    let mut blueprints = Blueprints::default();
    let mut registrations = Vec::with_capacity(rows.len());
    let mut bad_row = None;
    for (index, row) in rows.iter().enumerate() {
        match check(tx, &mut blueprints, index, row)? {
            Ok(blueprint_id) => registrations.push(Registration {
                cpu_serial: row.cpu_serial.clone(),
                blueprint_id,
                claim_code_hash: row.claim_code.as_deref().map(core::hash_claim_code),
            }),
            Err(error) => {
                bad_row = Some((index, error.detail));
                break;
            }
        }
    }
    let written = core::register_devices(tx, &registrations, true)?;
    audit::providers::record_many(tx, actor, &registered_entries(&written))?;
    Ok(ImportBatch {
        registered: written.len(),
        skipped: registrations.len() - written.len(),
        bad_row,
    })
}
