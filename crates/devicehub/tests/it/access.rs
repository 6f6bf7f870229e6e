//! Every endpoint of the identity, organization and audit areas, called by an allowed caller
//! and by every kind of caller that must be refused: no token, a wrong token, a deactivated
//! user, a plain member, another organization's admin (and the other roles that lack the
//! permission).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    Backend, Person, TestApp, World,
    matrix::{Cell, check_table},
    on_both_backends,
};

const WRONG_TOKEN: &str = "dh_0000000000000000000000000000000000000000000000000000000000000000";

/// One endpoint: who must get 403, and who is allowed (with the expected status).
struct Case<'w> {
    method: Method,
    path: String,
    body: Option<Value>,
    context: Option<String>,
    refused: Vec<&'w Person>,
    allowed: &'w Person,
    allowed_status: u16,
}

impl<'w> Case<'w> {
    fn new(method: Method, path: impl Into<String>, allowed: &'w Person, status: u16) -> Self {
        Case {
            method,
            path: path.into(),
            body: None,
            context: None,
            refused: Vec::new(),
            allowed,
            allowed_status: status,
        }
    }

    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn context(mut self, context: impl ToString) -> Self {
        self.context = Some(context.to_string());
        self
    }

    fn refusing(mut self, refused: &[&'w Person]) -> Self {
        self.refused = refused.to_vec();
        self
    }

    fn send(&self, app: &TestApp, token: Option<&str>) -> reqwest::blocking::Response {
        let mut request = app.request(self.method.clone(), &self.path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = &self.body {
            request = request.json(body);
        }
        if let Some(context) = &self.context {
            request = request.header("X-Active-Context", context);
        }
        request.send().unwrap()
    }

    /// Walks the case: no token, a wrong token and a deactivated user's token get 401, the
    /// refused callers 403, the allowed one its status. Returns the walked cells.
    fn check(
        &self,
        app: &TestApp,
        deactivated: &Person,
        templates: &[String],
        contexts: &[(String, &str)],
    ) -> Vec<Cell> {
        let what = format!("{} {} (context {:?})", self.method, self.path, self.context);
        let operation = match template_of(templates, &self.path) {
            Some(template) => format!("{} {template}", self.method),
            None => panic!("{what} is no documented operation"),
        };
        let context = match &self.context {
            None => "(none)",
            Some(c) => contexts.iter().find(|(v, _)| v == c).map_or("?", |(_, label)| label),
        };
        let mut cells = Vec::new();
        for (token, caller) in [
            (None, "anonymous"),
            (Some(WRONG_TOKEN), "wrong_token"),
            (Some(deactivated.token.as_str()), "deactivated"),
        ] {
            let response = self.send(app, token);
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what} as {caller}");
            let cell = Cell::of(&operation, caller, context, response);
            assert_eq!(cell.code, "unauthorized", "{what} as {caller}");
            cells.push(cell);
        }
        for person in &self.refused {
            let response = self.send(app, Some(&person.token));
            assert_eq!(response.status().as_u16(), 403, "{what} as {}", person.name);
            let cell = Cell::of(&operation, &person.name, context, response);
            assert_eq!(cell.code, "permission_denied", "{what} as {}", person.name);
            cells.push(cell);
        }
        let response = self.send(app, Some(&self.allowed.token));
        assert_eq!(
            response.status().as_u16(),
            self.allowed_status,
            "{what} as {}",
            self.allowed.name
        );
        cells.push(Cell::of(&operation, &self.allowed.name, context, response));
        cells
    }
}

on_both_backends!(every_identity_endpoint_refuses_whom_it_must);

/// Operations anyone may call (no token), tested in their own modules.
const PUBLIC: [(&str, &str); 7] = [
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/devices/authenticate"),
    ("GET", "/openapi.json"),
];

/// The OpenAPI path template a concrete path is an instance of.
fn template_of<'t>(templates: &'t [String], path: &str) -> Option<&'t String> {
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    templates.iter().find(|t| {
        let parts: Vec<&str> = t.split('/').collect();
        parts.len() == segments.len()
            && parts.iter().zip(&segments).all(|(p, s)| p == s || p.starts_with('{'))
    })
}

