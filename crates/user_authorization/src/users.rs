//! Users: creating (by an admin, by self-registration, at bootstrap), reading, updating and
//! deleting them.

use audit::providers::{Actor, EventType, NewEntry};
use diesel::prelude::*;
use foundation::{
    DbConn, Tx, UserId,
    pagination::{Page, PageParams, Pager},
    time,
};

use crate::{
    error::{Error, conflict_on_unique},
    models::{
        NewUser, NewUserRow, PasswordHash, Permission, Profile, Role, Scope, User, UserRow,
        UserUpdate,
    },
    organizations::memberships_of,
    roles::{global_roles_of, insert_grant, require},
    schema::users,
    secrets, validate,
};

/// Checks the password rules (8–1024 characters, else [`Error::Invalid`]) and hashes it with
/// argon2id. CPU- and memory-heavy by design and bounded to one hash per core at a time: call
/// it from a blocking thread, before opening a transaction.
pub fn hash_password(password: &str) -> Result<PasswordHash, Error> {
    validate::password(password)?;
    secrets::hash_password(password).map(PasswordHash)
}

pub(crate) fn require_user(conn: &mut DbConn, user: UserId) -> Result<UserRow, Error> {
    users::table.find(user.0).first(conn).optional()?.ok_or(Error::NotFound("user"))
}

pub(crate) fn find_by_username(
    conn: &mut DbConn,
    username: &str,
) -> Result<Option<UserRow>, Error> {
    Ok(users::table
        .filter(users::username_key.eq(validate::username_key(username)))
        .first(conn)
        .optional()?)
}

fn insert_user(tx: &mut Tx<'_>, new: &NewUser, actor: &Actor) -> Result<User, Error> {
    validate::username(&new.username)?;
    if let Some(email) = &new.email {
        validate::email(email)?;
    }
    let key = validate::username_key(&new.username);
    let row = NewUserRow {
        username: &new.username,
        username_key: &key,
        email: new.email.as_deref(),
        password_hash: &new.password.0,
        is_active: true,
        created_at: time::now(),
    };
    let created: UserRow = tx
        .savepoint(|conn| diesel::insert_into(users::table).values(&row).get_result(conn))
        .map_err(|e| conflict_on_unique(e, "that username is taken"))?;
    let user = User::from(created);
    insert_grant(tx, user.id, Role::Member, None)?;
    let entry = NewEntry::new(EventType::UserCreated, format!("user {} created", user.username))
        .with_details(serde_json::json!({ "user_id": user.id.0, "username": user.username }));
    audit::providers::record(tx, actor, entry)?;
    Ok(user)
}

/// Creates a user holding the global `member` role (self-registration; whether registration
/// is open is the caller's decision). A taken username (ignoring case) is [`Error::Conflict`];
/// a bad username or email [`Error::Invalid`]. Writes `USER_CREATED`.
pub fn register_user(tx: &mut Tx<'_>, new: &NewUser, actor: &Actor) -> Result<User, Error> {
    insert_user(tx, new, actor)
}

/// Creates a user on behalf of `caller`, who needs `user:manage` globally; otherwise as
/// [`register_user`].
pub fn create_user(
    tx: &mut Tx<'_>,
    caller: UserId,
    new: &NewUser,
    actor: &Actor,
) -> Result<User, Error> {
    require(tx, caller, Permission::UserManage, Scope::Global)?;
    insert_user(tx, new, actor)
}

/// Creates `new` as a global `admin` when the database has no user yet; returns `None` when
/// users already exist (so several processes starting at once create one admin).
pub fn bootstrap_admin(tx: &mut Tx<'_>, new: &NewUser) -> Result<Option<User>, Error> {
    let any: Option<i64> = users::table.select(users::id).first(&mut **tx).optional()?;
    if any.is_some() {
        return Ok(None);
    }
    let user = match insert_user(tx, new, &Actor::system()) {
        Err(Error::Conflict(_)) => return Ok(None),
        other => other?,
    };
    insert_grant(tx, user.id, Role::Admin, None)?;
    Ok(Some(user))
}

/// Whether the database holds any user (bootstrap runs only when it does not).
pub fn has_any_user(conn: &mut DbConn) -> Result<bool, Error> {
    Ok(diesel::select(diesel::dsl::exists(users::table.select(users::id))).get_result(conn)?)
}

/// A strong random password (120 bits, 24 base32 characters) for generated accounts.
pub fn generate_password() -> Result<String, Error> {
    secrets::random_password()
}

