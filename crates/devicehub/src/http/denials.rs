//! Every 403 `permission_denied` under `/api/v1/devices` leaves an `ACCESS_DENIED` audit row,
//! written in a transaction of its own (the refused request's work is rolled back).

use actix_web::HttpRequest;
use device_provisioning::providers as provisioning;
use foundation::{ActiveContext, Db, DeviceId};

use super::{auth::Caller, problem::ApiError};

/// Passes `result` through; when it is a 403, first records the refusal.
pub(crate) async fn audited<T>(
    req: &HttpRequest,
    db: &Db,
    caller: &Caller,
    context: ActiveContext,
    device: Option<DeviceId>,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    if let Err(err) = &result
        && err.is_permission_denied()
    {
        let actor = caller.actor();
        let what = format!("{} {}", req.method(), req.path());
        let reason = err.detail().to_owned();
        let recorded = db
            .write(move |tx| {
                provisioning::record_access_denied(tx, &actor, device, context, &what, &reason)
            })
            .await;
        if let Err(failure) = recorded {
            tracing::error!(cause = %failure, "could not record ACCESS_DENIED");
        }
    }
    result
}
