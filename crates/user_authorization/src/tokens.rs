//! Login sessions and API tokens: opaque bearer tokens stored only as SHA-256, checked on
//! every request so that revocation, expiry and deactivation apply to the very next one.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use foundation::{
    DbConn, Tx, UserId,
    pagination::{Page, PageParams, Pager},
    time,
};

use crate::{
    error::Error,
    models::{AuthUser, IssuedToken, NewTokenRow, TokenInfo, TokenRow},
    schema::{api_tokens as t, users},
    secrets, throttle,
    users::find_by_username,
    validate,
};

/// The name login sessions carry in token listings.
pub const LOGIN_TOKEN_NAME: &str = "login";
const LOGIN_LIFETIME_HOURS: i64 = 24;
/// How stale `last_used_at` may get before a request refreshes it (saves a write per request).
const LAST_USED_RESOLUTION_SECS: i64 = 60;

/// A login in progress: throttling passed and the user (if any) looked up. The password is
/// checked by [`LoginAttempt::verify`] outside any transaction, since hashing is slow.
#[derive(Debug)]
pub struct LoginAttempt {
    username_key: String,
    peer: String,
    candidate: Option<(UserId, String, bool)>,
}

/// The result of [`LoginAttempt::verify`], to hand to [`finish_login`].
#[derive(Debug)]
pub struct VerifiedLogin {
    username_key: String,
    peer: String,
    user: Option<UserId>,
}

/// Step 1 of a login: refuses with [`Error::RateLimited`] after 10 failures for this username
/// or 50 from this peer within 15 minutes, then finds the user (ignoring case). Read-only.
pub fn begin_login(conn: &mut DbConn, username: &str, peer: &str) -> Result<LoginAttempt, Error> {
    let username_key = validate::username_key(username);
    throttle::check(conn, &username_key, peer)?;
    let candidate = find_by_username(conn, username)?
        .map(|row| (UserId(row.id), row.password_hash, row.is_active));
    Ok(LoginAttempt { username_key, peer: peer.to_owned(), candidate })
}

impl LoginAttempt {
    /// Step 2: checks the password (an unknown username is checked against a decoy hash, so it
    /// costs the same). A deactivated user fails like a wrong password. Blocking, CPU-heavy.
    pub fn verify(self, password: &str) -> VerifiedLogin {
        let (hash, user) = match &self.candidate {
            Some((id, hash, active)) => (hash.as_str(), active.then_some(*id)),
            None => (secrets::decoy_hash(), None),
        };
        let matches = secrets::verify_password(password, hash);
        VerifiedLogin {
            username_key: self.username_key,
            peer: self.peer,
            user: if matches { user } else { None },
        }
    }
}

/// Step 3: issues a 24-hour session token for a verified login, or records the failure for
/// throttling and returns `None` (commit the transaction either way).
pub fn finish_login(tx: &mut Tx<'_>, login: &VerifiedLogin) -> Result<Option<IssuedToken>, Error> {
    match login.user {
        Some(user) => {
            let expires_at = time::now() + Duration::hours(LOGIN_LIFETIME_HOURS);
            issue(tx, user, LOGIN_TOKEN_NAME, Some(expires_at)).map(Some)
        }
        None => {
            throttle::record_failure(tx, &login.username_key, &login.peer)?;
            Ok(None)
        }
    }
}

fn issue(
    tx: &mut Tx<'_>,
    user: UserId,
    name: &str,
    expires_at: Option<NaiveDateTime>,
) -> Result<IssuedToken, Error> {
    let token = secrets::new_token()?;
    let hash = secrets::token_hash(&token);
    let row = NewTokenRow {
        user_id: user.0,
        name,
        token_hash: &hash,
        created_at: time::now(),
        expires_at,
    };
    let id: i64 =
        diesel::insert_into(t::table).values(&row).returning(t::id).get_result(&mut **tx)?;
    Ok(IssuedToken { id, name: name.to_owned(), token, expires_at })
}

