//! The device_core facade. Providers take the connection (`&mut DbConn`) or, when they change
//! data, the caller's transaction (`&mut Tx`). None checks access: callers do.

pub use crate::{
    blueprints::{create_blueprint, find_blueprint_by_version, get_blueprint, list_blueprints},
    devices::{
        activate_device, authenticate_device, delete_device, devices_by_ids, get_device,
        insert_claimed_device, list_devices, lock_device, lock_device_by_serial, rename_device,
        reset_device, rotate_credentials, validate_serial,
    },
    error::Error,
    models::{Blueprint, Credentials, Device, DeviceFilter, DeviceStatus, NewBlueprint},
};
