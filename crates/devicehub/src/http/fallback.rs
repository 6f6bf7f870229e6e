//! The answer for requests no route takes: 405 when the path exists under another method,
//! else 404.

use actix_web::{HttpRequest, HttpResponse};

use super::problem::ApiError;

pub(crate) async fn not_found_or_method_not_allowed(
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if req.resource_map().has_resource(req.path()) {
        Err(ApiError::method_not_allowed())
    } else {
        Err(ApiError::not_found(format!("no route for {}", req.path())))
    }
}
