//! Claim codes (contract §5.1): printed on a registered device, stored only as SHA-256,
//! compared in constant time; wrong codes are counted per device, 5 per 15 minutes.

use chrono::{Duration, NaiveDateTime};
use data_encoding::BASE32_NOPAD;
use diesel::{dsl::min, prelude::*};
use foundation::{DbConn, DeviceId, Tx, time};

use crate::{
    error::Error,
    schema::{claim_failures as cf, devices as d},
    secrets,
};

/// Wrong codes allowed per device within [`FAILURE_WINDOW_MINUTES`].
pub const MAX_CLAIM_FAILURES: i64 = 5;
/// The throttling window.
pub const FAILURE_WINDOW_MINUTES: i64 = 15;

/// A new code: 128 random bits as 26 characters of RFC 4648 base32, upper case, no padding.
pub fn generate_claim_code() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(BASE32_NOPAD.encode(&bytes))
}

/// Checks a supplied code: 8–64 of `[A-Za-z0-9-]` ([`Error::Invalid`] otherwise).
pub fn validate_claim_code(code: &str) -> Result<(), Error> {
    let ok = (8..=64).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid("claim_code must be 8–64 characters of A-Z, a-z, 0-9 and '-'".into()))
    }
}

/// The stored form of a code.
pub fn hash_claim_code(code: &str) -> String {
    secrets::hash(code)
}

/// Whether the device has a claim code, and whether `code` is it (`None`: no code needed).
pub fn claim_code_matches(
    conn: &mut DbConn,
    device: DeviceId,
    code: Option<&str>,
) -> Result<Option<bool>, Error> {
    let stored: Option<String> = d::table.find(device.0).select(d::claim_code_hash).first(conn)?;
    Ok(stored.map(|stored| code.is_some_and(|code| secrets::matches(code, &stored))))
}

/// Seconds until the device takes claim codes again, when it has had
/// [`MAX_CLAIM_FAILURES`] wrong ones within the window; `None` when it takes them now.
pub fn claim_throttle(conn: &mut DbConn, device: DeviceId) -> Result<Option<u64>, Error> {
    let now = time::now();
    let recent =
        cf::table.filter(cf::device_id.eq(device.0)).filter(cf::occurred_at.gt(now - window()));
    let count: i64 = recent.count().get_result(conn)?;
    if count < MAX_CLAIM_FAILURES {
        return Ok(None);
    }
    let oldest: Option<NaiveDateTime> = recent.select(min(cf::occurred_at)).first(conn)?;
    let free_at = oldest.unwrap_or(now) + window();
    Ok(Some((free_at - now).num_seconds().max(1) as u64))
}

/// Counts one wrong code against the device. Call it inside the transaction that holds the
/// device's row lock and commit it, so concurrent guesses are counted one after another.
pub fn record_claim_failure(tx: &mut Tx<'_>, device: DeviceId) -> Result<(), Error> {
    let now = time::now();
    diesel::delete(
        cf::table.filter(cf::device_id.eq(device.0)).filter(cf::occurred_at.le(now - window())),
    )
    .execute(&mut **tx)?;
    diesel::insert_into(cf::table)
        .values((cf::device_id.eq(device.0), cf::occurred_at.eq(now)))
        .execute(&mut **tx)?;
    Ok(())
}

fn window() -> Duration {
    Duration::minutes(FAILURE_WINDOW_MINUTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_26_upper_case_base32_characters() {
        let code = generate_claim_code().unwrap();
        assert_eq!(code.len(), 26);
        assert!(
            code.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)),
            "{code}"
        );
        assert!(validate_claim_code(&code).is_ok());
        assert_ne!(code, generate_claim_code().unwrap());
    }

    #[test]
    fn supplied_codes_follow_the_rule() {
        for ok in ["ABCD-1234", "abcdefgh", &"x".repeat(64)] {
            assert!(validate_claim_code(ok).is_ok(), "{ok}");
        }
        for bad in ["short", "has space1", "under_score", &"x".repeat(65), "ünïcode12"] {
            assert!(validate_claim_code(bad).is_err(), "{bad}");
        }
    }
}
