//! The active context of a request (contract §4): `X-Active-Context: personal | global | <id>`.

use crate::ids::OrganizationId;

/// In whose name a device or audit request acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActiveContext {
    /// The caller's own devices (the default).
    Personal,
    /// One organization's devices.
    Organization(OrganizationId),
    /// Every device, for holders of the `*_all` permissions.
    Global,
}

/// The header was malformed or repeated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "X-Active-Context must be `personal`, `global` or an organization id (a positive integer), sent at most once"
)]
pub struct InvalidContext;

impl ActiveContext {
    /// Parses every value the request sent for the header: none means `personal`; more than
    /// one, or one that is not `personal`, `global` or a positive integer without sign or
    /// leading zeros that fits in 63 bits, is [`InvalidContext`].
    pub fn parse<'a>(mut values: impl Iterator<Item = &'a [u8]>) -> Result<Self, InvalidContext> {
        let Some(value) = values.next() else { return Ok(ActiveContext::Personal) };
        if values.next().is_some() {
            return Err(InvalidContext);
        }
        match value {
            b"personal" => Ok(ActiveContext::Personal),
            b"global" => Ok(ActiveContext::Global),
            digits => parse_organization_id(digits).map(ActiveContext::Organization),
        }
    }
}

fn parse_organization_id(digits: &[u8]) -> Result<OrganizationId, InvalidContext> {
    let well_formed = !digits.is_empty()
        && digits.len() <= 19
        && digits.iter().all(u8::is_ascii_digit)
        && digits[0] != b'0';
    if !well_formed {
        return Err(InvalidContext);
    }
    let text = std::str::from_utf8(digits).map_err(|_| InvalidContext)?;
    text.parse::<i64>().map(OrganizationId).map_err(|_| InvalidContext)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Result<ActiveContext, InvalidContext> {
        ActiveContext::parse(values.iter().map(|v| v.as_bytes()))
    }

    #[test]
    fn absent_is_personal() {
        assert_eq!(parse(&[]), Ok(ActiveContext::Personal));
    }

    #[test]
    fn accepts_the_three_forms() {
        assert_eq!(parse(&["personal"]), Ok(ActiveContext::Personal));
        assert_eq!(parse(&["global"]), Ok(ActiveContext::Global));
        assert_eq!(parse(&["42"]), Ok(ActiveContext::Organization(OrganizationId(42))));
        assert_eq!(
            parse(&["9223372036854775807"]),
            Ok(ActiveContext::Organization(OrganizationId(i64::MAX)))
        );
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            "0",
            "007",
            "+1",
            "-1",
            "1.0",
            " 1",
            "Personal",
            "GLOBAL",
            "9223372036854775808",
            "99999999999999999999999",
            "1e3",
            "personal,global",
            "\u{0}",
        ] {
            assert_eq!(parse(&[bad]), Err(InvalidContext), "{bad:?}");
        }
        assert_eq!(parse(&["personal", "personal"]), Err(InvalidContext));
    }
}
