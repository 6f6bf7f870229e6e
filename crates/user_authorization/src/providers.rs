//! The user_authorization facade. Every provider takes the connection (`&mut DbConn`) or,
//! when it changes data, the caller's transaction (`&mut Tx`); none opens its own.

pub use crate::{
    error::Error,
    models::{
        AuthUser, IssuedToken, Member, Membership, NewUser, Organization, PasswordHash, Permission,
        Profile, Role, Scope, TokenInfo, User, UserUpdate,
    },
    organizations::{
        create_organization, get_organization, list_members, list_organizations,
        organization_exists, remove_member, set_member_role,
    },
    roles::{check_user_permission, grant_global_role, revoke_global_role},
    tokens::{
        LOGIN_TOKEN_NAME, LoginAttempt, VerifiedLogin, authenticate, begin_login, create_api_token,
        finish_login, list_tokens, logout, revoke_token,
    },
    users::{
        bootstrap_admin, create_user, create_user_with_roles, delete_user, generate_password,
        get_user, has_any_user, hash_password, is_active_user, list_users, profile, register_user,
        update_user, usernames,
    },
};
