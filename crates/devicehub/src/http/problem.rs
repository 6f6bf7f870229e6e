//! Every error answer is `application/problem+json` (RFC 9457) with a stable `code`
//! (contract §6). Domain errors are mapped to [`ApiError`] here, in one place; internal
//! causes are logged with the request id and never sent.

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use device_access::providers as access;
use device_core::providers as core;
use device_provisioning::providers as provisioning;
use foundation::{DbError, InvalidContext, StorageFailure, pagination::PageError};
use serde::Serialize;
use user_authorization::providers as users;
use utoipa::ToSchema;

/// The machine-readable error codes of contract §6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorCode {
    Unauthorized,
    PermissionDenied,
    NotFound,
    Conflict,
    AlreadyClaimed,
    ValidationError,
    UnknownBlueprint,
    InvalidContext,
    InvalidClaimCode,
    NotRegistered,
    PayloadTooLarge,
    RateLimited,
    MethodNotAllowed,
    Unavailable,
    Internal,
}

impl ErrorCode {
    fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::AlreadyClaimed => "already_claimed",
            ErrorCode::ValidationError => "validation_error",
            ErrorCode::UnknownBlueprint => "unknown_blueprint",
            ErrorCode::InvalidContext => "invalid_context",
            ErrorCode::InvalidClaimCode => "invalid_claim_code",
            ErrorCode::NotRegistered => "not_registered",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }
}

/// The problem+json body.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Problem {
    /// `urn:devicehub:problem:<code>`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// The HTTP status text.
    pub(crate) title: String,
    pub(crate) status: u16,
    /// What went wrong, for a person.
    pub(crate) detail: String,
    pub(crate) code: ErrorCode,
    /// Per-item errors of a bulk request (registrations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) errors: Option<Vec<ItemErrorBody>>,
}

/// One refused item of a bulk request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ItemErrorBody {
    /// Its position in the request, from 0.
    pub(crate) index: usize,
    pub(crate) code: &'static str,
    pub(crate) detail: String,
}

/// An error answer: status, code and a detail safe to show the client.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    detail: String,
    retry_after_secs: Option<u64>,
    errors: Option<Vec<ItemErrorBody>>,
    allow: Option<String>,
    /// It was the database connection breaking; see [`StorageFailure::lost_connection`].
    lost_connection: bool,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: ErrorCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            retry_after_secs: None,
            errors: None,
            allow: None,
            lost_connection: false,
        }
    }

    /// 422 `validation_error`: a well-formed value breaks a rule.
    pub(crate) fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::ValidationError, detail)
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "a valid bearer token is required",
        )
    }

    pub(crate) fn permission_denied(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::PermissionDenied, detail)
    }

    pub(crate) fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, detail)
    }

    pub(crate) fn rate_limited(retry_after_secs: u64) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!("too many attempts; retry in {retry_after_secs} s"),
        );
        err.retry_after_secs = Some(retry_after_secs);
        err
    }

    /// 400 `validation_error`: the request's shape is wrong.
    pub(crate) fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::ValidationError, detail)
    }

    pub(crate) fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, detail)
    }

    /// 405 with the `Allow` header listing `allowed`.
    pub(crate) fn method_not_allowed(allowed: &str) -> Self {
        let mut err = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            format!("this path allows {allowed}"),
        );
        err.allow = Some(allowed.to_owned());
        err
    }

    pub(crate) fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("the request body is larger than {} KiB", limit / 1024),
        )
    }

    pub(crate) fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "the database is not answering; try again shortly",
        )
    }

    /// 500 `internal`. The cause is logged here and never reaches the client.
    pub(crate) fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(cause = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "internal error")
    }

    /// 403 `invalid_claim_code`.
    pub(crate) fn invalid_claim_code() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorCode::InvalidClaimCode,
            "this device needs its claim code, and the one given is missing or wrong",
        )
    }

    /// Lists the refused items of a bulk request in the body.
    fn with_items(mut self, errors: &[provisioning::ItemError]) -> Self {
        self.errors = Some(
            errors
                .iter()
                .map(|e| ItemErrorBody { index: e.index, code: e.code, detail: e.detail.clone() })
                .collect(),
        );
        self
    }

    /// Whether this is a 403 `permission_denied` (device routes audit those).
    pub(crate) fn is_permission_denied(&self) -> bool {
        self.code == ErrorCode::PermissionDenied
    }

    pub(crate) fn detail(&self) -> &str {
        &self.detail
    }

    fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:devicehub:problem:{}", self.code.as_str()),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            errors: self.errors.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code.as_str(), self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let Some(secs) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if let Some(allow) = &self.allow {
            response.insert_header((header::ALLOW, allow.as_str()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(self.problem())
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError::unavailable()
            }
            DbError::ConnectionLost(cause) => {
                tracing::warn!(%cause, "database connection lost");
                ApiError { lost_connection: true, ..ApiError::unavailable() }
            }
            other => ApiError::internal(&other),
        }
    }
}

/// An answer no longer carries the storage error it came from, only whether the connection
/// was lost, so that the connection is dropped even when the error reaches the pool as an
/// answer.
impl StorageFailure for ApiError {
    fn storage_error(&self) -> Option<&DbError> {
        None
    }

    fn lost_connection(&self) -> bool {
        self.lost_connection
    }
}

