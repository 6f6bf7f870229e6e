//! `/api/v1/devices/{id}/…`: links, transfer and credentials (update rule, claimed device).

use actix_web::{HttpResponse, delete, get, post, put, web};
use device_access::providers::{self as access, Link};
use foundation::{DeviceId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::devices::{CredentialsBody, DeviceBody};
use crate::http::{
    device_call::DeviceCall,
    json::{List, ListQuery, timestamp},
    problem::{ApiError, Problem},
};

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LinkBody {
    user_id: i64,
    username: String,
    /// `owner` or `viewer`.
    role: &'static str,
    created_at: String,
}

impl From<Link> for LinkBody {
    fn from(link: Link) -> Self {
        LinkBody {
            user_id: link.user_id.0,
            username: link.username,
            role: link.role.as_str(),
            created_at: timestamp(link.created_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GrantBody {
    /// `owner` or `viewer`.
    #[schema(pattern = "^(owner|viewer)$")]
    role: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TransferBody {
    to_user_id: i64,
}

/// Who has which role on the device.
#[utoipa::path(
    tag = "device access",
    security(("bearer" = [])),
    params(ListQuery, ("X-Active-Context" = Option<String>, Header, description = "personal | global | <organization id>")),
    responses(
        (status = 200, body = List<LinkBody>),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/devices/{id}/access")]
pub(crate) async fn list_access(
    call: DeviceCall,
    id: web::Path<i64>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (device, page) = (DeviceId(id.into_inner()), query.page());
    let links = call
        .read(Some(device), move |conn, who, ctx| {
            access::list_access(conn, who.user, device, ctx, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(List::from_page(links, LinkBody::from)))
}

/// Gives a user a role on the device, or changes it.
#[utoipa::path(
    tag = "device access",
    security(("bearer" = [])),
    request_body = GrantBody,
    params(("X-Active-Context" = Option<String>, Header, description = "personal | global | <organization id>")),
    responses(
        (status = 204),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/devices/{id}/access/{user_id}")]
pub(crate) async fn grant_access(
    call: DeviceCall,
    path: web::Path<(i64, i64)>,
    body: web::Json<GrantBody>,
) -> Result<HttpResponse, ApiError> {
    let (device, target) = path.into_inner();
    let (device, target, role) = (DeviceId(device), UserId(target), body.into_inner().role);
    call.write(Some(device), move |tx, who, ctx| {
        access::grant_access(tx, who.user, device, ctx, target, &role, &who.actor())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes a user's link (the user themself always may); the last owner leaving resets the
/// device.
#[utoipa::path(
    tag = "device access",
    security(("bearer" = [])),
    params(("X-Active-Context" = Option<String>, Header, description = "personal | global | <organization id>")),
    responses(
        (status = 204),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/devices/{id}/access/{user_id}")]
pub(crate) async fn revoke_access(
    call: DeviceCall,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (device, target) = path.into_inner();
    let (device, target) = (DeviceId(device), UserId(target));
    call.write(Some(device), move |tx, who, ctx| {
        access::revoke_access(tx, who.user, device, ctx, target, &who.actor())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Makes another user the only owner.
#[utoipa::path(
    tag = "device access",
    security(("bearer" = [])),
    request_body = TransferBody,
    params(("X-Active-Context" = Option<String>, Header, description = "personal | global | <organization id>")),
    responses(
        (status = 200, body = DeviceBody),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/devices/{id}/transfer")]
pub(crate) async fn transfer(
    call: DeviceCall,
    id: web::Path<i64>,
    body: web::Json<TransferBody>,
) -> Result<HttpResponse, ApiError> {
    let (device, to) = (DeviceId(id.into_inner()), UserId(body.into_inner().to_user_id));
    let moved = call
        .write(Some(device), move |tx, who, ctx| {
            access::transfer_device(tx, who.user, device, ctx, to, &who.actor())
        })
        .await?;
    Ok(HttpResponse::Ok().json(DeviceBody::from(moved)))
}

/// Issues a new device secret (shown once); the old one stops working.
#[utoipa::path(
    tag = "device access",
    security(("bearer" = [])),
    params(("X-Active-Context" = Option<String>, Header, description = "personal | global | <organization id>")),
    responses(
        (status = 200, body = CredentialsBody),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/devices/{id}/credentials/rotate")]
pub(crate) async fn rotate_credentials(
    call: DeviceCall,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let device = DeviceId(id.into_inner());
    let credentials = call
        .write(Some(device), move |tx, who, ctx| {
            access::rotate_credentials(tx, who.user, device, ctx, &who.actor())
        })
        .await?;
    Ok(HttpResponse::Ok().json(CredentialsBody::from(credentials)))
}
