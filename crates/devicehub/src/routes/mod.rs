//! The routes, one module per area. Each handler parses the request, calls providers and maps
//! their errors with [`crate::http::problem`]; none holds a business rule.

mod audit;
mod auth;
mod health;
mod me;
mod metrics;
mod organizations;
mod users;

use utoipa_actix_web::{scope, service_config::ServiceConfig};

pub(crate) fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz).service(health::readyz).service(metrics::metrics);
    cfg.service(
        scope::scope("/api/v1")
            .service(auth::login)
            .service(auth::logout)
            .service(auth::register)
            .service(me::me)
            .service(me::create_token)
            .service(me::list_tokens)
            .service(me::revoke_token)
            .service(users::create_user)
            .service(users::list_users)
            .service(users::get_user)
            .service(users::update_user)
            .service(users::delete_user)
            .service(users::grant_role)
            .service(users::revoke_role)
            .service(organizations::create_organization)
            .service(organizations::list_organizations)
            .service(organizations::get_organization)
            .service(organizations::list_members)
            .service(organizations::set_member)
            .service(organizations::remove_member)
            .service(audit::list_audit_logs),
    );
}
