//! The server skeleton: health, readiness, metrics, OpenAPI, docs, error shapes, request ids,
//! graceful shutdown.

use std::{
    io::{Read, Write},
    net::TcpStream,
    thread,
    time::{Duration, Instant},
};

use reqwest::{StatusCode, blocking::Response};
use serde_json::Value;

use crate::support::{Backend, TestApp, on_both_backends, proxy::app_behind_proxy};

/// Asserts a problem+json answer with `status` and `code`; returns the body.
pub(crate) fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().expect("problem body is JSON");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status, "{body}");
    for field in ["type", "title", "detail"] {
        assert!(body[field].is_string(), "{field} missing in {body}");
    }
    body
}

on_both_backends!(
    healthz_and_readyz_answer,
    malformed_json_wrong_types_and_unknown_fields_are_400,
    sigterm_drains_in_flight_requests_and_exits_zero,
    sigint_drains_in_flight_requests_and_exits_zero,
    unknown_route_is_404_problem,
    wrong_method_is_405_problem,
    oversized_body_is_413_problem,
    request_id_is_echoed_or_generated_and_logged,
    metrics_count_requests_with_latency_histograms,
    openapi_document_lists_the_routes,
    docs_page_is_served_offline,
);

fn malformed_json_wrong_types_and_unknown_fields_are_400(backend: Backend) {
    let app = TestApp::start(backend);
    let login = |body: &str| {
        app.post("/api/v1/auth/login")
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .unwrap()
    };
    for body in [
        r#"{"username": "admin", "password": "#,
        "not json at all",
        "",
        r#"{"username": "admin", "password": 12345678}"#,
        r#"{"username": "admin"}"#,
        r#"{"username": "admin", "password": "x", "is_admin": true}"#,
        r#"[1, 2, 3]"#,
    ] {
        assert_problem(login(body), 400, "validation_error");
    }
    let wrong_type = app
        .post("/api/v1/auth/login")
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .unwrap();
    assert_problem(wrong_type, 400, "validation_error");
}

fn healthz_and_readyz_answer(backend: Backend) {
    let app = TestApp::start(backend);
    let health = app.get("/healthz").send().unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.json::<Value>().unwrap()["status"], "ok");
    let ready = app.get("/readyz").send().unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.json::<Value>().unwrap()["status"], "ready");
}

fn unknown_route_is_404_problem(backend: Backend) {
    let app = TestApp::start(backend);
    assert_problem(app.get("/api/v1/no-such-thing").send().unwrap(), 404, "not_found");
    assert_problem(app.get("/").send().unwrap(), 404, "not_found");
}

fn wrong_method_is_405_problem(backend: Backend) {
    let app = TestApp::start(backend);
    let post = app.post("/healthz").send().unwrap();
    assert_eq!(post.headers()["allow"], "GET");
    assert_problem(post, 405, "method_not_allowed");
    let delete = app.client.delete(app.url("/metrics")).send().unwrap();
    assert_problem(delete, 405, "method_not_allowed");
    let put = app.client.put(app.url("/api/v1/users/7")).send().unwrap();
    assert_eq!(put.headers()["allow"], "DELETE, GET, PATCH");
    assert_problem(put, 405, "method_not_allowed");
    let trace =
        app.client.request(reqwest::Method::TRACE, app.url("/api/v1/auth/login")).send().unwrap();
    assert_eq!(trace.headers()["allow"], "POST");
    assert_problem(trace, 405, "method_not_allowed");
}

fn oversized_body_is_413_problem(backend: Backend) {
    let app = TestApp::start(backend);
    let body = format!("{{\"username\":\"{}\",\"password\":\"x\"}}", "a".repeat(70 * 1024));
    let response = app
        .post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap();
    assert_problem(response, 413, "payload_too_large");
}

