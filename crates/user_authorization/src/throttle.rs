//! Login throttling, kept in the database so every server process shares it: 10 failed
//! logins for one username, or 50 from one peer address, within 15 minutes → rate limited.

use chrono::{Duration, NaiveDateTime};
use diesel::{dsl::min, prelude::*};
use foundation::{DbConn, Tx, time};

use crate::{error::Error, schema::login_failures as lf};

const WINDOW_MINUTES: i64 = 15;
const PER_USERNAME: i64 = 10;
const PER_PEER: i64 = 50;

fn window() -> Duration {
    Duration::minutes(WINDOW_MINUTES)
}

/// [`Error::RateLimited`] when either limit is reached, with the seconds until the oldest
/// failure counted leaves the window.
pub(crate) fn check(conn: &mut DbConn, username_key: &str, peer: &str) -> Result<(), Error> {
    let now = time::now();
    let since = now - window();
    let by_name =
        lf::table.filter(lf::username_key.eq(username_key)).filter(lf::occurred_at.gt(since));
    let by_peer = lf::table.filter(lf::peer.eq(peer)).filter(lf::occurred_at.gt(since));
    let name_count: i64 = by_name.count().get_result(conn)?;
    let peer_count: i64 = by_peer.count().get_result(conn)?;
    let oldest: Option<NaiveDateTime> = if name_count >= PER_USERNAME {
        by_name.select(min(lf::occurred_at)).first(conn)?
    } else if peer_count >= PER_PEER {
        by_peer.select(min(lf::occurred_at)).first(conn)?
    } else {
        return Ok(());
    };
    let free_at = oldest.unwrap_or(now) + window();
    let retry_after_secs = (free_at - now).num_seconds().max(1) as u64;
    Err(Error::RateLimited { retry_after_secs })
}

/// Counts one failed login, and forgets failures older than the window.
pub(crate) fn record_failure(tx: &mut Tx<'_>, username_key: &str, peer: &str) -> Result<(), Error> {
    let now = time::now();
    diesel::delete(lf::table.filter(lf::occurred_at.le(now - window()))).execute(&mut **tx)?;
    diesel::insert_into(lf::table)
        .values((lf::username_key.eq(username_key), lf::peer.eq(peer), lf::occurred_at.eq(now)))
        .execute(&mut **tx)?;
    Ok(())
}
