//! Timestamps: UTC, truncated to microseconds on write so SQLite and PostgreSQL store the
//! same value, and printed as RFC 3339 with exactly six fractional digits.

use chrono::{NaiveDateTime, SubsecRound, Utc};

/// The current UTC time, truncated to microseconds.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// `2026-11-23T09:41:07.120000Z`.
pub fn format_rfc3339(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_six_fraction_digits_and_z() {
        let t = NaiveDateTime::parse_from_str("2026-11-23 09:41:07.12", "%Y-%m-%d %H:%M:%S%.f")
            .unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-23T09:41:07.120000Z");
    }

    #[test]
    fn now_has_no_sub_microsecond_part() {
        assert_eq!(now().and_utc().timestamp_subsec_nanos() % 1000, 0);
    }
}
