//! `ACCESS_DENIED`: every 403 under `/api/v1/devices` leaves a row, written in a transaction of
//! its own since the request's own work is rolled back.

use audit::providers::{Actor, EventType, NewEntry};
use foundation::{ActiveContext, DeviceId, Tx};

use crate::error::Error;

/// Records that `actor` was refused `what` (e.g. `PATCH /api/v1/devices/7`) in `context`.
pub fn record_access_denied(
    tx: &mut Tx<'_>,
    actor: &Actor,
    device: Option<DeviceId>,
    context: ActiveContext,
    what: &str,
    reason: &str,
) -> Result<(), Error> {
    let mut entry = NewEntry::new(EventType::AccessDenied, format!("refused: {what}"))
        .with_details(serde_json::json!({ "request": what, "context": format!("{context:?}"), "reason": reason }));
    entry.target_device_id = device;
    if let ActiveContext::Organization(org) = context {
        entry.organization_id = Some(org);
    }
    audit::providers::record(tx, actor, entry)?;
    Ok(())
}
