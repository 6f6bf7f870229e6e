//! Request-shape rules that hold for every route: body size limits and the answers for bodies,
//! queries and paths that cannot be parsed (contract §6: wrong shape → 400, too big → 413).

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use actix_web::{
    Error, HttpMessage, HttpRequest,
    body::{EitherBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError},
    http::header,
    middleware::Next,
    web::{self, Bytes},
};
use futures_core::Stream;

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

/// The body limit of every route, in one place: a request whose declared `Content-Length` is
/// over its path's limit is refused before any route runs; a body without a length (chunked)
/// is counted as it streams in and cut off at the limit (the extractor then answers 413).
pub(crate) async fn body_size(
    mut req: ServiceRequest,
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
    if declared.is_none() {
        let limited: LimitedStream = Box::pin(Limited { inner: req.take_payload(), left: limit });
        req.set_payload(Payload::from(limited));
    }
    Ok(next.call(req).await?.map_into_left_body())
}

type LimitedStream = Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>;

/// A request body stream that fails with `Overflow` past `left` bytes.
struct Limited {
    inner: Payload,
    left: usize,
}

impl Stream for Limited {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) if chunk.len() > self.left => {
                self.left = 0;
                Poll::Ready(Some(Err(PayloadError::Overflow)))
            }
            Poll::Ready(Some(Ok(chunk))) => {
                self.left -= chunk.len();
                Poll::Ready(Some(Ok(chunk)))
            }
            other => other,
        }
    }
}

/// JSON bodies: `Content-Type: application/json`, within the path's limit (enforced by
/// [`body_size`]), and every parse failure (syntax, type, missing or unknown field) is a 400
/// `validation_error`.
pub(crate) fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().limit(LARGE_BODY_LIMIT).error_handler(json_error)
}

fn json_error(err: JsonPayloadError, req: &HttpRequest) -> Error {
    let api_error = match &err {
        JsonPayloadError::Overflow { .. }
        | JsonPayloadError::OverflowKnownLength { .. }
        | JsonPayloadError::Payload(PayloadError::Overflow) => {
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
