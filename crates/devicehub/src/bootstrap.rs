//! The first administrator: created at start-up when the database has no user yet.

use std::io::Write;

use anyhow::Context;
use foundation::Db;
use user_authorization::providers as users;

/// Creates the admin from `username`/`password` when the database has no user. Without a
/// password (or an empty one), generates a strong one and prints it once on standard error
/// (never to the log).
pub(crate) fn ensure_admin(db: &Db, username: &str, password: Option<&str>) -> anyhow::Result<()> {
    let password = password.filter(|p| !p.is_empty());
    if db.read_blocking(users::has_any_user)? {
        return Ok(());
    }
    let generated = match password {
        Some(_) => None,
        None => Some(users::generate_password()?),
    };
    let secret = password.or(generated.as_deref()).context("no admin password")?;
    let new = users::NewUser {
        username: username.to_owned(),
        password: users::hash_password(secret).context("DEVICEHUB_ADMIN_PASSWORD")?,
        email: None,
    };
    let created = db.write_blocking(|tx| users::bootstrap_admin(tx, &new))?;
    let Some(admin) = created else { return Ok(()) };
    tracing::info!(user_id = %admin.id, username = %admin.username, "created the first administrator");
    if let Some(generated) = generated {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "\nDeviceHub created the administrator {:?} with the password:\n\n    {generated}\n\n\
             It is shown only this once. Change it with PATCH /api/v1/users/{}.\n",
            admin.username, admin.id
        );
    }
    Ok(())
}
