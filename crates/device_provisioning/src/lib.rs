//! The device_provisioning orchestrator: no tables of its own; the workflows that span
//! domains, each run inside the caller's one transaction.
//!
//! - `claim`: `provision_new_device`, the claim of contract §5;
//! - `registration`: factory registration and bulk import (contract §5.1);
//! - `users`: deleting a user with the device resets it causes;
//! - `blueprints`: creating blueprints (the permission lives in user_authorization, the data
//!   in device_core);
//! - `denials`: the `ACCESS_DENIED` row of a refused device request;
//! - `audit_view`: which audit entries a caller sees in the active context (contract §6).
//! - `error`: its error, wrapping the domains' errors.
//! - `providers`: the facade.

mod audit_view;
mod blueprints;
mod claim;
mod denials;
mod error;
mod registration;
mod users;

pub mod providers;
