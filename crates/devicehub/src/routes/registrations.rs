//! `POST /api/v1/devices/registrations`: manufacturers register devices before they ship.

use actix_web::{HttpResponse, post, web};
use device_provisioning::providers::{self as provisioning, RegisteredDevice, RegistrationItem};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::{
    device_call::DeviceCall,
    problem::{ApiError, Problem},
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegistrationItemBody {
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9:._-]+$")]
    cpu_serial: String,
    #[schema(min_length = 1, max_length = 64, pattern = "^[^\\s]+$")]
    hardware_blueprint_version: String,
    /// 8–64 of `[A-Za-z0-9-]`; absent: the server generates one (returned once).
    #[schema(min_length = 8, max_length = 64, pattern = "^[A-Za-z0-9-]+$")]
    claim_code: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegistrationBody {
    /// 1 to 1000 devices.
    #[schema(min_items = 1, max_items = 1000)]
    devices: Vec<RegistrationItemBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegisteredBody {
    id: i64,
    cpu_serial: String,
    /// Only when the server generated it: 26 characters of base32, shown this once.
    claim_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegistrationResponse {
    registered: usize,
    devices: Vec<RegisteredBody>,
}

impl From<RegisteredDevice> for RegisteredBody {
    fn from(device: RegisteredDevice) -> Self {
        RegisteredBody {
            id: device.id.0,
            cpu_serial: device.cpu_serial,
            claim_code: device.claim_code,
        }
    }
}

/// Registers 1–1000 devices, all or nothing (needs `device:register`). Bad items → 422 with
/// `errors: [{index, code, detail}]`; serials that exist → 409 with the same list. Bodies up to
/// 1 MiB.
#[utoipa::path(
    tag = "devices",
    security(("bearer" = [])),
    request_body = RegistrationBody,
    responses(
        (status = 201, body = RegistrationResponse),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/devices/registrations")]
pub(crate) async fn register(
    call: DeviceCall,
    body: web::Json<RegistrationBody>,
) -> Result<HttpResponse, ApiError> {
    let items: Vec<RegistrationItem> = body
        .into_inner()
        .devices
        .into_iter()
        .map(|d| RegistrationItem {
            cpu_serial: d.cpu_serial,
            hardware_blueprint_version: d.hardware_blueprint_version,
            claim_code: d.claim_code,
        })
        .collect();
    let registered = call
        .write(None, move |tx, who, _| {
            provisioning::register_devices(tx, who.user, &items, &who.actor())
        })
        .await?;
    Ok(HttpResponse::Created().json(RegistrationResponse {
        registered: registered.len(),
        devices: registered.into_iter().map(RegisteredBody::from).collect(),
    }))
}
