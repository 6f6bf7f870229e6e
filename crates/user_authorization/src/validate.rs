//! The value rules of contract §2. A value that breaks one is [`Error::Invalid`] (422).

use crate::error::Error;

/// 3–64 characters of `[A-Za-z0-9_.-]`.
pub(crate) fn username(name: &str) -> Result<(), Error> {
    let ok = (3..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(
            "username must be 3–64 characters of A-Z, a-z, 0-9, '_', '.', '-'".into(),
        ))
    }
}

/// The key that makes usernames unique ignoring case.
pub(crate) fn username_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// 8–1024 characters.
pub(crate) fn password(password: &str) -> Result<(), Error> {
    if (8..=1024).contains(&password.chars().count()) {
        Ok(())
    } else {
        Err(Error::Invalid("password must be 8–1024 characters".into()))
    }
}

/// A plausible address: one `@` between a non-empty local part and a dotted domain, at most
/// 254 characters, no spaces or control characters.
pub(crate) fn email(email: &str) -> Result<(), Error> {
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.contains('@') && domain.contains('.')
               && !domain.starts_with('.') && !domain.ends_with('.'));
    if ok { Ok(()) } else { Err(Error::Invalid("email is not a valid address".into())) }
}

/// A display name: `min..=max` characters, not only whitespace, no control characters.
pub(crate) fn display_name(what: &str, name: &str, max: usize) -> Result<(), Error> {
    foundation::text::check_display_name(what, name, max).map_err(Error::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in ["abc", "Alice_1.x-y", &"a".repeat(64)] {
            assert!(username(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "", "al ice", "alice!", "élise", &"a".repeat(65), "a\0b"] {
            assert!(username(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_count_characters() {
        assert!(password("12345678").is_ok());
        assert!(password("1234567").is_err());
        assert!(password(&"é".repeat(1024)).is_ok());
        assert!(password(&"x".repeat(1025)).is_err());
    }

    #[test]
    fn emails() {
        assert!(email("a@example.org").is_ok());
        for bad in ["", "a", "a@b", "@b.c", "a@@b.c", "a b@c.d", "a@.c", "a@c.", "a@b.c\n"] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn display_names() {
        assert!(display_name("name", "Acme Corp", 128).is_ok());
        for bad in ["", "   ", "a\u{7}b", &"x".repeat(129)] {
            assert!(display_name("name", bad, 128).is_err(), "{bad:?}");
        }
    }
}
