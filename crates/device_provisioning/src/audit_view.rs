//! The audit log as each caller may see it (contract §6): in `personal`, the events the caller
//! performed and those of the devices they own since they last claimed them; in organization O, O's events, for holders of `audit:read` in O; in `global`,
//! every event, for holders of `audit:read` globally.

use audit::providers::{Entry, Filter, Visibility};
use foundation::{
    ActiveContext, DbConn, UserId,
    pagination::{Page, PageParams},
};
use user_authorization::providers::{Permission, Scope, check_user_permission};

use crate::error::Error;

/// Which entries `caller` sees in `context`; [`Error::PermissionDenied`] when the context
/// needs `audit:read` and the caller lacks it.
fn visibility(
    conn: &mut DbConn,
    caller: UserId,
    context: ActiveContext,
) -> Result<Visibility, Error> {
    let (scope, visibility) = match context {
        ActiveContext::Personal => {
            let devices = device_access::providers::owned_device_windows(conn, caller)?;
            return Ok(Visibility::Personal { user_id: caller, devices });
        }
        ActiveContext::Organization(org) => {
            (Scope::Organization(org), Visibility::Organization(org))
        }
        ActiveContext::Global => (Scope::Global, Visibility::Everything),
    };
    if check_user_permission(conn, caller, Permission::AuditRead, scope)? {
        Ok(visibility)
    } else {
        Err(Error::PermissionDenied("audit:read is required in this context".into()))
    }
}

/// One page of the audit entries `caller` may see in `context`, narrowed by `filter`,
/// newest first.
pub fn list_audit_log(
    conn: &mut DbConn,
    caller: UserId,
    context: ActiveContext,
    filter: &Filter,
    page: &PageParams,
) -> Result<Page<Entry>, Error> {
    let visibility = visibility(conn, caller, context)?;
    Ok(audit::providers::list(conn, &visibility, filter, page)?)
}
