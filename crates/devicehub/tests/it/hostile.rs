//! Hostile input: bytes and sizes no client should send, and fields no client may set. Each is
//! refused (or ignored) with the right problem, never a 5xx, and the database is unchanged.

use std::panic::{AssertUnwindSafe, catch_unwind};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{
    server::assert_problem,
    support::{
        Backend, TestApp, World,
        devices::{BLUEPRINT, blueprint, claim, device_call},
        invariants::assert_invariants,
        on_both_backends,
    },
};

on_both_backends!(
    malformed_bytes_and_huge_values_are_400,
    oversized_and_deeply_nested_bodies_are_refused,
    privileged_fields_are_refused_and_change_nothing,
    invariant_queries_catch_a_broken_database,
);

/// Rows in the tables a hostile request could touch.
fn fingerprint(app: &TestApp) -> Vec<i64> {
    [
        "users",
        "devices",
        "user_devices",
        "user_roles",
        "organizations",
        "api_tokens",
        "hardware_blueprints",
    ]
    .iter()
    .map(|table| app.db.count(&format!("SELECT COUNT(*) AS n FROM {table}")))
    .collect()
}

fn malformed_bytes_and_huge_values_are_400(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let before = fingerprint(&app);
    let raw = |method: Method, path: &str, body: Vec<u8>| {
        app.request(method, path)
            .bearer_auth(&w.admin.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap()
    };
    // Invalid UTF-8 and NUL bytes.
    assert_problem(
        raw(Method::POST, "/api/v1/organizations", b"{\"name\": \"\xff\xfe\"}".to_vec()),
        400,
        "validation_error",
    );
    let nul = raw(Method::POST, "/api/v1/organizations", br#"{"name": "a\u0000b"}"#.to_vec());
    assert_problem(nul, 422, "validation_error");
    let nul_user = raw(
        Method::POST,
        "/api/v1/users",
        br#"{"username": "ad\u0000min", "password": "long-enough"}"#.to_vec(),
    );
    assert_problem(nul_user, 422, "validation_error");
    let nul_serial = device_call(
        &app,
        &w.member,
        "personal",
        Method::POST,
        "/api/v1/devices/claim",
        Some(&json!({"cpu_serial": "CPU\u{0}1", "hardware_blueprint_version": BLUEPRINT})),
    );
    assert_problem(nul_serial, 422, "validation_error");
    assert_problem(
        app.call(Method::GET, "/api/v1/users/%00", Some(&w.admin.token), None),
        400,
        "validation_error",
    );

    // Numbers out of range, in paths, headers and bodies.
    for path in [
        "/api/v1/devices/99999999999999999999",
        "/api/v1/users/-99999999999999999999",
        "/api/v1/organizations/1e9",
    ] {
        assert_problem(
            app.call(Method::GET, path, Some(&w.admin.token), None),
            400,
            "validation_error",
        );
    }
    for context in ["99999999999999999999", "9223372036854775808", "1e3", "0x10"] {
        let response = device_call(&app, &w.admin, context, Method::GET, "/api/v1/devices", None);
        assert_problem(response, 400, "invalid_context");
    }
    let huge = raw(
        Method::POST,
        "/api/v1/me/tokens",
        br#"{"name": "x", "expires_in_days": 1e400}"#.to_vec(),
    );
    assert_problem(huge, 400, "validation_error");
    let overflow = raw(
        Method::POST,
        "/api/v1/me/tokens",
        br#"{"name": "x", "expires_in_days": 9223372036854775808}"#.to_vec(),
    );
    assert_problem(overflow, 400, "validation_error");
    let limit = app.call(
        Method::GET,
        "/api/v1/users?limit=99999999999999999999",
        Some(&w.admin.token),
        None,
    );
    assert_problem(limit, 400, "validation_error");
    assert_eq!(fingerprint(&app), before, "nothing was written");
}

fn oversized_and_deeply_nested_bodies_are_refused(backend: Backend) {
    let app = TestApp::start(backend);
    let admin = app.admin_token();
    let before = fingerprint(&app);
    let ten_mb = vec![b' '; 10 * 1024 * 1024];
    let declared = app
        .request(Method::POST, "/api/v1/organizations")
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(ten_mb.clone())
        .send();
    assert_problem(declared.expect("an answer to the declared body"), 413, "payload_too_large");
    // A body without a length (chunked) is cut off at the limit as it streams.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..160).map(|_| Ok(vec![b' '; 64 * 1024])).collect();
    let streamed = app
        .request(Method::POST, "/api/v1/organizations")
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(reqwest::blocking::Body::new(ChunkedReader::new(chunks)))
        .send();
    assert_problem(streamed.expect("an answer to the streamed body"), 413, "payload_too_large");
    // 20,000 levels of nesting: far past the parser's recursion limit.
    let deep = format!("{{\"name\": {}1{}}}", "[".repeat(20_000), "]".repeat(20_000));
    let nested = app
        .request(Method::POST, "/api/v1/organizations")
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .unwrap();
    assert_problem(nested, 400, "validation_error");
    assert_eq!(app.get("/healthz").send().unwrap().status(), StatusCode::OK, "still serving");
    assert_eq!(fingerprint(&app), before);
}

/// A `Read` over chunks, so reqwest sends the body without a length.
struct ChunkedReader {
    chunks: std::vec::IntoIter<Result<Vec<u8>, std::io::Error>>,
    current: std::io::Cursor<Vec<u8>>,
}

impl ChunkedReader {
    fn new(chunks: Vec<Result<Vec<u8>, std::io::Error>>) -> Self {
        ChunkedReader { chunks: chunks.into_iter(), current: std::io::Cursor::new(Vec::new()) }
    }
}

impl std::io::Read for ChunkedReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.current.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            match self.chunks.next() {
                Some(chunk) => self.current = std::io::Cursor::new(chunk?),
                None => return Ok(0),
            }
        }
    }
}

