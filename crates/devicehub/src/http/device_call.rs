//! `DeviceCall`: what every `/api/v1/devices…` handler needs — the caller, the active context,
//! the database — and the one rule every such request shares: a 403 `permission_denied`
//! leaves an `ACCESS_DENIED` audit row, written in a transaction of its own (the refused
//! request's work is rolled back).
//!
//! The bearer token is checked on the connection the handler's own work runs on, in the same
//! trip to a database thread: one hand-off and one checkout per request instead of two. The
//! order of answers stays that of separate steps: no token is a 401 before anything else; a
//! bad token is a 401 before a bad `X-Active-Context` (400), which comes before the work.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use device_provisioning::providers as provisioning;
use foundation::{
    ActiveContext, Db, DbConn, DbError, DeviceId, InvalidContext, StorageFailure, Tx,
};

use super::{
    auth::{Bearer, Caller, active_context},
    problem::ApiError,
};

/// A device request whose token is read but not yet checked, and its active context.
#[derive(Debug)]
pub(crate) struct DeviceCall {
    bearer: Bearer,
    context: Result<ActiveContext, InvalidContext>,
    db: web::Data<Db>,
    request: String,
}

impl DeviceCall {
    /// Authenticates the caller, then runs `work` on the same connection; a 403 is audited.
    pub(crate) async fn read<T, E>(
        &self,
        device: Option<DeviceId>,
        work: impl FnOnce(&mut DbConn, &Caller, ActiveContext) -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        ApiError: From<E>,
    {
        let (bearer, context) = (self.bearer.clone(), self.context.clone());
        let (admitted, result) = self
            .db
            .read(move |conn| {
                let admitted = admit(conn, &bearer, context)?;
                let result = work(conn, &admitted.0, admitted.1).map_err(ApiError::from);
                Ok::<_, ApiError>((admitted, result))
            })
            .await?;
        self.audited(device, admitted, result).await
    }

    /// Authenticates the caller, then runs `work` in one write transaction on the same
    /// connection; a 403 is audited.
    pub(crate) async fn write<T, E>(
        &self,
        device: Option<DeviceId>,
        mut work: impl FnMut(&mut Tx<'_>, &Caller, ActiveContext) -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        E: From<DbError> + StorageFailure + Send + 'static,
        ApiError: From<E>,
    {
        let (bearer, context) = (self.bearer.clone(), self.context.clone());
        let (admitted, result) = self
            .db
            .read_then_write(
                move |conn| admit(conn, &bearer, context),
                move |tx, (caller, context)| work(tx, caller, *context),
            )
            .await?;
        self.audited(device, admitted, result.map_err(ApiError::from)).await
    }

    /// Passes the result through; when it is a 403, first records the refusal.
    async fn audited<T>(
        &self,
        device: Option<DeviceId>,
        (caller, context): (Caller, ActiveContext),
        result: Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let Err(err) = &result else { return result };
        if !err.is_permission_denied() {
            return result;
        }
        let (actor, what, reason) = (caller.actor(), self.request.clone(), err.detail().to_owned());
        let recorded = self
            .db
            .write(move |tx| {
                provisioning::record_access_denied(tx, &actor, device, context, &what, &reason)
            })
            .await;
        if let Err(failure) = recorded {
            tracing::error!(cause = %failure, "could not record ACCESS_DENIED");
        }
        result
    }
}

/// The caller behind `bearer` (401) in a well-formed `context` (400), in that order.
fn admit(
    conn: &mut DbConn,
    bearer: &Bearer,
    context: Result<ActiveContext, InvalidContext>,
) -> Result<(Caller, ActiveContext), ApiError> {
    let caller = bearer.authenticate(conn)?;
    Ok((caller, context?))
}

impl FromRequest for DeviceCall {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let call = || {
            let bearer = Bearer::of(req)?;
            let context = active_context(req);
            let db = req.app_data::<web::Data<Db>>().cloned();
            let db = db.ok_or_else(|| ApiError::internal(&"database handle missing"))?;
            let request = format!("{} {}", req.method(), req.path());
            Ok(DeviceCall { bearer, context, db, request })
        };
        ready(call())
    }
}
