//! The device_access domain: user↔device links (`owner`, `viewer`) and every access decision
//! about a device in the active context (contract §4).
//!
//! - `schema`, `models`: the `user_devices` table and the link types;
//! - `links`: queries on links;
//! - `policy`: the read/update/delete rule per context and the seed's "smart" providers;
//! - `manage`: renaming, deleting, credentials, granting, revoking, transferring, and the
//!   reset when the last owner leaves;
//! - `listing`: the devices visible in a context;
//! - `providers`: the facade.
//!
//! Invariants: every change to one device locks its row first, so concurrent changes queue
//! and exactly one of them sees the last owner leave; an `active` device always has an owner
//! when a transaction commits; an `unclaimed` device has no link.

mod error;
mod links;
mod listing;
mod manage;
mod models;
mod policy;
mod schema;

pub mod providers;
