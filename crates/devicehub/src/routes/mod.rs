//! The routes, one module per area. Each handler parses the request, calls providers and maps
//! their errors with [`crate::http::problem`]; none holds a business rule.

mod health;
mod metrics;

use utoipa_actix_web::service_config::ServiceConfig;

pub(crate) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz).service(health::readyz).service(metrics::metrics);
}
