//! The OpenAPI 3.1 document: this base (title, security scheme, shared schemas) plus every
//! path collected from the `#[utoipa::path]` annotations of the registered routes.

use utoipa::{
    Modify, OpenApi,
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
};

use super::problem::{ErrorCode, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "DeviceHub API",
        description = "Registers IoT devices, lets people claim them, decides who may see or change each device, and keeps an audit trail of every change.",
    ),
    components(schemas(Problem, ErrorCode)),
    modifiers(&BearerAuth)
)]
struct BaseDoc;

/// Declares the `bearer` security scheme the paths name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

pub(crate) fn base() -> utoipa::openapi::OpenApi {
    BaseDoc::openapi()
}
