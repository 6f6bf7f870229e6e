//! HTTP plumbing shared by every route: problem+json errors, request ids and metrics, body
//! limits, the 404/405 fallback and the OpenAPI document.

pub(crate) mod auth;
pub(crate) mod device_call;
pub(crate) mod fallback;
pub(crate) mod hashing;
pub(crate) mod json;
pub(crate) mod limits;
pub(crate) mod metrics;
pub(crate) mod observe;
pub(crate) mod openapi;
pub(crate) mod problem;
