//! The user_authorization domain: users, API tokens, organizations, memberships, roles and
//! permissions (contract §2, §3).
//!
//! - `schema`, `models`: its tables and types;
//! - `validate`: the value rules of usernames, passwords, emails and names;
//! - `secrets`: argon2id hashing (bounded concurrency) and opaque tokens stored as SHA-256;
//! - `users`, `tokens`, `throttle`, `roles`, `organizations`: the rules, one area each;
//! - `providers`: the facade other crates call.
//!
//! Invariants: passwords and tokens are stored only as hashes and never logged; an inactive
//! user holds no permission and no working token; this crate calls only `audit`.

mod error;
mod models;
mod organizations;
mod roles;
mod schema;
mod secrets;
mod throttle;
mod tokens;
mod users;
mod validate;

pub mod providers;