/// Every operation the server documents must be walked by an authorization test (here or in
/// `device_matrix.rs`) or be public: a new endpoint without rows fails this.
fn assert_every_operation_is_covered(app: &TestApp, cases: &[Case<'_>]) {
    let doc: Value = app.get("/openapi.json").send().unwrap().json().unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let templates: Vec<String> = paths.keys().cloned().collect();
    let mut covered: std::collections::BTreeSet<(String, String)> = cases
        .iter()
        .filter_map(|c| template_of(&templates, &c.path).map(|t| (c.method.to_string(), t.clone())))
        .collect();
    covered
        .extend(crate::device_matrix::COVERED.iter().map(|(m, p)| (m.to_string(), p.to_string())));
    covered.extend(PUBLIC.iter().map(|(m, p)| (m.to_string(), p.to_string())));
    let mut missing = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            if !covered.contains(&(method.clone(), path.clone())) {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(missing.is_empty(), "operations no authorization test walks: {missing:?}");
}

fn every_identity_endpoint_refuses_whom_it_must(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    let victim = app.user(&w.admin.token, "victim");
    let sleeper = app.user(&w.admin.token, "sleeper");
    let off = json!({"is_active": false});
    let path = format!("/api/v1/users/{}", sleeper.id);
    assert_eq!(app.call(Method::PATCH, &path, Some(&w.admin.token), Some(&off)).status(), 200);
    let (a, b) = (w.org_a, w.org_b);
    let not_user_managers = [&w.member, &w.a_admin, &w.b_admin, &w.auditor];
    let not_org_a_managers = [&w.member, &w.b_admin, &w.a_operator, &w.a_viewer, &w.auditor];
    let scratch_token = app
        .call(Method::POST, "/api/v1/me/tokens", Some(&w.member.token), Some(&json!({"name": "x"})))
        .json::<Value>()
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    let cases = [
        Case::new(Method::GET, "/api/v1/me", &w.member, 200),
        Case::new(Method::GET, "/api/v1/me/tokens", &w.member, 200),
        Case::new(Method::POST, "/api/v1/me/tokens", &w.member, 201).body(json!({"name": "ci"})),
        Case::new(Method::DELETE, format!("/api/v1/me/tokens/{scratch_token}"), &w.member, 204),
        Case::new(Method::POST, "/api/v1/users", &w.admin, 201)
            .body(json!({"username": "newbie", "password": "newbie-password"}))
            .refusing(&not_user_managers),
        Case::new(Method::GET, "/api/v1/users", &w.admin, 200).refusing(&not_user_managers),
        Case::new(Method::GET, format!("/api/v1/users/{}", victim.id), &w.admin, 200)
            .refusing(&not_user_managers),
        Case::new(Method::PATCH, format!("/api/v1/users/{}", victim.id), &w.admin, 200)
            .body(json!({"email": "victim@example.org"}))
            .refusing(&not_user_managers),
        Case::new(Method::PUT, format!("/api/v1/users/{}/roles/auditor", victim.id), &w.admin, 204)
            .refusing(&not_user_managers),
        Case::new(
            Method::DELETE,
            format!("/api/v1/users/{}/roles/auditor", victim.id),
            &w.admin,
            204,
        )
        .refusing(&not_user_managers),
        Case::new(Method::POST, "/api/v1/organizations", &w.member, 201)
            .body(json!({"name": "Org C"})),
        Case::new(Method::GET, "/api/v1/organizations", &w.member, 200),
        Case::new(Method::GET, format!("/api/v1/organizations/{a}"), &w.a_viewer, 200)
            .refusing(&[&w.member, &w.b_admin, &w.auditor]),
        Case::new(Method::GET, format!("/api/v1/organizations/{a}/members"), &w.a_admin, 200)
            .refusing(&not_org_a_managers),
        Case::new(
            Method::PUT,
            format!("/api/v1/organizations/{a}/members/{}", victim.id),
            &w.a_admin,
            204,
        )
        .body(json!({"role": "org_viewer"}))
        .refusing(&not_org_a_managers),
        Case::new(
            Method::DELETE,
            format!("/api/v1/organizations/{a}/members/{}", victim.id),
            &w.a_admin,
            204,
        )
        .refusing(&not_org_a_managers),
        Case::new(Method::GET, format!("/api/v1/organizations/{b}/members"), &w.admin, 200)
            .refusing(&[&w.a_admin, &w.member]),
        Case::new(Method::GET, "/api/v1/audit-logs", &w.member, 200),
        Case::new(Method::GET, "/api/v1/audit-logs", &w.a_admin, 200).context(a).refusing(&[
            &w.member,
            &w.b_admin,
            &w.a_operator,
            &w.a_viewer,
            &w.auditor,
        ]),
        Case::new(Method::GET, "/api/v1/audit-logs", &w.auditor, 200)
            .context("global")
            .refusing(&[&w.member, &w.a_admin, &w.b_admin]),
        Case::new(Method::GET, "/api/v1/audit-logs", &w.admin, 200).context(a),
        Case::new(Method::DELETE, format!("/api/v1/users/{}", victim.id), &w.admin, 204)
            .refusing(&not_user_managers),
        Case::new(Method::POST, "/api/v1/hardware-blueprints", &w.admin, 201)
            .body(json!({"name": "Board", "version": "board-2"}))
            .refusing(&[&w.member, &w.a_admin, &w.auditor]),
        Case::new(Method::GET, "/api/v1/hardware-blueprints", &w.member, 200),
        Case::new(Method::GET, "/api/v1/hardware-blueprints/1", &w.member, 200),
        Case::new(Method::POST, "/api/v1/devices/registrations", &w.admin, 201)
            .body(json!({"devices": [{"cpu_serial": "ACC-1", "hardware_blueprint_version": "board-2"}]}))
            .refusing(&[&w.member, &w.a_admin, &w.b_admin, &w.auditor]),
        Case::new(Method::POST, "/api/v1/devices/claim", &w.a_operator, 201)
            .body(json!({"cpu_serial": "ACC-2", "hardware_blueprint_version": "board-2"}))
            .context(a)
            .refusing(&[&w.member, &w.b_admin, &w.a_viewer, &w.auditor]),
        Case::new(Method::POST, "/api/v1/auth/logout", &w.member, 204),
    ];
    let doc: Value = app.get("/openapi.json").send().unwrap().json().unwrap();
    let templates: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let contexts =
        [(a.to_string(), "org_a"), (b.to_string(), "org_b"), ("global".to_owned(), "global")];
    let cells: Vec<Cell> =
        cases.iter().flat_map(|case| case.check(&app, &sleeper, &templates, &contexts)).collect();
    check_table("identity", backend, &cells);
    assert_every_operation_is_covered(&app, &cases);
}
