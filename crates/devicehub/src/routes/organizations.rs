//! `/api/v1/organizations`: organizations and their members.

use actix_web::{HttpResponse, delete, get, post, put, web};
use foundation::{Db, OrganizationId, UserId};
use serde::{Deserialize, Serialize};
use user_authorization::providers::{self as users, Organization};
use utoipa::ToSchema;

use crate::http::{
    auth::Caller,
    json::{List, ListQuery, timestamp},
    problem::{ApiError, Problem},
};

/// **Organization** of contract §6.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrganizationBody {
    id: i64,
    name: String,
    created_at: String,
}

impl From<Organization> for OrganizationBody {
    fn from(org: Organization) -> Self {
        OrganizationBody { id: org.id.0, name: org.name, created_at: timestamp(org.created_at) }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateOrganizationRequest {
    /// 1–128 characters, unique.
    #[schema(min_length = 1, max_length = 128)]
    name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MemberBody {
    user_id: i64,
    username: String,
    role: &'static str,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetMemberRequest {
    /// `org_admin`, `org_operator` or `org_viewer`.
    #[schema(pattern = "^(org_admin|org_operator|org_viewer)$")]
    role: String,
}

/// Creates an organization; the caller becomes its `org_admin`.
#[utoipa::path(
    tag = "organizations",
    security(("bearer" = [])),
    request_body = CreateOrganizationRequest,
    responses(
        (status = 201, body = OrganizationBody),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organizations")]
pub(crate) async fn create_organization(
    caller: Caller,
    db: web::Data<Db>,
    body: web::Json<CreateOrganizationRequest>,
) -> Result<HttpResponse, ApiError> {
    let name = body.into_inner().name;
    let org = db
        .write(move |tx| users::create_organization(tx, caller.user, &name, &caller.actor()))
        .await?;
    Ok(HttpResponse::Created().json(OrganizationBody::from(org)))
}

/// The caller's organizations (every one for holders of `org:manage` globally).
#[utoipa::path(
    tag = "organizations",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = List<OrganizationBody>),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations")]
pub(crate) async fn list_organizations(
    caller: Caller,
    db: web::Data<Db>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.page();
    let orgs = db.read(move |conn| users::list_organizations(conn, caller.user, &page)).await?;
    Ok(HttpResponse::Ok().json(List::from_page(orgs, OrganizationBody::from)))
}

/// One organization, for its members.
#[utoipa::path(
    tag = "organizations",
    security(("bearer" = [])),
    responses(
        (status = 200, body = OrganizationBody),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations/{id}")]
pub(crate) async fn get_organization(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = OrganizationId(id.into_inner());
    let org = db.read(move |conn| users::get_organization(conn, caller.user, id)).await?;
    Ok(HttpResponse::Ok().json(OrganizationBody::from(org)))
}

/// The organization's members (needs `org:manage` in it).
#[utoipa::path(
    tag = "organizations",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = List<MemberBody>),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organizations/{id}/members")]
pub(crate) async fn list_members(
    caller: Caller,
    db: web::Data<Db>,
    id: web::Path<i64>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = OrganizationId(id.into_inner());
    let page = query.page();
    let members = db.read(move |conn| users::list_members(conn, caller.user, id, &page)).await?;
    Ok(HttpResponse::Ok().json(List::from_page(members, |m| MemberBody {
        user_id: m.user_id.0,
        username: m.username,
        role: m.role.as_str(),
    })))
}

/// Sets a user's one role in the organization (adding them if needed).
#[utoipa::path(
    tag = "organizations",
    security(("bearer" = [])),
    request_body = SetMemberRequest,
    responses(
        (status = 204),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/organizations/{id}/members/{user_id}")]
pub(crate) async fn set_member(
    caller: Caller,
    db: web::Data<Db>,
    path: web::Path<(i64, i64)>,
    body: web::Json<SetMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let (org, user) = path.into_inner();
    let role = body.into_inner().role;
    db.write(move |tx| {
        users::set_member_role(
            tx,
            caller.user,
            OrganizationId(org),
            UserId(user),
            &role,
            &caller.actor(),
        )
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes a user from the organization.
#[utoipa::path(
    tag = "organizations",
    security(("bearer" = [])),
    responses(
        (status = 204),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/organizations/{id}/members/{user_id}")]
pub(crate) async fn remove_member(
    caller: Caller,
    db: web::Data<Db>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (org, user) = path.into_inner();
    db.write(move |tx| {
        users::remove_member(tx, caller.user, OrganizationId(org), UserId(user), &caller.actor())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
