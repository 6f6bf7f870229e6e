//! The device_provisioning orchestrator: no tables of its own; the workflows that span
//! domains, each run inside the caller's one transaction.
//!
//! - `audit_view`: which audit entries a caller sees in the active context (contract §6).
//! - `error`: its error, wrapping the domains' errors.
//! - `providers`: the facade.

mod audit_view;
mod error;

pub mod providers;
