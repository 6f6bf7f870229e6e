//! The two embedded migration sets (`migrations/sqlite`, `migrations/postgres`, with
//! identical folder names) and the operations on them. The binary applies pending
//! migrations at start-up; `devicehub migrate` and `cargo xtask migrate` expose the rest.

use diesel::{connection::SimpleConnection, migration::MigrationSource};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::{DbConn, DbError};

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// One migration and whether it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    /// The folder name, e.g. `2026-11-23-000001_audit_logs`.
    pub name: String,
    /// Whether the database has it applied.
    pub applied: bool,
}

/// The PostgreSQL advisory lock that serializes migration runs of processes starting at once.
const MIGRATION_LOCK: i64 = 0x4465_7669_6365_4875; // "DeviceHu"

/// Applies every pending migration; returns the names applied, oldest first. On PostgreSQL,
/// processes starting at once take turns (an advisory lock), so each migration runs once.
pub fn run_pending(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let applied: Vec<String> = match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE)
            .map(|done| done.iter().map(ToString::to_string).collect())
            .map_err(harness_error),
        DbConn::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let result = c
                .run_pending_migrations(POSTGRES)
                .map(|done| done.iter().map(ToString::to_string).collect())
                .map_err(harness_error);
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
            result
        }
    }?;
    let known = known(conn)?;
    Ok(applied.iter().map(|version| name_of(&known, version)).collect())
}

/// Reverts the newest applied migration; returns its name, or `None` when nothing is applied.
pub fn revert_last(conn: &mut DbConn) -> Result<Option<String>, DbError> {
    if !status(conn)?.iter().any(|m| m.applied) {
        return Ok(None);
    }
    let reverted = match conn {
        DbConn::Sqlite(c) => c.revert_last_migration(SQLITE),
        DbConn::Pg(c) => c.revert_last_migration(POSTGRES),
    }
    .map_err(harness_error)?
    .to_string();
    Ok(Some(name_of(&known(conn)?, &reverted)))
}

/// Every known migration, oldest first, with whether it is applied.
pub fn status(conn: &mut DbConn) -> Result<Vec<MigrationState>, DbError> {
    let applied: Vec<String> = match conn {
        DbConn::Sqlite(c) => c.applied_migrations(),
        DbConn::Pg(c) => c.applied_migrations(),
    }
    .map_err(harness_error)?
    .iter()
    .map(ToString::to_string)
    .collect();
    Ok(known(conn)?
        .into_iter()
        .map(|(name, version)| MigrationState { applied: applied.contains(&version), name })
        .collect())
}

fn harness_error(err: Box<dyn std::error::Error + Send + Sync>) -> DbError {
    DbError::Migration(err.to_string())
}

/// `(folder name, version)` of every migration of the connection's backend, oldest first.
fn known(conn: &DbConn) -> Result<Vec<(String, String)>, DbError> {
    match conn {
        DbConn::Sqlite(_) => names_in::<diesel::sqlite::Sqlite>(&SQLITE),
        DbConn::Pg(_) => names_in::<diesel::pg::Pg>(&POSTGRES),
    }
}

fn names_in<DB: diesel::backend::Backend>(
    source: &EmbeddedMigrations,
) -> Result<Vec<(String, String)>, DbError>
where
    EmbeddedMigrations: MigrationSource<DB>,
{
    let mut names: Vec<(String, String)> = MigrationSource::<DB>::migrations(source)
        .map_err(harness_error)?
        .iter()
        .map(|m| (m.name().to_string(), m.name().version().to_string()))
        .collect();
    names.sort();
    Ok(names)
}

fn name_of(known: &[(String, String)], version: &str) -> String {
    known
        .iter()
        .find(|(_, v)| v == version)
        .map_or_else(|| version.to_owned(), |(name, _)| name.clone())
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeSet, fs, path::Path};

    /// The folder names of one migration set, each checked to hold `up.sql` and `down.sql`.
    fn folders(backend: &str) -> BTreeSet<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations").join(backend);
        fs::read_dir(&dir)
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                for file in ["up.sql", "down.sql"] {
                    assert!(entry.path().join(file).is_file(), "{:?} lacks {file}", entry.path());
                }
                entry.file_name().into_string().unwrap()
            })
            .collect()
    }

    #[test]
    fn sqlite_and_postgres_migration_sets_stay_in_step() {
        let sqlite = folders("sqlite");
        let postgres = folders("postgres");
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, postgres, "migrations/sqlite and migrations/postgres differ");
    }
}
