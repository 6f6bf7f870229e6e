//! The domain's types (public through `providers`) and its table rows (private).

use std::{fmt, str::FromStr};

use chrono::NaiveDateTime;
use diesel::{Insertable, Queryable};
use foundation::{OrganizationId, UserId};

use crate::{error::Error, schema::*};

/// A user (contract §6 **User**). Never holds the password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    #[allow(missing_docs)]
    pub id: UserId,
    #[allow(missing_docs)]
    pub username: String,
    #[allow(missing_docs)]
    pub email: Option<String>,
    /// A deactivated user holds nothing and every token of theirs is refused.
    pub is_active: bool,
    #[allow(missing_docs)]
    pub created_at: NaiveDateTime,
}

/// An argon2id hash made by `providers::hash_password`, the only way to set a password.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub(crate) String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(…)")
    }
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// 3–64 of `[A-Za-z0-9_.-]`, unique ignoring case.
    pub username: String,
    #[allow(missing_docs)]
    pub password: PasswordHash,
    #[allow(missing_docs)]
    pub email: Option<String>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    #[allow(missing_docs)]
    pub is_active: Option<bool>,
    /// `Some(None)` clears the address.
    pub email: Option<Option<String>>,
    #[allow(missing_docs)]
    pub password: Option<PasswordHash>,
}

/// An organization (contract §6 **Organization**).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    #[allow(missing_docs)]
    pub id: OrganizationId,
    #[allow(missing_docs)]
    pub name: String,
    #[allow(missing_docs)]
    pub created_at: NaiveDateTime,
}

/// One of the caller's organizations and their role in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    #[allow(missing_docs)]
    pub id: OrganizationId,
    #[allow(missing_docs)]
    pub name: String,
    #[allow(missing_docs)]
    pub role: Role,
}

/// A member of an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    #[allow(missing_docs)]
    pub user_id: UserId,
    #[allow(missing_docs)]
    pub username: String,
    #[allow(missing_docs)]
    pub role: Role,
}

/// What `GET /me` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    #[allow(missing_docs)]
    pub user: User,
    /// Names of the user's global roles.
    pub global_roles: Vec<Role>,
    #[allow(missing_docs)]
    pub organizations: Vec<Membership>,
}

/// A token as listed (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    #[allow(missing_docs)]
    pub id: i64,
    /// `login` for login sessions.
    pub name: String,
    #[allow(missing_docs)]
    pub created_at: NaiveDateTime,
    #[allow(missing_docs)]
    pub expires_at: Option<NaiveDateTime>,
    #[allow(missing_docs)]
    pub last_used_at: Option<NaiveDateTime>,
}

/// A token just issued: the only time its secret is seen.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    #[allow(missing_docs)]
    pub id: i64,
    #[allow(missing_docs)]
    pub name: String,
    /// The bearer secret.
    pub token: String,
    #[allow(missing_docs)]
    pub expires_at: Option<NaiveDateTime>,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken").field("id", &self.id).field("name", &self.name).finish()
    }
}

/// The caller of an authenticated request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    #[allow(missing_docs)]
    pub user_id: UserId,
    /// The token the request used (what logout revokes).
    pub token_id: i64,
}

/// The permissions of contract §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Permission {
    DeviceRegister,
    DeviceProvision,
    DeviceRead,
    DeviceUpdate,
    DeviceDelete,
    DeviceReadAll,
    DeviceUpdateAll,
    DeviceDeleteAll,
    AuditRead,
    BlueprintManage,
    UserManage,
    OrgManage,
}

impl Permission {
    /// The stored name, e.g. `device:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::DeviceRegister => "device:register",
            Permission::DeviceProvision => "device:provision",
            Permission::DeviceRead => "device:read",
            Permission::DeviceUpdate => "device:update",
            Permission::DeviceDelete => "device:delete",
            Permission::DeviceReadAll => "device:read_all",
            Permission::DeviceUpdateAll => "device:update_all",
            Permission::DeviceDeleteAll => "device:delete_all",
            Permission::AuditRead => "audit:read",
            Permission::BlueprintManage => "blueprint:manage",
            Permission::UserManage => "user:manage",
            Permission::OrgManage => "org:manage",
        }
    }
}

/// Where a permission is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Global roles count.
    Global,
    /// The user's role in this organization counts, and so does the global `admin` role.
    Organization(OrganizationId),
}

/// The built-in roles of contract §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Role {
    Admin,
    Auditor,
    Member,
    OrgAdmin,
    OrgOperator,
    OrgViewer,
}

impl Role {
    /// The stored name, e.g. `org_admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::Member => "member",
            Role::OrgAdmin => "org_admin",
            Role::OrgOperator => "org_operator",
            Role::OrgViewer => "org_viewer",
        }
    }

    /// Whether the role is granted globally (else inside one organization).
    pub fn is_global(self) -> bool {
        matches!(self, Role::Admin | Role::Auditor | Role::Member)
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(name: &str) -> Result<Self, Error> {
        [
            Role::Admin,
            Role::Auditor,
            Role::Member,
            Role::OrgAdmin,
            Role::OrgOperator,
            Role::OrgViewer,
        ]
        .into_iter()
        .find(|role| role.as_str() == name)
        .ok_or_else(|| Error::Invalid(format!("unknown role {name:?}")))
    }
}

// No Debug: the row holds the password hash.
#[derive(Queryable)]
pub(crate) struct UserRow {
    pub(crate) id: i64,
    pub(crate) username: String,
    #[allow(dead_code, reason = "selected by position; lookups filter on it")]
    pub(crate) username_key: String,
    pub(crate) email: Option<String>,
    pub(crate) password_hash: String,
    pub(crate) is_active: bool,
    pub(crate) created_at: NaiveDateTime,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: UserId(row.id),
            username: row.username,
            email: row.email,
            is_active: row.is_active,
            created_at: row.created_at,
        }
    }
}

#[derive(Debug, Insertable)]
// `None` binds NULL instead of writing DEFAULT, so the statement's SQL never varies and
// diesel can keep it prepared.
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub(crate) struct NewUserRow<'a> {
    pub(crate) username: &'a str,
    pub(crate) username_key: &'a str,
    pub(crate) email: Option<&'a str>,
    pub(crate) password_hash: &'a str,
    pub(crate) is_active: bool,
    pub(crate) created_at: NaiveDateTime,
}

// No Debug: the row holds the token hash.
#[derive(Queryable)]
pub(crate) struct TokenRow {
    pub(crate) id: i64,
    pub(crate) user_id: i64,
    pub(crate) name: String,
    #[allow(dead_code, reason = "selected by position; lookups filter on it")]
    pub(crate) token_hash: String,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) expires_at: Option<NaiveDateTime>,
    pub(crate) last_used_at: Option<NaiveDateTime>,
    pub(crate) revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
// `None` binds NULL instead of writing DEFAULT, so the statement's SQL never varies and
// diesel can keep it prepared.
#[diesel(table_name = api_tokens, treat_none_as_default_value = false)]
pub(crate) struct NewTokenRow<'a> {
    pub(crate) user_id: i64,
    pub(crate) name: &'a str,
    pub(crate) token_hash: &'a str,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) expires_at: Option<NaiveDateTime>,
}

#[derive(Debug, Queryable)]
pub(crate) struct OrganizationRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) created_at: NaiveDateTime,
}

impl From<OrganizationRow> for Organization {
    fn from(row: OrganizationRow) -> Self {
        Organization { id: OrganizationId(row.id), name: row.name, created_at: row.created_at }
    }
}
