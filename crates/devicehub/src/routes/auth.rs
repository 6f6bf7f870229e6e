//! `/api/v1/auth`: login, logout, self-registration.

use actix_web::{HttpRequest, HttpResponse, post, web};
use audit::providers::Actor;
use foundation::Db;

use crate::http::hashing::Hashing;
use serde::{Deserialize, Serialize};
use user_authorization::providers as users;
use utoipa::ToSchema;

use super::users::UserBody;
use crate::{
    http::{
        auth::{Caller, request_id},
        json::timestamp,
        problem::{ApiError, Problem},
    },
    settings::Settings,
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LoginResponse {
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    expires_at: Option<String>,
}

/// Exchanges a username (any case) and password for a 24-hour bearer token. 10 failures for
/// one username or 50 from one address within 15 minutes answer 429 with `Retry-After`.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub(crate) async fn login(
    req: HttpRequest,
    db: web::Data<Db>,
    hashing: web::Data<Hashing>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { username, password } = body.into_inner();
    let peer = req.peer_addr().map(|addr| addr.ip().to_string()).unwrap_or_default();
    let attempt = db.read(move |conn| users::begin_login(conn, &username, &peer)).await?;
    let verified = hashing.run(move || attempt.verify(&password)).await?;
    let issued = db.write(move |tx| users::finish_login(tx, &verified)).await?;
    let issued = issued.ok_or(users::Error::InvalidCredentials)?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        access_token: issued.token,
        token_type: "Bearer",
        expires_at: issued.expires_at.map(timestamp),
    }))
}

/// Revokes the token this request carries.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/logout")]
pub(crate) async fn logout(caller: Caller, db: web::Data<Db>) -> Result<HttpResponse, ApiError> {
    let auth = caller.auth;
    db.write(move |tx| users::logout(tx, auth)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterRequest {
    #[schema(min_length = 3, max_length = 64, pattern = "^[A-Za-z0-9_.-]+$")]
    username: String,
    #[schema(min_length = 8, max_length = 1024)]
    password: String,
    email: Option<String>,
}

/// Creates an account holding the `member` role, when `DEVICEHUB_ALLOW_REGISTRATION=true`
/// (else 403).
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = UserBody),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/register")]
pub(crate) async fn register(
    req: HttpRequest,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
    hashing: web::Data<Hashing>,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    if !settings.allow_registration {
        return Err(ApiError::permission_denied("self-registration is disabled on this server"));
    }
    let RegisterRequest { username, password, email } = body.into_inner();
    let password = hashing.run(move || users::hash_password(&password)).await??;
    let new = users::NewUser { username, password, email };
    let actor = Actor { user_id: None, request_id: request_id(&req) };
    let user = db.write(move |tx| users::register_user(tx, &new, &actor)).await?;
    Ok(HttpResponse::Created().json(UserBody::from(user)))
}
