//! Test harness: every test starts the real `devicehub` binary on port 0 against a fresh
//! database and talks HTTP to it. The same test body runs on SQLite and on PostgreSQL
//! ([`on_both_backends!`]).

pub(crate) mod app;
pub(crate) mod cluster;
pub(crate) mod database;
pub(crate) mod devices;
pub(crate) mod invariants;
pub(crate) mod matrix;
pub(crate) mod proxy;
pub(crate) mod world;

pub(crate) use app::{Person, TestApp};
pub(crate) use database::{Backend, TestDb};
pub(crate) use world::World;

/// A size a test reads from the environment (`CHAOS_KILLS=100` …), for its long version.
pub(crate) fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

/// For each named test body `fn name(backend: Backend)`, generates `name::sqlite` and
/// `name::postgres` tests.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name($crate::support::Backend::Sqlite)
                }

                #[test]
                fn postgres() {
                    super::$name($crate::support::Backend::Postgres)
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;
