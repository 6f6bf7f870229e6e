//! `/api/v1/audit-logs`: the audit log as the active context lets the caller see it.

use actix_web::{HttpResponse, get, web};
use audit::providers::{Entry, EventType, Filter};
use chrono::{DateTime, NaiveDateTime};
use device_provisioning::providers as provisioning;
use foundation::{Db, DeviceId, UserId, pagination::PageParams};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::{
    auth::{Caller, Context},
    json::{List, timestamp},
    problem::{ApiError, Problem},
};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    device_id: Option<i64>,
    actor_user_id: Option<i64>,
    /// e.g. `DEVICE_RESET`.
    #[param(value_type = Option<String>)]
    event_type: Option<EventType>,
    /// RFC 3339; entries at or after it.
    since: Option<String>,
    /// RFC 3339; entries before it.
    until: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    cursor: Option<String>,
}

/// **AuditEntry** of contract §6.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditEntryBody {
    id: i64,
    occurred_at: String,
    event_type: String,
    description: String,
    actor_user_id: Option<i64>,
    target_device_id: Option<i64>,
    organization_id: Option<i64>,
    details: serde_json::Value,
    request_id: Option<String>,
}

impl From<Entry> for AuditEntryBody {
    fn from(entry: Entry) -> Self {
        AuditEntryBody {
            id: entry.id,
            occurred_at: timestamp(entry.occurred_at),
            event_type: entry.event_type,
            description: entry.description,
            actor_user_id: entry.actor_user_id.map(|id| id.0),
            target_device_id: entry.target_device_id.map(|id| id.0),
            organization_id: entry.organization_id.map(|id| id.0),
            details: entry.details,
            request_id: entry.request_id,
        }
    }
}

fn instant(name: &str, value: Option<&str>) -> Result<Option<NaiveDateTime>, ApiError> {
    value
        .map(|text| {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.naive_utc())
                .map_err(|_| ApiError::bad_request(format!("{name} must be an RFC 3339 timestamp")))
        })
        .transpose()
}

/// Audit entries, newest first. `personal`: what the caller did; an organization: its events
/// (needs `audit:read` there); `global`: everything (needs `audit:read` globally).
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(AuditQuery, ("X-Active-Context" = Option<String>, Header, description = "personal | global | <organization id>")),
    responses(
        (status = 200, body = List<AuditEntryBody>),
        (status = "default", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit-logs")]
pub(crate) async fn list_audit_logs(
    caller: Caller,
    context: Context,
    db: web::Data<Db>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let filter = Filter {
        device_id: query.device_id.map(DeviceId),
        actor_user_id: query.actor_user_id.map(UserId),
        event_type: query.event_type,
        since: instant("since", query.since.as_deref())?,
        until: instant("until", query.until.as_deref())?,
    };
    let page = PageParams { limit: query.limit, cursor: query.cursor };
    let entries = db
        .read(move |conn| {
            provisioning::list_audit_log(conn, caller.user, context.0, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(List::from_page(entries, AuditEntryBody::from)))
}
