//! `/api/v1/me`: the caller's profile and API tokens.

use actix_web::{HttpResponse, delete, get, post, web};
use foundation::Db;
use serde::{Deserialize, Serialize};
use user_authorization::providers::{self as users, TokenInfo};
use utoipa::ToSchema;

use crate::http::{
    auth::Caller,
    json::{List, ListQuery, timestamp},
    problem::{ApiError, Problem},
};

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MembershipBody {
    id: i64,
    name: String,
    role: &'static str,
}

/// **User** with the caller's global roles and organizations.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MeBody {
    id: i64,
    username: String,
    email: Option<String>,
    is_active: bool,
    created_at: String,
    global_roles: Vec<&'static str>,
    organizations: Vec<MembershipBody>,
}

/// The caller, their global roles and their organizations.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MeBody),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
pub(crate) async fn me(caller: Caller, db: web::Data<Db>) -> Result<HttpResponse, ApiError> {
    let profile = db.read(move |conn| users::profile(conn, caller.user)).await?;
    let user = profile.user;
    Ok(HttpResponse::Ok().json(MeBody {
        id: user.id.0,
        username: user.username,
        email: user.email,
        is_active: user.is_active,
        created_at: timestamp(user.created_at),
        global_roles: profile.global_roles.iter().map(|r| r.as_str()).collect(),
        organizations: profile
            .organizations
            .into_iter()
            .map(|m| MembershipBody { id: m.id.0, name: m.name, role: m.role.as_str() })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTokenRequest {
    /// 1–64 characters.
    #[schema(min_length = 1, max_length = 64)]
    name: String,
    /// 1–3650; absent: the token lives until revoked.
    #[schema(minimum = 1, maximum = 3650)]
    expires_in_days: Option<i64>,
}

/// A token just created: `token` is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedTokenBody {
    id: i64,
    name: String,
    token: String,
    expires_at: Option<String>,
}

/// A live token, without its secret (`login` sessions included).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenBody {
    id: i64,
    name: String,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
}

impl From<TokenInfo> for TokenBody {
    fn from(token: TokenInfo) -> Self {
        TokenBody {
            id: token.id,
            name: token.name,
            created_at: timestamp(token.created_at),
            expires_at: token.expires_at.map(timestamp),
            last_used_at: token.last_used_at.map(timestamp),
        }
    }
}

/// Creates a named API token for the caller.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    request_body = CreateTokenRequest,
    responses(
        (status = 201, body = CreatedTokenBody),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/tokens")]
pub(crate) async fn create_token(
    caller: Caller,
    db: web::Data<Db>,
    body: web::Json<CreateTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let CreateTokenRequest { name, expires_in_days } = body.into_inner();
    let issued = db
        .write(move |tx| users::create_api_token(tx, caller.user, &name, expires_in_days))
        .await?;
    Ok(HttpResponse::Created().json(CreatedTokenBody {
        id: issued.id,
        name: issued.name,
        token: issued.token,
        expires_at: issued.expires_at.map(timestamp),
    }))
}

/// The caller's live tokens, by id.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = List<TokenBody>),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/tokens")]
pub(crate) async fn list_tokens(
    caller: Caller,
    db: web::Data<Db>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.page();
    let tokens = db.read(move |conn| users::list_tokens(conn, caller.user, &page)).await?;
    Ok(HttpResponse::Ok().json(List::from_page(tokens, TokenBody::from)))
}

/// Revokes one of the caller's tokens.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 204),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me/tokens/{id}")]
pub(crate) async fn revoke_token(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    db.write(move |tx| users::revoke_token(tx, caller.user, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
