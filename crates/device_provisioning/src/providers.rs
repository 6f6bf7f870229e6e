//! The device_provisioning facade.

pub use crate::{audit_view::list_audit_log, error::Error};
