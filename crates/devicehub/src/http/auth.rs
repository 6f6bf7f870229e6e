//! Who is calling, and in which context: the `Caller` extractor authenticates the bearer token
//! on every request (so revocation and deactivation apply at once); the `Context` extractor
//! reads `X-Active-Context` in one place.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};
use audit::providers::Actor;
use foundation::{ActiveContext, Db, UserId};
use user_authorization::providers as users;

use super::{observe::RequestId, problem::ApiError};

/// The authenticated user of this request.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) user: UserId,
    pub(crate) auth: users::AuthUser,
    pub(crate) request_id: Option<String>,
}

impl Caller {
    /// The actor recorded in audit rows written by this request.
    pub(crate) fn actor(&self) -> Actor {
        Actor::user(self.user, self.request_id.clone())
    }
}

/// The request id of `req`, for audit rows.
pub(crate) fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(|id| id.as_str().to_owned())
}

fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let db = req.app_data::<web::Data<Db>>().cloned();
        let request_id = request_id(req);
        Box::pin(async move {
            let token = token.ok_or_else(ApiError::unauthorized)?;
            let db = db.ok_or_else(|| ApiError::internal(&"database handle missing"))?;
            let auth = db.read(move |conn| users::authenticate(conn, &token)).await?;
            Ok(Caller { user: auth.user_id, auth, request_id })
        })
    }
}

/// The active context of a device or audit request (`X-Active-Context`, contract §4).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context(pub(crate) ActiveContext);

impl FromRequest for Context {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let values = req.headers().get_all("x-active-context").map(|v| v.as_bytes());
        std::future::ready(ActiveContext::parse(values).map(Context).map_err(ApiError::from))
    }
}
