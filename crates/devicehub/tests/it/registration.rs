//! Factory registration, claim codes and their throttle (contract §5.1).

use std::{sync::Barrier, thread};

use reqwest::{Method, StatusCode, blocking::Response};
use serde_json::{Value, json};

use crate::{
    server::assert_problem,
    support::{
        Backend, Person, TestApp, TestDb, World,
        devices::{BLUEPRINT, authenticate, blueprint, device_call},
        invariants::assert_invariants,
        on_both_backends,
    },
};

on_both_backends!(
    registration_returns_generated_codes_once,
    registration_is_all_or_nothing,
    claims_of_registered_devices_need_their_code,
    wrong_codes_are_throttled_per_serial,
    concurrent_guesses_never_exceed_five,
    unregistered_serials_are_refused_when_registration_is_required,
    a_reset_device_is_claimed_again_with_its_printed_code,
);

fn register(app: &TestApp, who: &Person, devices: Value) -> Response {
    device_call(
        app,
        who,
        "personal",
        Method::POST,
        "/api/v1/devices/registrations",
        Some(&json!({ "devices": devices })),
    )
}

fn item(serial: &str, code: Option<&str>) -> Value {
    match code {
        Some(code) => {
            json!({"cpu_serial": serial, "hardware_blueprint_version": BLUEPRINT, "claim_code": code})
        }
        None => json!({"cpu_serial": serial, "hardware_blueprint_version": BLUEPRINT}),
    }
}

fn claim_with(app: &TestApp, who: &Person, serial: &str, code: Option<&str>) -> Response {
    device_call(
        app,
        who,
        "personal",
        Method::POST,
        "/api/v1/devices/claim",
        Some(&item(serial, code)),
    )
}

fn count(app: &TestApp, sql: &str) -> i64 {
    app.db.count(sql)
}

fn registration_returns_generated_codes_once(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let response = register(
        &app,
        &w.admin,
        json!([item("REG-1", None), item("REG-2", Some("PRINTED-CODE-2")), item("REG-3", None)]),
    );
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().unwrap();
    assert_eq!(body["registered"], 3);
    let devices = body["devices"].as_array().unwrap();
    let serials: Vec<&str> = devices.iter().map(|d| d["cpu_serial"].as_str().unwrap()).collect();
    assert_eq!(serials, ["REG-1", "REG-2", "REG-3"]);
    for generated in [&devices[0], &devices[2]] {
        let code = generated["claim_code"].as_str().unwrap();
        assert_eq!(code.len(), 26);
        assert!(
            code.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)),
            "{code}"
        );
    }
    assert_eq!(devices[1]["claim_code"], Value::Null, "a supplied code is not echoed");
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'DEVICE_REGISTERED'"),
        3
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM devices WHERE status = 'unclaimed' AND organization_id IS NULL AND credential_hash IS NULL"
        ),
        3
    );
    let stored = count(
        &app,
        &format!(
            "SELECT COUNT(*) AS n FROM devices WHERE claim_code_hash = '{}' OR claim_code_hash = 'PRINTED-CODE-2'",
            devices[0]["claim_code"].as_str().unwrap()
        ),
    );
    assert_eq!(stored, 0, "codes are stored only as hashes");
    // Only holders of device:register.
    assert_problem(
        register(&app, &w.member, json!([item("REG-9", None)])),
        403,
        "permission_denied",
    );
    assert_problem(
        register(&app, &w.a_admin, json!([item("REG-9", None)])),
        403,
        "permission_denied",
    );
    // A large batch fits the 1 MiB limit of this route (beyond the 64 KiB of the others).
    let many: Vec<Value> = (0..1000)
        .map(|i| item(&format!("BULK-{i:04}-{}", "x".repeat(40)), Some("PRINTED-CODE-0000")))
        .collect();
    assert!(json!({ "devices": many }).to_string().len() > 70 * 1024);
    assert_eq!(register(&app, &w.admin, json!(many)).status(), StatusCode::CREATED);
}

fn registration_is_all_or_nothing(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    assert_eq!(
        register(&app, &w.admin, json!([item("DUP-1", None)])).status(),
        StatusCode::CREATED
    );
    let devices = || count(&app, "SELECT COUNT(*) AS n FROM devices");

    let existing = register(&app, &w.admin, json!([item("NEW-1", None), item("DUP-1", None)]));
    let body = assert_problem(existing, 409, "conflict");
    assert_eq!(
        body["errors"],
        json!([{"index": 1, "code": "conflict", "detail": body["errors"][0]["detail"]}])
    );
    assert_eq!(devices(), 1, "nothing written");

    let invalid = register(
        &app,
        &w.admin,
        json!([
            item("OK-1", None),
            item("bad serial", None),
            item("OK-2", Some("short")),
            item("OK-1", None)
        ]),
    );
    let body = assert_problem(invalid, 422, "validation_error");
    let indexes: Vec<i64> =
        body["errors"].as_array().unwrap().iter().map(|e| e["index"].as_i64().unwrap()).collect();
    assert_eq!(indexes, [1, 2, 3]);
    assert_eq!(devices(), 1);

    let unknown = register(
        &app,
        &w.admin,
        json!([{"cpu_serial": "U-1", "hardware_blueprint_version": "nope"}]),
    );
    let body = assert_problem(unknown, 422, "unknown_blueprint");
    assert_eq!(body["errors"][0]["code"], "unknown_blueprint");

    let too_many: Vec<Value> =
        (0..1001).map(|i| item(&format!("MANY-{i}"), Some("PRINTED-CODE-0000"))).collect();
    assert_problem(register(&app, &w.admin, json!(too_many)), 422, "validation_error");
    assert_problem(register(&app, &w.admin, json!([])), 422, "validation_error");
    assert_problem(register(&app, &w.admin, json!("not a list")), 400, "validation_error");
    assert_eq!(devices(), 1);
}

