//! Liveness and readiness.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use foundation::Db;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::problem::{ApiError, Problem};

/// How long readiness waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    status: &'static str,
}

/// Liveness: the process is up and serving HTTP.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: 200 while the database answers, 503 `unavailable` while it does not.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, body = Health),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub(crate) async fn readyz(db: web::Data<Db>) -> Result<HttpResponse, ApiError> {
    db.ping(READY_TIMEOUT).await.map_err(|err| {
        tracing::warn!(cause = %err, "not ready");
        ApiError::unavailable()
    })?;
    Ok(HttpResponse::Ok().json(Health { status: "ready" }))
}
