//! The routes, one module per area. Each handler parses the request, calls providers and maps
//! their errors with [`crate::http::problem`]; none holds a business rule.

mod audit;
mod auth;
mod blueprints;
mod device_links;
mod devices;
mod health;
mod me;
mod metrics;
mod organizations;
mod registrations;
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
            .service(audit::list_audit_logs)
            .service(blueprints::create_blueprint)
            .service(blueprints::list_blueprints)
            .service(blueprints::get_blueprint)
            .service(devices::claim)
            .service(registrations::register)
            .service(devices::authenticate)
            .service(devices::list_devices)
            .service(devices::get_device)
            .service(devices::update_device)
            .service(devices::delete_device)
            .service(device_links::list_access)
            .service(device_links::grant_access)
            .service(device_links::revoke_access)
            .service(device_links::transfer)
            .service(device_links::rotate_credentials),
    );
}
