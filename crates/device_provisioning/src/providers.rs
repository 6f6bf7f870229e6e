//! The device_provisioning facade.

pub use crate::{
    audit_view::list_audit_log,
    blueprints::create_blueprint,
    claim::{ClaimOutcome, ClaimPolicy, ClaimRequest, Claimed, provision_new_device},
    denials::record_access_denied,
    error::{Error, ItemError},
    registration::{
        ImportBatch, MAX_REGISTRATION_ITEMS, RegisteredDevice, RegistrationItem, import_batch,
        register_devices,
    },
    users::delete_user,
};
