//! The device_core domain: hardware blueprints, devices and their credentials (contract §2).
//!
//! - `schema`, `models`: its tables and types;
//! - `validate`: serial, name and blueprint rules;
//! - `secrets`: device uuids and secrets (stored only as SHA-256, compared in constant time);
//! - `blueprints`, `devices`, `registration`, `claim_codes`: the operations, one area each;
//! - `providers`: the facade.
//!
//! Invariants: this crate decides no access (callers check it) and calls only `audit`; a
//! device secret is stored only as a hash and shown once; an `unclaimed` device has no
//! credential.

mod blueprints;
mod claim_codes;
mod devices;
mod error;
mod models;
mod registration;
mod schema;
mod secrets;
mod validate;

pub mod providers;
