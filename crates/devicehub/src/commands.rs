//! What each command does. `serve` lives in [`crate::server`]; the operator commands are here.

use anyhow::Context;
use foundation::{DatabaseUrl, Db, DbError, migrations};

use std::io::BufRead;

use audit::providers::Actor;
use device_core::providers::NewBlueprint;
use user_authorization::providers::{self as users, Role};

use crate::cli::{AdminAction, Command, DatabaseArgs, DevicesAction, MigrateAction};

pub(crate) fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => crate::server::serve(args),
        Command::Migrate { action, database } => migrate(&action, &database),
        Command::Admin { action, database } => admin(action, &database),
        Command::Devices { action: DevicesAction::Import { file, skip, batch_size }, database } => {
            crate::import::import(&file, skip, batch_size as usize, &database)
        }
    }
}

#[allow(clippy::print_stdout)] // this command's output is its answer
fn admin(action: AdminAction, database: &DatabaseArgs) -> anyhow::Result<()> {
    match action {
        AdminAction::CreateUser { username, email, roles, password_stdin } => {
            create_user(username, email, &roles, password_stdin, database)
        }
        AdminAction::CreateBlueprint { name, version, description } => {
            let db = open_and_migrate(database)?;
            let new = NewBlueprint { name, version, description };
            let blueprint = db.write_blocking(|tx| {
                device_core::providers::create_blueprint(tx, &new, &Actor::system())
            })?;
            println!("created blueprint {} (id {})", blueprint.version, blueprint.id);
            Ok(())
        }
    }
}

#[allow(clippy::print_stdout)] // this command's output is its answer
fn create_user(
    username: String,
    email: Option<String>,
    roles: &[String],
    password_stdin: bool,
    database: &DatabaseArgs,
) -> anyhow::Result<()> {
    let roles = roles.iter().map(|r| r.parse::<Role>()).collect::<Result<Vec<_>, _>>()?;
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("read the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        users::generate_password()?
    };
    let db = open_and_migrate(database)?;
    let new = users::NewUser { username, password: users::hash_password(&password)?, email };
    let user = db.write_blocking(|tx| users::create_user_with_roles(tx, &new, &roles))?;
    println!("created user {} (id {})", user.username, user.id);
    if !password_stdin {
        println!("password (shown only this once): {password}");
    }
    Ok(())
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
