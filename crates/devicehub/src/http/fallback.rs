//! The answer for requests no route takes: 405 with an `Allow` header when the path exists
//! under other methods, else 404. The methods of each path come from the OpenAPI document the
//! routes generate, so the two cannot drift apart.

use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::openapi::OpenApi;

use super::problem::ApiError;

/// Every documented path template with its methods.
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteTable(Vec<(Vec<String>, Vec<&'static str>)>);

impl RouteTable {
    pub(crate) fn from_openapi(api: &OpenApi) -> Self {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ];
                let allowed = methods.iter().filter(|(_, on)| *on).map(|(m, _)| *m).collect();
                (path.split('/').map(str::to_owned).collect(), allowed)
            })
            .collect();
        RouteTable(routes)
    }

    /// The methods of the most specific templates `path` matches: `{…}` segments match any
    /// segment, and a template with more literal segments wins (`/devices/claim` over
    /// `/devices/{id}`), as it does in routing.
    fn allowed(&self, path: &str) -> Vec<&'static str> {
        let segments: Vec<&str> = path.split('/').collect();
        let matching: Vec<(usize, &Vec<&'static str>)> = self
            .0
            .iter()
            .filter(|(template, _)| {
                template.len() == segments.len()
                    && template
                        .iter()
                        .zip(&segments)
                        .all(|(t, s)| t == s || is_variable(t) && !s.is_empty())
            })
            .map(|(template, methods)| {
                (template.iter().filter(|t| !is_variable(t)).count(), methods)
            })
            .collect();
        let best = matching.iter().map(|(literals, _)| *literals).max().unwrap_or(0);
        let mut allowed: Vec<&'static str> = matching
            .iter()
            .filter(|(literals, _)| *literals == best)
            .flat_map(|(_, methods)| methods.iter().copied())
            .collect();
        allowed.sort_unstable();
        allowed.dedup();
        allowed
    }
}

fn is_variable(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

pub(crate) async fn not_found_or_method_not_allowed(
    req: HttpRequest,
    routes: web::Data<RouteTable>,
) -> Result<HttpResponse, ApiError> {
    let allowed = routes.allowed(req.path());
    // A template may match where the route's own pattern does not (`/devices/abc` against
    // `/devices/{id:[0-9]+}`): when the method is allowed, the path is what is wrong.
    if !allowed.is_empty() && !allowed.contains(&req.method().as_str()) {
        return Err(ApiError::method_not_allowed(&allowed.join(", ")));
    }
    if !allowed.is_empty() {
        return Err(ApiError::not_found(format!("no route for {}", req.path())));
    }
    if req.resource_map().has_resource(req.path()) {
        // Undocumented routes (the docs pages, the OpenAPI document) answer GET only.
        return Err(ApiError::method_not_allowed("GET"));
    }
    Err(ApiError::not_found(format!("no route for {}", req.path())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_segment_by_segment() {
        let table = RouteTable(vec![
            (vec!["".into(), "devices".into(), "{id}".into()], vec!["GET", "PATCH"]),
            (vec!["".into(), "devices".into(), "claim".into()], vec!["POST"]),
        ]);
        assert_eq!(table.allowed("/devices/7"), ["GET", "PATCH"]);
        assert_eq!(table.allowed("/devices/claim"), ["POST"]);
        assert!(table.allowed("/devices/7/x").is_empty());
        assert!(table.allowed("/devices/").is_empty());
    }
}