fn claims_of_registered_devices_need_their_code(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    register(&app, &w.admin, json!([item("CODE-1", Some("LABEL-1234"))]));
    let failed =
        || count(&app, "SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'CLAIM_FAILED'");

    assert_problem(claim_with(&app, &w.member, "CODE-1", None), 403, "invalid_claim_code");
    assert_problem(
        claim_with(&app, &w.member, "CODE-1", Some("LABEL-9999")),
        403,
        "invalid_claim_code",
    );
    assert_problem(
        claim_with(&app, &w.member, "CODE-1", Some("label-1234")),
        403,
        "invalid_claim_code",
    );
    assert_eq!(failed(), 3, "each failure is audited although the claim is refused");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM user_devices"), 0);

    let claimed = claim_with(&app, &w.member, "CODE-1", Some("LABEL-1234"));
    assert_eq!(claimed.status(), StatusCode::CREATED);
    let body: Value = claimed.json().unwrap();
    assert_eq!(authenticate(&app, &body["credentials"]), 200);
    // Once claimed, others get 409 whatever code they bring.
    assert_problem(
        claim_with(&app, &w.b_admin, "CODE-1", Some("LABEL-1234")),
        409,
        "already_claimed",
    );
    assert_invariants(&app.db);
}

fn wrong_codes_are_throttled_per_serial(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    register(
        &app,
        &w.admin,
        json!([item("SLOW-1", Some("LABEL-SLOW")), item("SLOW-2", Some("LABEL-OTHER"))]),
    );
    for _ in 0..5 {
        assert_problem(
            claim_with(&app, &w.member, "SLOW-1", Some("WRONG-CODE")),
            403,
            "invalid_claim_code",
        );
    }
    let limited = claim_with(&app, &w.member, "SLOW-1", Some("LABEL-SLOW"));
    let retry: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert_problem(limited, 429, "rate_limited");
    // Other serials are not affected.
    assert_eq!(
        claim_with(&app, &w.member, "SLOW-2", Some("LABEL-OTHER")).status(),
        StatusCode::CREATED
    );
    // When the window has passed (the failures aged by 16 minutes), the right code works.
    app.db.execute(&match backend {
        Backend::Sqlite => {
            "UPDATE claim_failures SET occurred_at = datetime(occurred_at, '-16 minutes')"
                .to_owned()
        }
        Backend::Postgres => {
            "UPDATE claim_failures SET occurred_at = occurred_at - interval '16 minutes'".to_owned()
        }
    });
    assert_eq!(
        claim_with(&app, &w.member, "SLOW-1", Some("LABEL-SLOW")).status(),
        StatusCode::CREATED
    );
}

fn concurrent_guesses_never_exceed_five(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    register(&app, &w.admin, json!([item("GUESS-1", Some("LABEL-GUESS"))]));
    let guessers = 20;
    let barrier = Barrier::new(guessers);
    let statuses: Vec<u16> = thread::scope(|s| {
        let handles: Vec<_> = (0..guessers)
            .map(|i| {
                let (barrier, app, who) = (&barrier, &app, &w.member);
                s.spawn(move || {
                    barrier.wait();
                    claim_with(app, who, "GUESS-1", Some(&format!("GUESS-{i:04}")))
                        .status()
                        .as_u16()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let evaluated = statuses.iter().filter(|s| **s == 403).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((evaluated, limited), (5, guessers - 5), "{statuses:?}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'CLAIM_FAILED'"),
        5
    );
    assert_invariants(&app.db);
}

fn unregistered_serials_are_refused_when_registration_is_required(backend: Backend) {
    let app =
        TestApp::start_with(TestDb::fresh(backend), &[("DEVICEHUB_REQUIRE_REGISTRATION", "true")]);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    assert_problem(claim_with(&app, &w.member, "NEVER-SEEN", None), 404, "not_registered");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM devices"), 0);
    register(&app, &w.admin, json!([item("KNOWN-1", Some("LABEL-KNOWN"))]));
    assert_eq!(
        claim_with(&app, &w.member, "KNOWN-1", Some("LABEL-KNOWN")).status(),
        StatusCode::CREATED
    );
}

fn a_reset_device_is_claimed_again_with_its_printed_code(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let registered: Value =
        register(&app, &w.admin, json!([item("LABEL-DEV", None)])).json().unwrap();
    let code = registered["devices"][0]["claim_code"].as_str().unwrap().to_owned();
    let id = registered["devices"][0]["id"].as_i64().unwrap();
    assert_eq!(claim_with(&app, &w.member, "LABEL-DEV", Some(&code)).status(), StatusCode::CREATED);
    let leave = format!("/api/v1/devices/{id}/access/{}", w.member.id);
    assert_eq!(
        device_call(&app, &w.member, "personal", Method::DELETE, &leave, None).status(),
        204
    );

    assert_problem(claim_with(&app, &w.b_admin, "LABEL-DEV", None), 403, "invalid_claim_code");
    let again = claim_with(&app, &w.b_admin, "LABEL-DEV", Some(&code));
    assert_eq!(again.status(), StatusCode::CREATED, "the printed code stays valid after a reset");
    let body: Value = again.json().unwrap();
    assert_eq!(body["device"]["id"], id);
    assert_invariants(&app.db);
}
