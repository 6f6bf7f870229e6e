//! Shared plumbing of DeviceHub, used by every domain crate and by the binary.
//!
//! It holds no business rule. What is here:
//! - [`Db`], the database handle over SQLite or PostgreSQL ([`DbConn`]), with a read entry point
//!   and a write entry point that runs a closure inside one transaction ([`Tx`]);
//! - [`migrations`], the two embedded migration sets and the functions that apply them;
//! - [`DbError`], the storage error every domain error wraps;
//! - [`time`], timestamps truncated to microseconds so both backends agree.

mod connect;
mod db;
mod error;
pub mod migrations;
pub mod time;

pub use connect::{Backend, DatabaseUrl};
pub use db::{Db, DbConn, PoolOptions, Tx};
pub use error::{DbError, StorageFailure};
