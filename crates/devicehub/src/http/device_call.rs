//! `DeviceCall`: what every `/api/v1/devices…` handler needs — the caller, the active context,
//! the database — and the one rule every such request shares: a 403 `permission_denied`
//! leaves an `ACCESS_DENIED` audit row, written in a transaction of its own (the refused
//! request's work is rolled back).

use std::{future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use device_provisioning::providers as provisioning;
use foundation::{ActiveContext, Db, DbConn, DbError, DeviceId, StorageFailure, Tx};

use super::{
    auth::{Caller, Context},
    problem::ApiError,
};

/// An authenticated device request in its active context.
#[derive(Debug)]
pub(crate) struct DeviceCall {
    pub(crate) caller: Caller,
    pub(crate) context: ActiveContext,
    db: web::Data<Db>,
    request: String,
}

impl DeviceCall {
    /// Runs `work` on a connection; a 403 is audited.
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
        let (caller, context) = (self.caller.clone(), self.context);
        let result = self.db.read(move |conn| work(conn, &caller, context)).await;
        self.audited(device, result.map_err(ApiError::from)).await
    }

    /// Runs `work` in one write transaction; a 403 is audited.
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
        let (caller, context) = (self.caller.clone(), self.context);
        let result = self.db.write(move |tx| work(tx, &caller, context)).await;
        self.audited(device, result.map_err(ApiError::from)).await
    }

    /// Passes `result` through; when it is a 403, first records the refusal.
    async fn audited<T>(
        &self,
        device: Option<DeviceId>,
        result: Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let Err(err) = &result else { return result };
        if !err.is_permission_denied() {
            return result;
        }
        let (actor, context) = (self.caller.actor(), self.context);
        let (what, reason) = (self.request.clone(), err.detail().to_owned());
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

impl FromRequest for DeviceCall {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        let context = Context::from_request(req, payload);
        let db = req.app_data::<web::Data<Db>>().cloned();
        let request = format!("{} {}", req.method(), req.path());
        Box::pin(async move {
            let caller = caller.await?;
            let context = context.await?.0;
            let db = db.ok_or_else(|| ApiError::internal(&"database handle missing"))?;
            Ok(DeviceCall { caller, context, db, request })
        })
    }
}