fn is_live(
    revoked_at: Option<NaiveDateTime>,
    expires_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> bool {
    revoked_at.is_none() && expires_at.is_none_or(|at| at > now)
}

/// Who a bearer token belongs to. [`Error::Unauthorized`] when the token is malformed,
/// unknown, revoked or expired, or its user is deactivated — checked on every call, so a
/// change applies to the next request. Refreshes `last_used_at` at most once a minute.
pub fn authenticate(conn: &mut DbConn, token: &str) -> Result<AuthUser, Error> {
    if !token.starts_with("dh_") || token.len() != 67 {
        return Err(Error::Unauthorized);
    }
    let found: Option<(TokenRow, bool)> = t::table
        .inner_join(users::table)
        .filter(t::token_hash.eq(secrets::token_hash(token)))
        .select((t::all_columns, users::is_active))
        .first(conn)
        .optional()?;
    let Some((row, active)) = found else { return Err(Error::Unauthorized) };
    let now = time::now();
    if !active || !is_live(row.revoked_at, row.expires_at, now) {
        return Err(Error::Unauthorized);
    }
    let stale =
        row.last_used_at.is_none_or(|at| (now - at).num_seconds() >= LAST_USED_RESOLUTION_SECS);
    if stale {
        diesel::update(t::table.find(row.id)).set(t::last_used_at.eq(now)).execute(conn)?;
    }
    Ok(AuthUser { user_id: UserId(row.user_id), token_id: row.id })
}

/// Revokes the token the caller used (`POST /auth/logout`).
pub fn logout(tx: &mut Tx<'_>, auth: AuthUser) -> Result<(), Error> {
    revoke_token(tx, auth.user_id, auth.token_id)
}

/// Issues a named API token for `user`, living `expires_in_days` (1–3650) or until revoked.
/// A bad name (1–64 characters) or lifetime is [`Error::Invalid`].
pub fn create_api_token(
    tx: &mut Tx<'_>,
    user: UserId,
    name: &str,
    expires_in_days: Option<i64>,
) -> Result<IssuedToken, Error> {
    validate::display_name("token name", name, 64)?;
    let expires_at = match expires_in_days {
        None => None,
        Some(days @ 1..=3650) => Some(time::now() + Duration::days(days)),
        Some(_) => return Err(Error::Invalid("expires_in_days must be between 1 and 3650".into())),
    };
    issue(tx, user, name, expires_at)
}

/// One page of `user`'s live tokens (login sessions too), by id, without secrets.
pub fn list_tokens(
    conn: &mut DbConn,
    user: UserId,
    page: &PageParams,
) -> Result<Page<TokenInfo>, Error> {
    let pager: Pager<i64> = Pager::new("tokens", page)?;
    let now = time::now();
    let mut query = t::table
        .filter(t::user_id.eq(user.0))
        .filter(t::revoked_at.is_null())
        .filter(t::expires_at.is_null().or(t::expires_at.gt(now)))
        .order(t::id)
        .limit(pager.fetch())
        .into_boxed();
    if let Some(after) = pager.after() {
        query = query.filter(t::id.gt(*after));
    }
    let rows: Vec<TokenRow> = query.load(conn)?;
    Ok(pager.page(rows, |row| row.id).map(|row| TokenInfo {
        id: row.id,
        name: row.name,
        created_at: row.created_at,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
    }))
}

/// Revokes one of `user`'s live tokens; another user's, a revoked, an expired or a missing
/// token is [`Error::NotFound`].
pub fn revoke_token(tx: &mut Tx<'_>, user: UserId, token_id: i64) -> Result<(), Error> {
    let now = time::now();
    let revoked = diesel::update(
        t::table
            .filter(t::id.eq(token_id))
            .filter(t::user_id.eq(user.0))
            .filter(t::revoked_at.is_null())
            .filter(t::expires_at.is_null().or(t::expires_at.gt(now))),
    )
    .set(t::revoked_at.eq(now))
    .execute(&mut **tx)?;
    if revoked == 0 { Err(Error::NotFound("token")) } else { Ok(()) }
}
