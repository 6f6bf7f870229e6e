//! HTTP-level tests of DeviceHub: the real binary, real databases (a SQLite file and a
//! PostgreSQL schema), spoken to over HTTP. One test binary, one module per area.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod access;
mod architecture;
mod audit_log;
mod concurrency;
mod device_matrix;
mod devices;
mod hostile;
mod identity;
mod import;
mod model;
mod operator;
mod organizations;
mod registration;
mod resilience;
mod server;
mod storage;
