//! The one rule of free-text names shared by every domain (organization, token, device and
//! blueprint names).

/// Whether `value` is 1–`max` characters, not only whitespace, without control characters.
pub fn is_display_name(value: &str, max: usize) -> bool {
    (1..=max).contains(&value.chars().count())
        && !value.trim().is_empty()
        && !value.chars().any(char::is_control)
}

/// [`is_display_name`], with the message to show when `what` (e.g. "device name") breaks it.
pub fn check_display_name(what: &str, value: &str, max: usize) -> Result<(), String> {
    if is_display_name(value, max) {
        Ok(())
    } else {
        Err(format!(
            "{what} must be 1–{max} characters, not only whitespace, without control characters"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::is_display_name;

    #[test]
    fn display_names() {
        assert!(is_display_name("Acme Corp", 128));
        assert!(is_display_name(&"é".repeat(128), 128));
        for bad in ["", "   ", "bell\u{7}", "tab\there", &"x".repeat(129)] {
            assert!(!is_display_name(bad, 128), "{bad:?}");
        }
    }
}
