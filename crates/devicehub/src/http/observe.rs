//! The outermost middleware: gives each request an id (the client's `X-Request-Id` when it is
//! sane, else a new UUID), opens the tracing span that every log line of the request carries,
//! returns the id in the response, counts the request and records its latency.

use std::{fmt, time::Instant};

use actix_web::{
    Error, HttpMessage,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
};
use tracing::Instrument;

use super::metrics::{REQUEST_DURATION, REQUESTS_TOTAL};

pub(crate) const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
const MAX_REQUEST_ID_LEN: usize = 128;

/// The id of the request being handled; in the request's extensions for handlers that record
/// it (audit rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestId(String);

impl RequestId {
    /// Takes the client's id when it is 1–128 characters of `[A-Za-z0-9._:-]` (so it cannot
    /// forge log lines), else makes a new one.
    fn from_request(req: &ServiceRequest) -> Self {
        let sent = req.headers().get(&REQUEST_ID_HEADER).and_then(|v| v.to_str().ok());
        match sent {
            Some(id) if is_sane(id) => RequestId(id.to_owned()),
            _ => RequestId(uuid::Uuid::new_v4().to_string()),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_sane(id: &str) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

pub(crate) async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let request_id = RequestId::from_request(&req);
    req.extensions_mut().insert(request_id.clone());
    let method = req.method().to_string();
    let span = tracing::info_span!("request", request_id = %request_id, method = %method, path = %req.path());
    let mut response = next.call(req).instrument(span.clone()).await?;

    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    metrics::counter!(REQUESTS_TOTAL, "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!(REQUEST_DURATION, "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    span.in_scope(|| {
        tracing::info!(status, latency_ms = elapsed.as_secs_f64() * 1000.0, "request completed");
    });
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::is_sane;

    #[test]
    fn request_ids_that_could_forge_log_lines_are_replaced() {
        assert!(is_sane("abc-123_x.y:z"));
        assert!(is_sane(&"a".repeat(128)));
        for bad in ["", "a b", "x\ny", "é", "{\"json\":1}"] {
            assert!(!is_sane(bad), "{bad:?}");
        }
        assert!(!is_sane(&"a".repeat(129)));
    }
}
