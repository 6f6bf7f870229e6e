//! `/api/v1/hardware-blueprints`.

use actix_web::{HttpResponse, get, post, web};
use device_core::providers::{self as core, Blueprint, NewBlueprint};
use device_provisioning::providers as provisioning;
use foundation::Db;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::{
    auth::Caller,
    json::{List, ListQuery, timestamp},
    problem::{ApiError, Problem},
};

/// **Blueprint** of contract §6.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BlueprintBody {
    id: i64,
    name: String,
    version: String,
    description: Option<String>,
    created_at: String,
}

impl From<Blueprint> for BlueprintBody {
    fn from(b: Blueprint) -> Self {
        BlueprintBody {
            id: b.id,
            name: b.name,
            version: b.version,
            description: b.description,
            created_at: timestamp(b.created_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateBlueprintRequest {
    #[schema(min_length = 1, max_length = 128)]
    name: String,
    /// Unique; 1–64 characters without whitespace, e.g. `rpi4-b-1.2`.
    #[schema(min_length = 1, max_length = 64, pattern = "^[^\\s]+$")]
    version: String,
    #[schema(max_length = 4096)]
    description: Option<String>,
}

/// Creates a blueprint (needs `blueprint:manage`); a version that exists is 409.
#[utoipa::path(
    tag = "blueprints",
    security(("bearer" = [])),
    request_body = CreateBlueprintRequest,
    responses(
        (status = 201, body = BlueprintBody),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/hardware-blueprints")]
pub(crate) async fn create_blueprint(
    caller: Caller,
    db: web::Data<Db>,
    body: web::Json<CreateBlueprintRequest>,
) -> Result<HttpResponse, ApiError> {
    let CreateBlueprintRequest { name, version, description } = body.into_inner();
    let new = NewBlueprint { name, version, description };
    let blueprint = db
        .write(move |tx| provisioning::create_blueprint(tx, caller.user, &new, &caller.actor()))
        .await?;
    Ok(HttpResponse::Created().json(BlueprintBody::from(blueprint)))
}

/// Every blueprint, by id.
#[utoipa::path(
    tag = "blueprints",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = List<BlueprintBody>),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/hardware-blueprints")]
pub(crate) async fn list_blueprints(
    _caller: Caller,
    db: web::Data<Db>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.page();
    let blueprints = db.read(move |conn| core::list_blueprints(conn, &page)).await?;
    Ok(HttpResponse::Ok().json(List::from_page(blueprints, BlueprintBody::from)))
}

/// One blueprint.
#[utoipa::path(
    tag = "blueprints",
    security(("bearer" = [])),
    responses(
        (status = 200, body = BlueprintBody),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/hardware-blueprints/{id}")]
pub(crate) async fn get_blueprint(
    _caller: Caller,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let blueprint = db.read(move |conn| core::get_blueprint(conn, id)).await?;
    Ok(HttpResponse::Ok().json(BlueprintBody::from(blueprint)))
}