fn request_id_is_echoed_or_generated_and_logged(backend: Backend) {
    let app = TestApp::start(backend);
    let sent = app.get("/healthz").header("x-request-id", "trace-me-42").send().unwrap();
    assert_eq!(sent.headers()["x-request-id"], "trace-me-42");

    let generated = app.get("/nowhere").send().unwrap();
    let id = generated.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");

    let forged = app.get("/healthz").header("x-request-id", "bad id\"}").send().unwrap();
    assert_ne!(forged.headers()["x-request-id"], "bad id\"}");

    let logs = app.wait_for_line("trace-me-42");
    let line: Value = serde_json::from_str(&logs).expect("JSON log line");
    assert_eq!(line["span"]["request_id"], "trace-me-42");
    assert_eq!(line["fields"]["status"], 200);
    app.wait_for_line(&id);
}

fn metrics_count_requests_with_latency_histograms(backend: Backend) {
    let app = TestApp::start(backend);
    for _ in 0..3 {
        app.get("/healthz").send().unwrap();
    }
    app.get("/missing").send().unwrap();
    let text = app.get("/metrics").send().unwrap().text().unwrap();
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"} 3"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404"} 1"#), "{text}");
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"), "{text}");
    assert!(
        text.contains(r#"http_request_duration_seconds_count{method="GET",route="/healthz"} 3"#),
        "{text}"
    );
}

fn openapi_document_lists_the_routes(backend: Backend) {
    let app = TestApp::start(backend);
    let doc: Value = app.get("/openapi.json").send().unwrap().json().unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} missing from {}", doc["paths"]);
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

fn docs_page_is_served_offline(backend: Backend) {
    let app = TestApp::start(backend);
    let page = app.get("/docs/").send().unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // Every script and stylesheet the page loads comes from this server, not a CDN.
    assert!(!html.contains("http://") && !html.contains("https://"), "{html}");
    for asset in
        ["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/docs/swagger-initializer.js"]
    {
        let response = app.get(asset).send().unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
    }
    let init = app.get("/docs/swagger-initializer.js").send().unwrap().text().unwrap();
    assert!(init.contains("/openapi.json"), "{init}");
    let redirect = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/docs"))
        .send()
        .unwrap();
    assert!(redirect.status().is_redirection());
    assert_eq!(redirect.headers()["location"], "/docs/");
}

fn sigterm_drains_in_flight_requests_and_exits_zero(backend: Backend) {
    drains_on(backend, "TERM");
}

fn sigint_drains_in_flight_requests_and_exits_zero(backend: Backend) {
    drains_on(backend, "INT");
}

fn drains_on(backend: Backend, signal: &str) {
    let mut app = TestApp::start(backend);
    // A login whose body is only half uploaded is in flight when the signal arrives.
    let addr = app.base.trim_start_matches("http://").to_owned();
    let body =
        format!(r#"{{"username":"admin","password":"{}"}}"#, crate::support::app::ADMIN_PASSWORD);
    let (head, tail) = body.split_at(10);
    let mut stream = TcpStream::connect(&addr).unwrap();
    let request = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    thread::sleep(Duration::from_millis(200));
    app.signal(signal);
    thread::sleep(Duration::from_millis(300));
    assert!(app.is_running(), "the server quit with a request in flight");
    assert!(refused_after_shutdown(&addr), "a new request was served after SIGTERM");

    stream.write_all(tail.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("access_token"), "{answer}");

    let status = app.wait_exit(Duration::from_secs(10)).expect("server exits after draining");
    assert!(status.success(), "{status:?}");
}

/// After shutdown begins, a new connection may still be accepted by the kernel backlog but
/// is never answered.
fn refused_after_shutdown(addr: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else { return true };
    stream.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let mut buf = [0u8; 16];
    !matches!(stream.read(&mut buf), Ok(n) if n > 0)
}

#[test]
fn readyz_follows_postgres_reachability_without_restart() {
    let (proxy, app) = app_behind_proxy(&[]);
    assert_eq!(app.get("/readyz").send().unwrap().status(), StatusCode::OK);

    proxy.cut();
    let down = app.get("/readyz").send().unwrap();
    assert_problem(down, 503, "unavailable");

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = app.get("/readyz").send().unwrap().status();
        if status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "readyz still {status} after PostgreSQL came back");
        thread::sleep(Duration::from_millis(100));
    }
}
