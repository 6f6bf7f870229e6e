//! The OpenAPI 3.1 document: this base (title, security scheme, shared schemas) plus every
//! path collected from the `#[utoipa::path]` annotations of the registered routes.

use utoipa::OpenApi;

use super::problem::{ErrorCode, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "DeviceHub API",
        description = "Registers IoT devices, lets people claim them, decides who may see or change each device, and keeps an audit trail of every change.",
    ),
    components(schemas(Problem, ErrorCode))
)]
struct BaseDoc;

pub(crate) fn base() -> utoipa::openapi::OpenApi {
    BaseDoc::openapi()
}
