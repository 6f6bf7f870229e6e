//! Helpers for device tests: blueprints, claims.

use reqwest::{Method, StatusCode, blocking::Response};
use serde_json::{Value, json};

use super::{Person, TestApp};

/// The blueprint version every device test uses.
pub(crate) const BLUEPRINT: &str = "rpi4-b-1.2";

/// Creates the blueprint `version` as the admin; returns its id.
pub(crate) fn blueprint(app: &TestApp, admin_token: &str, version: &str) -> i64 {
    let response = app.call(
        Method::POST,
        "/api/v1/hardware-blueprints",
        Some(admin_token),
        Some(&json!({"name": "Raspberry Pi 4", "version": version})),
    );
    assert_eq!(response.status(), StatusCode::CREATED, "create blueprint {version}");
    response.json::<Value>().unwrap()["id"].as_i64().unwrap()
}

/// `POST /devices/claim` by `who` in `context`.
pub(crate) fn claim_request(app: &TestApp, who: &Person, context: &str, serial: &str) -> Response {
    app.request(Method::POST, "/api/v1/devices/claim")
        .bearer_auth(&who.token)
        .header("X-Active-Context", context)
        .json(&json!({"cpu_serial": serial, "hardware_blueprint_version": BLUEPRINT}))
        .send()
        .unwrap()
}

/// Claims `serial` (expecting 201); returns the device id and its credentials body.
pub(crate) fn claim(app: &TestApp, who: &Person, context: &str, serial: &str) -> (i64, Value) {
    let response = claim_request(app, who, context, serial);
    assert_eq!(response.status(), StatusCode::CREATED, "{} claims {serial} in {context}", who.name);
    let body: Value = response.json().unwrap();
    (body["device"]["id"].as_i64().unwrap(), body["credentials"].clone())
}

/// `method path` by `who` in `context`, with an optional JSON body.
pub(crate) fn device_call(
    app: &TestApp,
    who: &Person,
    context: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Response {
    let mut request =
        app.request(method, path).bearer_auth(&who.token).header("X-Active-Context", context);
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().unwrap()
}

/// `POST /devices/authenticate` with these credentials; returns the status.
pub(crate) fn authenticate(app: &TestApp, credentials: &Value) -> u16 {
    app.call(Method::POST, "/api/v1/devices/authenticate", None, Some(credentials))
        .status()
        .as_u16()
}
