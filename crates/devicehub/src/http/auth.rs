//! Who is calling, and in which context: the `Caller` extractor authenticates the bearer token
//! on every request (so revocation and deactivation apply at once); the `Context` extractor
//! reads `X-Active-Context` in one place.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};
use audit::providers::Actor;
use foundation::{ActiveContext, Db, DbConn, InvalidContext, UserId};
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

/// A request's bearer token, read from its header but not checked yet: the check needs the
/// database, and runs on whatever connection the request uses first.
// Its Debug leaves the token out.
#[derive(Clone)]
pub(crate) struct Bearer {
    token: String,
    request_id: Option<String>,
}

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bearer").field("request_id", &self.request_id).finish_non_exhaustive()
    }
}

impl Bearer {
    /// The `Authorization: Bearer …` token of `req`; 401 when there is none.
    pub(crate) fn of(req: &HttpRequest) -> Result<Bearer, ApiError> {
        let value = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let (scheme, token) =
            value.and_then(|v| v.split_once(' ')).ok_or_else(ApiError::unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::unauthorized());
        }
        Ok(Bearer { token: token.trim().to_owned(), request_id: request_id(req) })
    }

    /// Who the token belongs to (401 when it is unknown, revoked, expired or its user is
    /// deactivated), checked on `conn`.
    pub(crate) fn authenticate(&self, conn: &mut DbConn) -> Result<Caller, ApiError> {
        let auth = users::authenticate(conn, &self.token)?;
        Ok(Caller { user: auth.user_id, auth, request_id: self.request_id.clone() })
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let bearer = Bearer::of(req);
        let db = req.app_data::<web::Data<Db>>().cloned();
        Box::pin(async move {
            let bearer = bearer?;
            let db = db.ok_or_else(|| ApiError::internal(&"database handle missing"))?;
            db.read(move |conn| bearer.authenticate(conn)).await
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
        std::future::ready(active_context(req).map(Context).map_err(ApiError::from))
    }
}

/// The `X-Active-Context` of `req`: none is `personal`.
pub(crate) fn active_context(req: &HttpRequest) -> Result<ActiveContext, InvalidContext> {
    ActiveContext::parse(req.headers().get_all("x-active-context").map(|v| v.as_bytes()))
}
