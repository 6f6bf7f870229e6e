//! The value rules of contract §2 for devices and blueprints; breaking one is 422.

use crate::error::Error;

/// 1–64 of `[A-Za-z0-9:._-]`.
pub(crate) fn cpu_serial(serial: &str) -> Result<(), Error> {
    let ok = (1..=64).contains(&serial.len())
        && serial.bytes().all(|b| b.is_ascii_alphanumeric() || b":._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(
            "cpu_serial must be 1–64 characters of A-Z, a-z, 0-9, ':', '.', '_', '-'".into(),
        ))
    }
}

/// A device name: 1–128 characters without control characters, not only whitespace.
pub(crate) fn device_name(name: &str) -> Result<(), Error> {
    text("device name", name, 128)
}

/// A blueprint version: 1–64 characters without whitespace or control characters.
pub(crate) fn blueprint_version(version: &str) -> Result<(), Error> {
    let ok = (1..=64).contains(&version.chars().count())
        && !version.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid("version must be 1–64 characters without whitespace".into()))
    }
}

/// A blueprint name: 1–128 characters.
pub(crate) fn blueprint_name(name: &str) -> Result<(), Error> {
    text("blueprint name", name, 128)
}

/// A blueprint description: at most 4096 characters.
pub(crate) fn description(text: &str) -> Result<(), Error> {
    if text.chars().count() <= 4096 {
        Ok(())
    } else {
        Err(Error::Invalid("description must be at most 4096 characters".into()))
    }
}

fn text(what: &str, value: &str, max: usize) -> Result<(), Error> {
    foundation::text::check_display_name(what, value, max).map_err(Error::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials() {
        for ok in ["a", "CPU-0001:ab_c.d", &"9".repeat(64)] {
            assert!(cpu_serial(ok).is_ok(), "{ok}");
        }
        for bad in ["", "has space", "slash/", "é", &"9".repeat(65), "nul\0"] {
            assert!(cpu_serial(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_and_versions() {
        assert!(device_name("Kitchen sensor").is_ok());
        for bad in ["", " ", "tab\there", &"x".repeat(129)] {
            assert!(device_name(bad).is_err(), "{bad:?}");
        }
        assert!(blueprint_version("rpi4-b-1.2").is_ok());
        for bad in ["", "has space", &"v".repeat(65)] {
            assert!(blueprint_version(bad).is_err(), "{bad:?}");
        }
    }
}
