//! Server settings the routes read (from `devicehub serve`'s flags and environment).

/// Behaviour switches of contract §5.1 and §7.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    /// `DEVICEHUB_ALLOW_REGISTRATION`: `POST /auth/register` is open.
    pub(crate) allow_registration: bool,
    /// `DEVICEHUB_REQUIRE_REGISTRATION`: claims of never-registered serials are refused.
    pub(crate) require_registration: bool,
}
