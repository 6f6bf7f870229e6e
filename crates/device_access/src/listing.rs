//! The devices visible in a context: exactly those the read rule allows there.

use chrono::NaiveDateTime;
use device_core::providers::{self as core, Device, DeviceFilter};
use foundation::{
    ActiveContext, DbConn, DeviceId, UserId,
    pagination::{Page, PageParams, Pager},
};
use user_authorization::providers::{Permission, Scope, check_user_permission};

use crate::{error::Error, links, models::LinkRole};

/// Links read per round while filling a personal page that a filter may thin out.
const LINK_BATCH: i64 = 200;

/// One page, by id, of the devices `caller` may read in `context` that match `filter`
/// (`status`, `blueprint_id`; its organization is set from the context). An organization
/// context without `device:read` there, or the global context without `device:read_all`, is
/// [`Error::PermissionDenied`].
pub fn list_visible_devices(
    conn: &mut DbConn,
    caller: UserId,
    context: ActiveContext,
    filter: &DeviceFilter,
    page: &PageParams,
) -> Result<Page<Device>, Error> {
    let list =
        format!("devices:{caller}:{context:?}:{:?}:{:?}", filter.status, filter.blueprint_id);
    let pager: Pager<i64> = Pager::new(list, page)?;
    let after = pager.after().copied().map(DeviceId);
    let rows = match context {
        ActiveContext::Personal => linked_devices(conn, caller, filter, after, pager.fetch())?,
        ActiveContext::Organization(org) => {
            if !check_user_permission(
                conn,
                caller,
                Permission::DeviceRead,
                Scope::Organization(org),
            )? {
                return Err(Error::PermissionDenied(
                    "device:read is required in this organization".into(),
                ));
            }
            let filter = DeviceFilter { organization_id: Some(org), ..filter.clone() };
            core::list_devices(conn, &filter, after, pager.fetch())?
        }
        ActiveContext::Global => {
            if !check_user_permission(conn, caller, Permission::DeviceReadAll, Scope::Global)? {
                return Err(Error::PermissionDenied("device:read_all is required".into()));
            }
            core::list_devices(conn, filter, after, pager.fetch())?
        }
    };
    Ok(pager.page(rows, |device| device.id.0))
}

/// Devices `user` has a link to, matching `filter`, above `after`, up to `limit`, by id.
fn linked_devices(
    conn: &mut DbConn,
    user: UserId,
    filter: &DeviceFilter,
    mut after: Option<DeviceId>,
    limit: i64,
) -> Result<Vec<Device>, Error> {
    // Without a filter every linked device is on the page: read just the page's links.
    let unfiltered = filter.status.is_none()
        && filter.blueprint_id.is_none()
        && filter.organization_id.is_none();
    let batch = if unfiltered { limit } else { LINK_BATCH.max(limit) };
    let mut found = Vec::new();
    loop {
        let ids = links::devices_of(conn, user, None, after.map(|d| d.0), batch)?;
        let exhausted = (ids.len() as i64) < batch;
        let Some(last) = ids.last().copied() else { return Ok(found) };
        after = Some(last);
        found.extend(core::devices_by_ids(conn, &ids, filter)?);
        if found.len() as i64 >= limit || exhausted {
            found.truncate(limit as usize);
            return Ok(found);
        }
    }
}

/// `(device, claimed_at)` of the devices `user` owns: the windows of the audit log the
/// personal context also shows them.
pub fn owned_device_windows(
    conn: &mut DbConn,
    user: UserId,
) -> Result<Vec<(DeviceId, NaiveDateTime)>, Error> {
    let mut windows = Vec::new();
    let mut after = None;
    loop {
        let ids = links::devices_of(conn, user, Some(LinkRole::Owner), after, 1000)?;
        let Some(last) = ids.last() else { return Ok(windows) };
        after = Some(last.0);
        let devices = core::devices_by_ids(conn, &ids, &DeviceFilter::default())?;
        windows.extend(devices.into_iter().filter_map(|d| d.claimed_at.map(|at| (d.id, at))));
    }
}
