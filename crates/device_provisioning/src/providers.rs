//! The device_provisioning facade.

pub use crate::{
    audit_view::list_audit_log,
    blueprints::create_blueprint,
    claim::{ClaimRequest, Claimed, provision_new_device},
    denials::record_access_denied,
    error::Error,
    users::delete_user,
};
