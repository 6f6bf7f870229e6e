//! `/api/v1/users`: user administration (needs `user:manage`).

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use device_provisioning::providers as provisioning;
use foundation::{Db, UserId};

use crate::http::hashing::Hashing;
use serde::{Deserialize, Serialize};
use user_authorization::providers::{self as users, Permission, Scope, User};
use utoipa::ToSchema;

use crate::http::{
    auth::Caller,
    json::{List, ListQuery, nullable, timestamp},
    problem::{ApiError, Problem},
};

/// **User** of contract §6.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserBody {
    id: i64,
    username: String,
    email: Option<String>,
    is_active: bool,
    created_at: String,
}

impl From<User> for UserBody {
    fn from(user: User) -> Self {
        UserBody {
            id: user.id.0,
            username: user.username,
            email: user.email,
            is_active: user.is_active,
            created_at: timestamp(user.created_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUserRequest {
    #[schema(min_length = 3, max_length = 64, pattern = "^[A-Za-z0-9_.-]+$")]
    username: String,
    #[schema(min_length = 8, max_length = 1024)]
    password: String,
    email: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateUserRequest {
    is_active: Option<bool>,
    /// `null` clears the address.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    email: Option<Option<String>>,
    #[schema(min_length = 8, max_length = 1024)]
    password: Option<String>,
}

/// Refuses early, before the expensive password hash, when the caller cannot manage users.
async fn require_user_manager(db: &Db, caller: &Caller) -> Result<(), ApiError> {
    let user = caller.user;
    let allowed = db
        .read(move |conn| {
            users::check_user_permission(conn, user, Permission::UserManage, Scope::Global)
        })
        .await?;
    if allowed { Ok(()) } else { Err(ApiError::permission_denied("user:manage is required")) }
}

/// Creates a user (holding the `member` role).
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, body = UserBody),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users")]
pub(crate) async fn create_user(
    caller: Caller,
    db: web::Data<Db>,
    hashing: web::Data<Hashing>,
    body: web::Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    require_user_manager(&db, &caller).await?;
    let CreateUserRequest { username, password, email } = body.into_inner();
    let password = hashing.run(move || users::hash_password(&password)).await??;
    let new = users::NewUser { username, password, email };
    let user =
        db.write(move |tx| users::create_user(tx, caller.user, &new, &caller.actor())).await?;
    Ok(HttpResponse::Created().json(UserBody::from(user)))
}

/// Every user, by id.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = List<UserBody>),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users")]
pub(crate) async fn list_users(
    caller: Caller,
    db: web::Data<Db>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.page();
    let users = db.read(move |conn| users::list_users(conn, caller.user, &page)).await?;
    Ok(HttpResponse::Ok().json(List::from_page(users, UserBody::from)))
}

/// One user.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserBody),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{id}")]
pub(crate) async fn get_user(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = UserId(id.into_inner());
    let user = db.read(move |conn| users::get_user(conn, caller.user, id)).await?;
    Ok(HttpResponse::Ok().json(UserBody::from(user)))
}

/// Changes `is_active`, `email` or `password`. A deactivated user's tokens stop working on
/// the next request.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, body = UserBody),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/users/{id}")]
pub(crate) async fn update_user(
    caller: Caller,
    db: web::Data<Db>,
    hashing: web::Data<Hashing>,
    id: web::Path<i64>,
    body: web::Json<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = UserId(id.into_inner());
    let UpdateUserRequest { is_active, email, password } = body.into_inner();
    let password = match password {
        Some(password) => {
            require_user_manager(&db, &caller).await?;
            Some(hashing.run(move || users::hash_password(&password)).await??)
        }
        None => None,
    };
    let update = users::UserUpdate { is_active, email, password };
    let user = db
        .write(move |tx| users::update_user(tx, caller.user, id, &update, &caller.actor()))
        .await?;
    Ok(HttpResponse::Ok().json(UserBody::from(user)))
}

/// Deletes a user, their tokens, roles, memberships and device links; devices left without an
/// owner are reset.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 204),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/users/{id}")]
pub(crate) async fn delete_user(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = UserId(id.into_inner());
    db.write(move |tx| provisioning::delete_user(tx, caller.user, id, &caller.actor())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Grants a global role (`admin`, `auditor`, `member`); a role already held is a no-op.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 204),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/users/{id}/roles/{role}")]
pub(crate) async fn grant_role(
    caller: Caller,
    db: web::Data<Db>,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, role) = path.into_inner();
    db.write(move |tx| {
        users::grant_global_role(tx, caller.user, UserId(id), &role, &caller.actor())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Revokes a global role.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 204),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/users/{id}/roles/{role}")]
pub(crate) async fn revoke_role(
    caller: Caller,
    db: web::Data<Db>,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, role) = path.into_inner();
    db.write(move |tx| {
        users::revoke_global_role(tx, caller.user, UserId(id), &role, &caller.actor())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