/// Creates a user with the given global roles, for operators (`devicehub admin create-user`);
/// no permission check. Unknown or organization roles are [`Error::Invalid`].
pub fn create_user_with_roles(
    tx: &mut Tx<'_>,
    new: &NewUser,
    roles: &[Role],
) -> Result<User, Error> {
    if let Some(role) = roles.iter().find(|r| !r.is_global()) {
        return Err(Error::Invalid(format!("{} is not a global role", role.as_str())));
    }
    let user = insert_user(tx, new, &Actor::system())?;
    for role in roles {
        insert_grant(tx, user.id, *role, None)?;
    }
    Ok(user)
}

/// One page of every user, by id. Needs `user:manage` globally.
pub fn list_users(
    conn: &mut DbConn,
    caller: UserId,
    page: &PageParams,
) -> Result<Page<User>, Error> {
    require(conn, caller, Permission::UserManage, Scope::Global)?;
    let pager: Pager<i64> = Pager::new("users", page)?;
    let mut query = users::table.order(users::id).limit(pager.fetch()).into_boxed();
    if let Some(after) = pager.after() {
        query = query.filter(users::id.gt(*after));
    }
    let rows: Vec<UserRow> = query.load(conn)?;
    Ok(pager.page(rows, |row| row.id).map(User::from))
}

/// One user. Needs `user:manage` globally; a missing user is [`Error::NotFound`].
pub fn get_user(conn: &mut DbConn, caller: UserId, user: UserId) -> Result<User, Error> {
    require(conn, caller, Permission::UserManage, Scope::Global)?;
    require_user(conn, user).map(User::from)
}

/// Changes a user's `is_active`, email or password. Needs `user:manage` globally. A
/// deactivated user's tokens are refused from the next request on. Writes `USER_UPDATED`
/// naming the changed fields (never their secret values).
pub fn update_user(
    tx: &mut Tx<'_>,
    caller: UserId,
    user: UserId,
    update: &UserUpdate,
    actor: &Actor,
) -> Result<User, Error> {
    require(tx, caller, Permission::UserManage, Scope::Global)?;
    require_user(tx, user)?;
    if let Some(Some(email)) = &update.email {
        validate::email(email)?;
    }
    let target = users::table.find(user.0);
    let mut changed = Vec::new();
    if let Some(active) = update.is_active {
        diesel::update(target).set(users::is_active.eq(active)).execute(&mut **tx)?;
        changed.push("is_active");
    }
    if let Some(email) = &update.email {
        diesel::update(target).set(users::email.eq(email.as_deref())).execute(&mut **tx)?;
        changed.push("email");
    }
    if let Some(password) = &update.password {
        diesel::update(target).set(users::password_hash.eq(&password.0)).execute(&mut **tx)?;
        changed.push("password");
    }
    let updated = User::from(require_user(tx, user)?);
    if !changed.is_empty() {
        let entry =
            NewEntry::new(EventType::UserUpdated, format!("user {} updated", updated.username))
                .with_details(serde_json::json!({
                    "user_id": user.0,
                    "changed": changed,
                    "is_active": updated.is_active,
                }));
        audit::providers::record(tx, actor, entry)?;
    }
    Ok(updated)
}

/// Deletes a user with their tokens, roles and memberships. Needs `user:manage` globally; a
/// missing user is [`Error::NotFound`]. Writes `USER_DELETED`. (Their device links are the
/// device domains' business: the orchestrator that deletes users handles them first.)
pub fn delete_user(
    tx: &mut Tx<'_>,
    caller: UserId,
    user: UserId,
    actor: &Actor,
) -> Result<(), Error> {
    require(tx, caller, Permission::UserManage, Scope::Global)?;
    let row = require_user(tx, user)?;
    diesel::delete(users::table.find(user.0)).execute(&mut **tx)?;
    let entry = NewEntry::new(EventType::UserDeleted, format!("user {} deleted", row.username))
        .with_details(serde_json::json!({ "user_id": user.0, "username": row.username }));
    audit::providers::record(tx, actor, entry)?;
    Ok(())
}

/// The caller's own user, global roles and organizations (`GET /me`).
pub fn profile(conn: &mut DbConn, user: UserId) -> Result<Profile, Error> {
    let user_row = require_user(conn, user)?;
    Ok(Profile {
        global_roles: global_roles_of(conn, user)?,
        organizations: memberships_of(conn, user)?,
        user: User::from(user_row),
    })
}

/// Whether a user exists and is active (for other domains: transfer targets, links).
pub fn is_active_user(conn: &mut DbConn, user: UserId) -> Result<Option<bool>, Error> {
    Ok(users::table.find(user.0).select(users::is_active).first(conn).optional()?)
}

/// Usernames of the given users (for listings in other domains); missing ids are left out.
pub fn usernames(conn: &mut DbConn, ids: &[UserId]) -> Result<Vec<(UserId, String)>, Error> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    let rows: Vec<(i64, String)> = users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::username))
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, name)| (UserId(id), name)).collect())
}
