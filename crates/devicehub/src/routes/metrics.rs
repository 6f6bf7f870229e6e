//! Prometheus scrape endpoint.

use actix_web::{HttpResponse, get, web};

use crate::http::metrics::Metrics;

/// Request counts and latency histograms in the Prometheus text format.
#[utoipa::path(tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
#[get("/metrics")]
pub(crate) async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(metrics.render())
}
