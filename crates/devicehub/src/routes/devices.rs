//! `/api/v1/devices`: claim, authenticate, read, list, rename, delete.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use device_access::providers as access;
use device_core::providers::{self as core, Credentials, Device, DeviceFilter, DeviceStatus};
use device_provisioning::providers::{
    self as provisioning, ClaimOutcome, ClaimPolicy, ClaimRequest,
};
use foundation::{Db, DeviceId, pagination::PageParams};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    http::{
        device_call::DeviceCall,
        json::{List, nullable, timestamp},
        problem::{ApiError, Problem},
    },
    settings::Settings,
};

/// **Device** of contract §6.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeviceBody {
    id: i64,
    cpu_serial: String,
    current_uuid: String,
    name: Option<String>,
    /// `active` or `unclaimed`.
    status: &'static str,
    organization_id: Option<i64>,
    hardware_blueprint_id: i64,
    hardware_blueprint_version: String,
    created_at: String,
    updated_at: String,
}

impl From<Device> for DeviceBody {
    fn from(d: Device) -> Self {
        DeviceBody {
            id: d.id.0,
            cpu_serial: d.cpu_serial,
            current_uuid: d.current_uuid,
            name: d.name,
            status: d.status.as_str(),
            organization_id: d.organization_id.map(|o| o.0),
            hardware_blueprint_id: d.hardware_blueprint_id,
            hardware_blueprint_version: d.hardware_blueprint_version,
            created_at: timestamp(d.created_at),
            updated_at: timestamp(d.updated_at),
        }
    }
}

/// A device's credentials: the secret is shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CredentialsBody {
    device_uuid: String,
    device_secret: String,
}

