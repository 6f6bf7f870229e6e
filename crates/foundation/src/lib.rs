//! Shared plumbing of DeviceHub, used by every domain crate and by the binary.
//!
//! It holds no business rule. What is here:
//! - [`Db`], the database handle over SQLite or PostgreSQL ([`DbConn`]), with a read entry point
//!   and a write entry point that runs a closure inside one transaction ([`Tx`]);
//! - [`migrations`], the two embedded migration sets and the functions that apply them;
//! - [`BlockingPool`], the fixed threads that run database work and password hashing;
//! - [`DbError`], the storage error every domain error wraps;
//! - [`time`], timestamps truncated to microseconds so both backends agree;
//! - [`ids`], typed ids shared across domains;
//! - [`context`], the active context of a request (`X-Active-Context`);
//! - [`pagination`], keyset pages with opaque cursors bound to their list.

mod blocking;
mod connect;
pub mod context;
mod db;
mod error;
pub mod ids;
pub mod migrations;
pub mod pagination;
pub mod text;
pub mod time;
#[cfg(feature = "sql-trace")]
mod trace;

pub use blocking::{BlockingError, BlockingPool};
pub use connect::{Backend, DatabaseUrl};
pub use context::{ActiveContext, InvalidContext};
pub use db::{Db, DbConn, PoolOptions, Tx};
pub use error::{DbError, StorageFailure};
pub use ids::{DeviceId, OrganizationId, UserId};
