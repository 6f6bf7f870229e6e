//! What each command does. `serve` lives in [`crate::server`]; the operator commands are here.

use anyhow::Context;
use foundation::{DatabaseUrl, Db, DbError, migrations};

use crate::cli::{Command, DatabaseArgs, MigrateAction};

pub(crate) fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => crate::server::serve(args),
        Command::Migrate { action, database } => migrate(&action, &database),
    }
}

/// Opens the database named by the arguments (refusing unknown URL schemes).
pub(crate) fn open(database: &DatabaseArgs) -> anyhow::Result<Db> {
    let url: DatabaseUrl = database.database_url.parse()?;
    Db::connect(&url, &database.pool_options()).with_context(|| format!("cannot open {url:?}"))
}

/// Opens the database and applies every pending migration.
pub(crate) fn open_and_migrate(database: &DatabaseArgs) -> anyhow::Result<Db> {
    let db = open(database)?;
    let applied = db.read_blocking(migrations::run_pending)?;
    for name in &applied {
        tracing::info!(migration = %name, "migration applied");
    }
    Ok(db)
}

#[allow(clippy::print_stdout)] // this command's output is its answer
fn migrate(action: &MigrateAction, database: &DatabaseArgs) -> anyhow::Result<()> {
    let db = open(database)?;
    db.read_blocking(|conn| -> Result<(), DbError> {
        match action {
            MigrateAction::Up => {
                let applied = migrations::run_pending(conn)?;
                println!("applied {} migration(s)", applied.len());
                for name in applied {
                    println!("  up    {name}");
                }
            }
            MigrateAction::Down { all } => {
                while let Some(name) = migrations::revert_last(conn)? {
                    println!("  down  {name}");
                    if !all {
                        break;
                    }
                }
            }
            MigrateAction::Status => {
                for state in migrations::status(conn)? {
                    let mark = if state.applied { "applied" } else { "pending" };
                    println!("{mark:8} {}", state.name);
                }
            }
        }
        Ok(())
    })?;
    Ok(())
}
