//! The device_core facade. Providers take the connection (`&mut DbConn`) or, when they change
//! data, the caller's transaction (`&mut Tx`). None checks access: callers do.

pub use crate::{
    blueprints::{create_blueprint, find_blueprint_by_version, get_blueprint, list_blueprints},
    claim_codes::{
        FAILURE_WINDOW_MINUTES, MAX_CLAIM_FAILURES, claim_code_matches, claim_throttle,
        generate_claim_code, hash_claim_code, record_claim_failure, validate_claim_code,
    },
    devices::{
        activate_device, authenticate_device, delete_device, devices_by_ids, get_device,
        insert_claimed_device, list_devices, lock_device, lock_device_by_serial, rename_device,
        reset_device, rotate_credentials, validate_serial,
    },
    error::Error,
    models::{Blueprint, Credentials, Device, DeviceFilter, DeviceStatus, NewBlueprint},
    registration::{Registration, existing_serials, register_devices},
};
