//! Request-shape rules that hold for every route: body size limits and the answers for bodies,
//! queries and paths that cannot be parsed (contract §6: wrong shape → 400, too big → 413).

use actix_web::{
    Error, HttpRequest,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    error::{JsonPayloadError, PathError, QueryPayloadError},
    http::header,
    middleware::Next,
    web,
};

use super::problem::ApiError;

/// Largest request body, except on the routes of [`LARGE_BODY_PATHS`].
pub(crate) const BODY_LIMIT: usize = 64 * 1024;
/// Largest request body on bulk routes.
pub(crate) const LARGE_BODY_LIMIT: usize = 1024 * 1024;
/// Routes that accept [`LARGE_BODY_LIMIT`] (contract §5.1).
const LARGE_BODY_PATHS: &[&str] = &["/api/v1/devices/registrations"];

fn limit_for(path: &str) -> usize {
    if LARGE_BODY_PATHS.contains(&path) { LARGE_BODY_LIMIT } else { BODY_LIMIT }
}

/// Refuses a request whose declared `Content-Length` is over the limit before any route runs.
/// Bodies without a length (chunked) are bounded by the JSON extractor's own limit.
pub(crate) async fn body_size(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let limit = limit_for(req.path());
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        let response =
            actix_web::ResponseError::error_response(&ApiError::payload_too_large(limit));
        return Ok(req.into_response(response).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// JSON bodies: at most [`BODY_LIMIT`], `Content-Type: application/json`, and every parse
/// failure (syntax, type, missing or unknown field) is a 400 `validation_error`.
pub(crate) fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().limit(BODY_LIMIT).error_handler(json_error)
}

fn json_error(err: JsonPayloadError, req: &HttpRequest) -> Error {
    let api_error = match &err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::payload_too_large(limit_for(req.path()))
        }
        JsonPayloadError::ContentType => {
            ApiError::bad_request("the body must be JSON, sent with Content-Type: application/json")
        }
        JsonPayloadError::Deserialize(cause) => {
            ApiError::bad_request(format!("invalid JSON body: {cause}"))
        }
        other => ApiError::bad_request(format!("invalid JSON body: {other}")),
    };
    api_error.into()
}

/// Query strings that do not parse (a number out of range, an unknown value) are 400.
pub(crate) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req: &HttpRequest| {
        ApiError::bad_request(format!("invalid query string: {err}")).into()
    })
}

/// Path parameters that do not parse (an id that is not a number, or out of range) are 400.
pub(crate) fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, _req: &HttpRequest| {
        ApiError::bad_request(format!("invalid path parameter: {err}")).into()
    })
}