impl From<PageError> for ApiError {
    fn from(err: PageError) -> Self {
        ApiError::bad_request(err.to_string())
    }
}

impl From<InvalidContext> for ApiError {
    fn from(err: InvalidContext) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidContext, err.to_string())
    }
}

impl From<users::Error> for ApiError {
    fn from(err: users::Error) -> Self {
        match err {
            users::Error::Unauthorized => ApiError::unauthorized(),
            users::Error::InvalidCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "wrong username or password",
            ),
            users::Error::RateLimited { retry_after_secs } => {
                ApiError::rate_limited(retry_after_secs)
            }
            users::Error::PermissionDenied(detail) => ApiError::permission_denied(detail),
            users::Error::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            users::Error::Invalid(detail) => ApiError::unprocessable(detail),
            users::Error::Conflict(detail) => ApiError::conflict(detail),
            users::Error::Page(page) => page.into(),
            users::Error::Storage(db) => db.into(),
            hashing @ users::Error::Hashing(_) => ApiError::internal(&hashing),
        }
    }
}

impl From<audit::providers::Error> for ApiError {
    fn from(err: audit::providers::Error) -> Self {
        match err {
            audit::providers::Error::Page(page) => page.into(),
            audit::providers::Error::Storage(db) => db.into(),
        }
    }
}

impl From<provisioning::Error> for ApiError {
    fn from(err: provisioning::Error) -> Self {
        match err {
            provisioning::Error::PermissionDenied(detail) => ApiError::permission_denied(detail),
            provisioning::Error::InvalidContext(detail) => {
                Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidContext, detail)
            }
            unknown @ provisioning::Error::UnknownBlueprint(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::UnknownBlueprint,
                unknown.to_string(),
            ),
            claimed @ provisioning::Error::AlreadyClaimed => {
                Self::new(StatusCode::CONFLICT, ErrorCode::AlreadyClaimed, claimed.to_string())
            }
            missing @ provisioning::Error::NotRegistered => {
                Self::new(StatusCode::NOT_FOUND, ErrorCode::NotRegistered, missing.to_string())
            }
            provisioning::Error::RateLimited { retry_after_secs } => {
                ApiError::rate_limited(retry_after_secs)
            }
            ref invalid @ provisioning::Error::InvalidItems {
                unknown_blueprint_only,
                ref errors,
            } => {
                let code = if unknown_blueprint_only {
                    ErrorCode::UnknownBlueprint
                } else {
                    ErrorCode::ValidationError
                };
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, invalid.to_string())
                    .with_items(errors)
            }
            ref existing @ provisioning::Error::ExistingItems(ref errors) => {
                ApiError::conflict(existing.to_string()).with_items(errors)
            }
            provisioning::Error::Invalid(detail) => ApiError::unprocessable(detail),
            provisioning::Error::Users(err) => err.into(),
            provisioning::Error::Core(err) => err.into(),
            provisioning::Error::Access(err) => err.into(),
            provisioning::Error::Audit(err) => err.into(),
            provisioning::Error::Storage(err) => err.into(),
        }
    }
}

impl From<core::Error> for ApiError {
    fn from(err: core::Error) -> Self {
        match err {
            core::Error::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            core::Error::Invalid(detail) => ApiError::unprocessable(detail),
            core::Error::Conflict(detail) => ApiError::conflict(detail),
            core::Error::Page(page) => page.into(),
            core::Error::Storage(db) => db.into(),
            random @ core::Error::Random(_) => ApiError::internal(&random),
        }
    }
}

impl From<access::Error> for ApiError {
    fn from(err: access::Error) -> Self {
        match err {
            access::Error::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            access::Error::PermissionDenied(detail) => ApiError::permission_denied(detail),
            access::Error::Conflict(detail) => ApiError::conflict(detail),
            access::Error::Invalid(detail) => ApiError::unprocessable(detail),
            access::Error::Page(page) => page.into(),
            access::Error::Storage(db) => db.into(),
            internal @ access::Error::Internal(_) => ApiError::internal(&internal),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;

    use super::*;

    fn body_of(err: &ApiError) -> serde_json::Value {
        let bytes = err.error_response().into_body().try_into_bytes().unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let cause = DbError::Query(diesel::result::Error::QueryBuilderError(
            "SELECT secret_hash FROM users".into(),
        ));
        let err = ApiError::from(cause);
        let body = body_of(&err);
        assert_eq!(body["status"], 500);
        assert_eq!(body["code"], "internal");
        assert!(!body.to_string().contains("SELECT"), "{body}");
        assert!(!body.to_string().contains("secret_hash"), "{body}");
    }

    #[test]
    fn unavailable_database_is_503() {
        let err = ApiError::from(DbError::Unavailable("connection refused at 10.0.0.5".into()));
        let body = body_of(&err);
        assert_eq!(
            (body["status"].as_u64(), body["code"].as_str()),
            (Some(503), Some("unavailable"))
        );
        assert!(!body.to_string().contains("10.0.0.5"));
    }

    #[test]
    fn problem_has_every_field_of_the_contract() {
        let body = body_of(&ApiError::not_found("no such device"));
        for field in ["type", "title", "status", "detail", "code"] {
            assert!(body.get(field).is_some(), "missing {field} in {body}");
        }
        assert_eq!(body["type"], "urn:devicehub:problem:not_found");
    }
}