fn privileged_fields_are_refused_and_change_nothing(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let (device, _) = claim(&app, &w.member, "personal", "PRIV-1");
    let before = fingerprint(&app);
    let attempts = [
        (
            &w.member,
            Method::POST,
            "/api/v1/devices/claim".to_owned(),
            json!({"cpu_serial": "PRIV-2", "hardware_blueprint_version": BLUEPRINT, "organization_id": w.org_a}),
        ),
        (
            &w.member,
            Method::POST,
            "/api/v1/devices/claim".to_owned(),
            json!({"cpu_serial": "PRIV-2", "hardware_blueprint_version": BLUEPRINT, "status": "active", "id": 1}),
        ),
        (
            &w.member,
            Method::PATCH,
            format!("/api/v1/devices/{device}"),
            json!({"organization_id": w.org_a}),
        ),
        (
            &w.member,
            Method::PATCH,
            format!("/api/v1/devices/{device}"),
            json!({"status": "unclaimed"}),
        ),
        (
            &w.member,
            Method::PATCH,
            format!("/api/v1/devices/{device}"),
            json!({"id": 999, "name": "x"}),
        ),
        (
            &w.member,
            Method::PUT,
            format!("/api/v1/devices/{device}/access/{}", w.b_admin.id),
            json!({"role": "viewer", "organization_id": 1}),
        ),
        (
            &w.member,
            Method::POST,
            "/api/v1/organizations".to_owned(),
            json!({"name": "Evil", "role": "admin"}),
        ),
        (
            &w.member,
            Method::POST,
            "/api/v1/me/tokens".to_owned(),
            json!({"name": "x", "user_id": w.admin.id}),
        ),
        (
            &w.admin,
            Method::PATCH,
            format!("/api/v1/users/{}", w.member.id),
            json!({"role": "admin"}),
        ),
        (
            &w.admin,
            Method::POST,
            "/api/v1/users".to_owned(),
            json!({"username": "sneaky", "password": "long-enough", "is_active": true, "id": 1}),
        ),
        (
            &w.a_admin,
            Method::PUT,
            format!("/api/v1/organizations/{}/members/{}", w.org_a, w.member.id),
            json!({"role": "org_viewer", "organization_id": w.org_b}),
        ),
    ];
    for (who, method, path, body) in attempts {
        let response = device_call(&app, who, "personal", method.clone(), &path, Some(&body));
        assert_problem(response, 400, "validation_error");
    }
    assert_eq!(fingerprint(&app), before, "no privileged field changed anything");
    let me: serde_json::Value =
        app.call(Method::GET, "/api/v1/me", Some(&w.member.token), None).json().unwrap();
    assert_eq!(me["global_roles"], json!(["member"]));
}

fn invariant_queries_catch_a_broken_database(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let (device, _) = claim(&app, &w.member, "personal", "BROKEN-1");
    assert_invariants(&app.db);
    // Break one rule behind the service's back: the check must notice.
    app.db.execute(&format!("DELETE FROM user_devices WHERE device_id = {device}"));
    let caught = catch_unwind(AssertUnwindSafe(|| assert_invariants(&app.db)));
    assert!(caught.is_err(), "an active device without an owner went unnoticed");
}