impl From<Credentials> for CredentialsBody {
    fn from(c: Credentials) -> Self {
        CredentialsBody { device_uuid: c.device_uuid, device_secret: c.device_secret }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClaimBody {
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9:._-]+$")]
    cpu_serial: String,
    #[schema(min_length = 1, max_length = 64, pattern = "^[^\\s]+$")]
    hardware_blueprint_version: String,
    #[schema(min_length = 1, max_length = 128)]
    name: Option<String>,
    #[schema(min_length = 8, max_length = 64, pattern = "^[A-Za-z0-9-]+$")]
    claim_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ClaimResponse {
    device: DeviceBody,
    /// `null` when the caller already owned the device (a retried claim).
    credentials: Option<CredentialsBody>,
}

/// Claims a device in the active context (contract §5): 201 with credentials shown once; 200
/// with `credentials: null` when the caller already owns it; 409 `already_claimed` when
/// someone else does.
#[utoipa::path(
    tag = "devices",
    security(("bearer" = [])),
    request_body = ClaimBody,
    params(("X-Active-Context" = Option<String>, Header, description = "personal | <organization id>")),
    responses(
        (status = 201, body = ClaimResponse),
        (status = 200, body = ClaimResponse),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/devices/claim")]
pub(crate) async fn claim(
    call: DeviceCall,
    settings: web::Data<Settings>,
    body: web::Json<ClaimBody>,
) -> Result<HttpResponse, ApiError> {
    let ClaimBody { cpu_serial, hardware_blueprint_version, name, claim_code } = body.into_inner();
    let request = ClaimRequest { cpu_serial, hardware_blueprint_version, name, claim_code };
    let policy = ClaimPolicy { require_registration: settings.require_registration };
    let outcome = call
        .write(None, move |tx, who, ctx| {
            provisioning::provision_new_device(tx, who.user, ctx, &request, policy, &who.actor())
        })
        .await?;
    let claimed = match outcome {
        ClaimOutcome::Claimed(claimed) => *claimed,
        ClaimOutcome::InvalidClaimCode => return Err(ApiError::invalid_claim_code()),
    };
    let status = if claimed.credentials.is_some() { StatusCode::CREATED } else { StatusCode::OK };
    Ok(HttpResponse::build(status).json(ClaimResponse {
        device: DeviceBody::from(claimed.device),
        credentials: claimed.credentials.map(CredentialsBody::from),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthenticateBody {
    device_uuid: String,
    device_secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuthenticatedBody {
    device_id: i64,
    status: &'static str,
}

/// How a device proves the credentials it was given: 200 or 401.
#[utoipa::path(
    tag = "devices",
    request_body = AuthenticateBody,
    responses(
        (status = 200, body = AuthenticatedBody),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/devices/authenticate")]
pub(crate) async fn authenticate(
    db: web::Data<Db>,
    body: web::Json<AuthenticateBody>,
) -> Result<HttpResponse, ApiError> {
    let AuthenticateBody { device_uuid, device_secret } = body.into_inner();
    let found = db
        .read(move |conn| core::authenticate_device(conn, &device_uuid, &device_secret))
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    Ok(HttpResponse::Ok()
        .json(AuthenticatedBody { device_id: found.0.0, status: found.1.as_str() }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeviceQuery {
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    cursor: Option<String>,
    /// `active` or `unclaimed`.
    #[param(value_type = Option<String>)]
    status: Option<StatusParam>,
    blueprint_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StatusParam {
    Active,
    Unclaimed,
}

/// The devices the read rule allows in the active context, by id.
#[utoipa::path(
    tag = "devices",
    security(("bearer" = [])),
    params(DeviceQuery, ("X-Active-Context" = Option<String>, Header, description = "personal | global | <organization id>")),
    responses(
        (status = 200, body = List<DeviceBody>),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/devices")]
pub(crate) async fn list_devices(
    call: DeviceCall,
    query: web::Query<DeviceQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let filter = DeviceFilter {
        organization_id: None,
        status: query.status.map(|s| match s {
            StatusParam::Active => DeviceStatus::Active,
            StatusParam::Unclaimed => DeviceStatus::Unclaimed,
        }),
        blueprint_id: query.blueprint_id,
    };
    let page = PageParams { limit: query.limit, cursor: query.cursor };
    let devices = call
        .read(None, move |conn, who, ctx| {
            access::list_visible_devices(conn, who.user, ctx, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(List::from_page(devices, DeviceBody::from)))
}

/// One device, when the read rule allows it in the active context.
#[utoipa::path(
    tag = "devices",
    security(("bearer" = [])),
    params(("X-Active-Context" = Option<String>, Header, description = "personal | global | <organization id>")),
    responses(
        (status = 200, body = DeviceBody),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/devices/{id:[0-9]+}")]
pub(crate) async fn get_device(
    call: DeviceCall,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let device = DeviceId(id.into_inner());
    let found = call
        .read(Some(device), move |conn, who, ctx| {
            access::get_device_if_user_has_read_access(conn, who.user, device, ctx)
        })
        .await?;
    Ok(HttpResponse::Ok().json(DeviceBody::from(found)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateDeviceBody {
    /// `null` clears the name; `""` is refused.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
}

/// Renames the device (update rule).
#[utoipa::path(
    tag = "devices",
    security(("bearer" = [])),
    request_body = UpdateDeviceBody,
    params(("X-Active-Context" = Option<String>, Header, description = "personal | global | <organization id>")),
    responses(
        (status = 200, body = DeviceBody),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/devices/{id:[0-9]+}")]
pub(crate) async fn update_device(
    call: DeviceCall,
    id: web::Path<i64>,
    body: web::Json<UpdateDeviceBody>,
) -> Result<HttpResponse, ApiError> {
    let device = DeviceId(id.into_inner());
    let updated = match body.into_inner().name {
        Some(name) => {
            call.write(Some(device), move |tx, who, ctx| {
                access::rename_device(tx, who.user, device, ctx, name.as_deref(), &who.actor())
            })
            .await?
        }
        None => {
            call.read(Some(device), move |conn, who, ctx| {
                access::get_device_if_user_has_update_access(conn, who.user, device, ctx)
            })
            .await?
        }
    };
    Ok(HttpResponse::Ok().json(DeviceBody::from(updated)))
}

/// Deletes the device (delete rule).
#[utoipa::path(
    tag = "devices",
    security(("bearer" = [])),
    params(("X-Active-Context" = Option<String>, Header, description = "personal | global | <organization id>")),
    responses(
        (status = 204),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/devices/{id:[0-9]+}")]
pub(crate) async fn delete_device(
    call: DeviceCall,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let device = DeviceId(id.into_inner());
    call.write(Some(device), move |tx, who, ctx| {
        access::delete_device(tx, who.user, device, ctx, &who.actor())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
