//! The audit domain: the append-only log of every change (contract §2, §6).
//!
//! - `schema`: the `audit_logs` table (this crate is the only one that touches it);
//! - `models`: its rows;
//! - `store`: the queries;
//! - `providers`: the facade other crates call — record an entry inside the caller's
//!   transaction, list entries under a visibility rule.
//!
//! Invariant: `audit` calls no other domain.

mod error;
mod models;
mod schema;
mod store;

pub mod providers;
