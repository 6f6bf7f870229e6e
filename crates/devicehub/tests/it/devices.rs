//! Devices over HTTP: blueprints, the claim, authentication, links, transfer, rotation and the
//! reset when the last owner leaves.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    server::assert_problem,
    support::{
        Backend, TestApp, World,
        app::password_of,
        devices::{BLUEPRINT, authenticate, blueprint, claim, claim_request, device_call},
        invariants::assert_invariants,
        on_both_backends,
    },
};

on_both_backends!(
    blueprints_are_created_by_managers_and_read_by_anyone,
    claim_answers_201_then_200_then_409,
    claim_refusals_in_context,
    device_calls_check_the_token_before_the_context,
    organization_claim_belongs_to_the_organization,
    device_credentials_authenticate_and_rotate,
    last_owner_leaving_resets_the_device,
    transfer_replaces_every_owner,
    links_are_granted_changed_and_guarded,
    deleting_a_user_resets_their_devices,
    renaming_and_deleting_follow_the_rules,
    device_lists_filter_and_walk_pages,
);

fn json_of(response: reqwest::blocking::Response) -> Value {
    response.json().unwrap()
}

fn blueprints_are_created_by_managers_and_read_by_anyone(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    let id = blueprint(&app, &w.admin.token, BLUEPRINT);
    let create = |who: &str, body: Value| {
        app.call(Method::POST, "/api/v1/hardware-blueprints", Some(who), Some(&body))
    };
    let duplicate = create(&w.admin.token, json!({"name": "again", "version": BLUEPRINT}));
    assert_problem(duplicate, 409, "conflict");
    for bad in [json!({"name": "x", "version": "has space"}), json!({"name": "", "version": "v1"})]
    {
        assert_problem(create(&w.admin.token, bad), 422, "validation_error");
    }
    let by_member = create(&w.member.token, json!({"name": "x", "version": "v2"}));
    assert_problem(by_member, 403, "permission_denied");
    let listed =
        json_of(app.call(Method::GET, "/api/v1/hardware-blueprints", Some(&w.member.token), None));
    assert_eq!(listed["items"][0]["version"], BLUEPRINT);
    let one = json_of(app.call(
        Method::GET,
        &format!("/api/v1/hardware-blueprints/{id}"),
        Some(&w.a_viewer.token),
        None,
    ));
    assert_eq!((one["id"].as_i64(), one["name"].as_str()), (Some(id), Some("Raspberry Pi 4")));
    let missing =
        app.call(Method::GET, "/api/v1/hardware-blueprints/999999", Some(&w.member.token), None);
    assert_problem(missing, 404, "not_found");
    assert_problem(
        app.call(Method::GET, "/api/v1/hardware-blueprints", None, None),
        401,
        "unauthorized",
    );
}

fn claim_answers_201_then_200_then_409(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let first = claim_request(&app, &w.member, "personal", "CPU-0001");
    assert_eq!(first.status(), StatusCode::CREATED);
    let first = json_of(first);
    let device = &first["device"];
    assert_eq!(device["status"], "active");
    assert_eq!(device["cpu_serial"], "CPU-0001");
    assert_eq!(device["organization_id"], Value::Null);
    assert_eq!(device["hardware_blueprint_version"], BLUEPRINT);
    assert_eq!(first["credentials"]["device_uuid"], device["current_uuid"]);
    assert!(first["credentials"]["device_secret"].as_str().unwrap().len() > 32);

    let retry = claim_request(&app, &w.member, "personal", "CPU-0001");
    assert_eq!(retry.status(), StatusCode::OK);
    let retry = json_of(retry);
    assert_eq!(retry["credentials"], Value::Null);
    // The 201 answer is built from what the claim inserted; it must be the stored device.
    assert_eq!(retry["device"], *device);
    // The retry answers 200 only once the context's own check has passed: the member may not
    // provision in organization A at all.
    assert_problem(
        claim_request(&app, &w.member, &w.org_a.to_string(), "CPU-0001"),
        403,
        "permission_denied",
    );

    assert_problem(claim_request(&app, &w.a_admin, "personal", "CPU-0001"), 409, "already_claimed");
    assert_eq!(app.db.count("SELECT COUNT(*) AS n FROM devices"), 1);
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'DEVICE_PROVISIONED'"),
        1
    );
    assert_invariants(&app.db);
}

fn claim_refusals_in_context(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    assert_problem(claim_request(&app, &w.admin, "global", "CPU-G"), 400, "invalid_context");
    assert_problem(claim_request(&app, &w.member, "007", "CPU-G"), 400, "invalid_context");
    let unknown = app
        .request(Method::POST, "/api/v1/devices/claim")
        .bearer_auth(&w.member.token)
        .json(&json!({"cpu_serial": "CPU-U", "hardware_blueprint_version": "no-such"}))
        .send()
        .unwrap();
    assert_problem(unknown, 422, "unknown_blueprint");
    for serial in ["", "has space", "ünïcode", &"9".repeat(65)] {
        assert_problem(claim_request(&app, &w.member, "personal", serial), 422, "validation_error");
    }
    let denied_before =
        app.db.count("SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'ACCESS_DENIED'");
    let a = w.org_a.to_string();
    assert_problem(claim_request(&app, &w.a_viewer, &a, "CPU-V"), 403, "permission_denied");
    assert_problem(claim_request(&app, &w.member, &a, "CPU-V"), 403, "permission_denied");
    assert_problem(claim_request(&app, &w.b_admin, &a, "CPU-V"), 403, "permission_denied");
    let denied_after =
        app.db.count("SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'ACCESS_DENIED'");
    assert_eq!(denied_after - denied_before, 3, "each refusal is audited");
    assert_eq!(app.db.count("SELECT COUNT(*) AS n FROM devices"), 0);
    let extra = app
        .request(Method::POST, "/api/v1/devices/claim")
        .bearer_auth(&w.member.token)
        .json(&json!({"cpu_serial": "CPU-X", "hardware_blueprint_version": BLUEPRINT, "status": "active"}))
        .send()
        .unwrap();
    assert_problem(extra, 400, "validation_error");
}

/// The token is checked on the request's own database trip, yet the answers keep their
/// order: no token or a bad one is a 401 even when `X-Active-Context` is bad too; a good token
/// with a bad context is a 400; a revoked token writes nothing.
fn device_calls_check_the_token_before_the_context(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let unknown = format!("dh_{}", "0".repeat(64));
    let spare = app.login(&w.member.name, &password_of(&w.member.name));
    let revoked = app.call(Method::POST, "/api/v1/auth/logout", Some(&spare), None);
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let body = json!({"cpu_serial": "CPU-ORDER", "hardware_blueprint_version": BLUEPRINT});
    let send = |method: Method, path: &str, token: Option<&str>, context: &str| {
        let mut request = app.request(method.clone(), path).header("X-Active-Context", context);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if method == Method::POST {
            request = request.json(&body);
        }
        request.send().unwrap()
    };
    for (method, path) in
        [(Method::POST, "/api/v1/devices/claim"), (Method::GET, "/api/v1/devices")]
    {
        for token in [None, Some(unknown.as_str()), Some(spare.as_str())] {
            for context in ["bogus", "personal"] {
                let response = send(method.clone(), path, token, context);
                assert_problem(response, 401, "unauthorized");
            }
        }
        let response = send(method.clone(), path, Some(&w.member.token), "bogus");
        assert_problem(response, 400, "invalid_context");
    }
    assert_eq!(app.db.count("SELECT COUNT(*) AS n FROM devices"), 0);
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'DEVICE_PROVISIONED'"),
        0
    );
    let claimed = send(Method::POST, "/api/v1/devices/claim", Some(&w.member.token), "personal");
    assert_eq!(claimed.status(), StatusCode::CREATED);
}

fn organization_claim_belongs_to_the_organization(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let a = w.org_a.to_string();
    let (id, _) = claim(&app, &w.a_operator, &a, "ORG-1");
    let path = format!("/api/v1/devices/{id}");
    let device = json_of(device_call(&app, &w.a_viewer, &a, Method::GET, &path, None));
    assert_eq!(device["organization_id"], w.org_a);
    // Org A's log shows the claim; org B's does not.
    let log = json_of(device_call(
        &app,
        &w.a_admin,
        &a,
        Method::GET,
        "/api/v1/audit-logs?event_type=DEVICE_PROVISIONED",
        None,
    ));
    assert_eq!(log["items"][0]["target_device_id"], id);

    // Reset it, then it can only be claimed again in org A.
    let leave = format!("/api/v1/devices/{id}/access/{}", w.a_operator.id);
    assert_eq!(
        device_call(&app, &w.a_operator, "personal", Method::DELETE, &leave, None).status(),
        204
    );
    let reset = json_of(device_call(&app, &w.a_admin, &a, Method::GET, &path, None));
    assert_eq!(
        (reset["status"].as_str(), reset["organization_id"].as_i64()),
        (Some("unclaimed"), Some(w.org_a))
    );
    assert_problem(claim_request(&app, &w.member, "personal", "ORG-1"), 403, "permission_denied");
    let (again, _) = claim(&app, &w.a_admin, &a, "ORG-1");
    assert_eq!(again, id);
}

fn device_credentials_authenticate_and_rotate(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let (id, credentials) = claim(&app, &w.member, "personal", "AUTH-1");
    let ok = app.call(Method::POST, "/api/v1/devices/authenticate", None, Some(&credentials));
    assert_eq!(json_of(ok), json!({"device_id": id, "status": "active"}));
    let wrong = json!({"device_uuid": credentials["device_uuid"], "device_secret": "dhd_guess"});
    assert_problem(
        app.call(Method::POST, "/api/v1/devices/authenticate", None, Some(&wrong)),
        401,
        "unauthorized",
    );
    let garbage = json!({"device_uuid": "not-a-uuid", "device_secret": ""});
    assert_eq!(authenticate(&app, &garbage), 401);

    let rotate = format!("/api/v1/devices/{id}/credentials/rotate");
    let fresh = json_of(device_call(&app, &w.member, "personal", Method::POST, &rotate, None));
    assert_eq!(fresh["device_uuid"], credentials["device_uuid"]);
    assert_eq!(authenticate(&app, &credentials), 401, "the old secret stops working");
    assert_eq!(authenticate(&app, &fresh), 200);
    let log =
        json_of(device_call(&app, &w.member, "personal", Method::GET, "/api/v1/audit-logs", None));
    assert_eq!(log["items"][0]["event_type"], "DEVICE_CREDENTIALS_ROTATED");
}

fn last_owner_leaving_resets_the_device(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let (id, credentials) = claim(&app, &w.member, "personal", "RESET-1");
    let path = format!("/api/v1/devices/{id}");
    let grant = format!("{path}/access/{}", w.a_viewer.id);
    let viewer = json!({"role": "viewer"});
    assert_eq!(
        device_call(&app, &w.member, "personal", Method::PUT, &grant, Some(&viewer)).status(),
        204
    );
    assert_eq!(device_call(&app, &w.a_viewer, "personal", Method::GET, &path, None).status(), 200);
    let uuid_before =
        json_of(device_call(&app, &w.member, "personal", Method::GET, &path, None))["current_uuid"]
            .clone();

    let leave = format!("{path}/access/{}", w.member.id);
    assert_eq!(
        device_call(&app, &w.member, "personal", Method::DELETE, &leave, None).status(),
        204
    );

    assert_eq!(authenticate(&app, &credentials), 401, "the old secret is refused");
    assert_problem(
        device_call(&app, &w.a_viewer, "personal", Method::GET, &path, None),
        403,
        "permission_denied",
    );
    let reset = json_of(device_call(&app, &w.admin, "global", Method::GET, &path, None));
    assert_eq!(reset["status"], "unclaimed");
    assert_eq!(reset["name"], Value::Null);
    assert_ne!(reset["current_uuid"], uuid_before);
    assert_eq!(
        app.db.count(&format!("SELECT COUNT(*) AS n FROM user_devices WHERE device_id = {id}")),
        0
    );
    assert_eq!(
        app.db.count("SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'DEVICE_RESET'"),
        1
    );

    let (again, fresh) = claim(&app, &w.b_admin, "personal", "RESET-1");
    assert_eq!(again, id);
    assert_eq!(authenticate(&app, &fresh), 200);
    // The new owner's personal audit view shows the device since their claim, not before.
    let log = json_of(device_call(
        &app,
        &w.b_admin,
        "personal",
        Method::GET,
        &format!("/api/v1/audit-logs?device_id={id}"),
        None,
    ));
    let types: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["DEVICE_PROVISIONED"]);
    assert_invariants(&app.db);
}

fn transfer_replaces_every_owner(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let (id, credentials) = claim(&app, &w.member, "personal", "MOVE-1");
    let path = format!("/api/v1/devices/{id}");
    let put = |who: &crate::support::Person, role: &str| {
        let body = json!({"role": role});
        device_call(
            &app,
            &w.member,
            "personal",
            Method::PUT,
            &format!("{path}/access/{}", who.id),
            Some(&body),
        )
        .status()
    };
    assert_eq!(put(&w.a_admin, "owner"), 204);
    assert_eq!(put(&w.a_viewer, "viewer"), 204);

    let transfer = format!("{path}/transfer");
    let to = json!({"to_user_id": w.b_admin.id});
    let moved = device_call(&app, &w.member, "personal", Method::POST, &transfer, Some(&to));
    assert_eq!(moved.status(), StatusCode::OK);
    assert_eq!(json_of(moved)["id"], id);

    let access = json_of(device_call(
        &app,
        &w.b_admin,
        "personal",
        Method::GET,
        &format!("{path}/access"),
        None,
    ));
    let links: Vec<(i64, &str)> = access["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["user_id"].as_i64().unwrap(), l["role"].as_str().unwrap()))
        .collect();
    let mut expected = vec![(w.a_viewer.id, "viewer"), (w.b_admin.id, "owner")];
    expected.sort_unstable();
    assert_eq!(links, expected);
    assert_problem(
        device_call(&app, &w.member, "personal", Method::GET, &path, None),
        403,
        "permission_denied",
    );
    assert_eq!(authenticate(&app, &credentials), 200, "a transfer keeps the credentials");
    // A transfer is not a claim: the new owner sees the device's events since its last claim,
    // including those from before the transfer.
    let log = json_of(device_call(
        &app,
        &w.b_admin,
        "personal",
        Method::GET,
        &format!("/api/v1/audit-logs?device_id={id}&event_type=DEVICE_PROVISIONED"),
        None,
    ));
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "{log}");

    let missing = json!({"to_user_id": 999_999});
    assert_problem(
        device_call(&app, &w.b_admin, "personal", Method::POST, &transfer, Some(&missing)),
        404,
        "not_found",
    );
    let admin = &w.admin.token;
    app.call(
        Method::PATCH,
        &format!("/api/v1/users/{}", w.auditor.id),
        Some(admin),
        Some(&json!({"is_active": false})),
    );
    let inactive = json!({"to_user_id": w.auditor.id});
    assert_problem(
        device_call(&app, &w.b_admin, "personal", Method::POST, &transfer, Some(&inactive)),
        422,
        "validation_error",
    );
    assert_invariants(&app.db);
}

fn links_are_granted_changed_and_guarded(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let (id, _) = claim(&app, &w.member, "personal", "LINK-1");
    let link = |user: i64| format!("/api/v1/devices/{id}/access/{user}");
    let put = |user: i64, role: &str| {
        device_call(
            &app,
            &w.member,
            "personal",
            Method::PUT,
            &link(user),
            Some(&json!({"role": role})),
        )
    };
    let linked =
        || app.db.count("SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'DEVICE_LINKED'");
    assert_eq!(put(w.a_viewer.id, "viewer").status(), 204);
    assert_eq!(put(w.a_viewer.id, "viewer").status(), 204);
    assert_eq!(linked(), 1, "granting the role held changes nothing");
    assert_eq!(put(w.a_viewer.id, "owner").status(), 204);
    assert_eq!(linked(), 2);
    assert_eq!(put(w.a_viewer.id, "viewer").status(), 204, "another owner remains");
    assert_problem(put(w.member.id, "viewer"), 409, "conflict");
    assert_problem(put(w.a_viewer.id, "admin"), 422, "validation_error");
    assert_problem(put(999_999, "viewer"), 404, "not_found");
    // A viewer may not manage links, but may always leave.
    let by_viewer = device_call(
        &app,
        &w.a_viewer,
        "personal",
        Method::PUT,
        &link(w.b_admin.id),
        Some(&json!({"role": "viewer"})),
    );
    assert_problem(by_viewer, 403, "permission_denied");
    let strangers_leave =
        device_call(&app, &w.b_admin, "personal", Method::DELETE, &link(w.b_admin.id), None);
    assert_problem(strangers_leave, 404, "not_found");
    assert_eq!(
        device_call(&app, &w.a_viewer, "personal", Method::DELETE, &link(w.a_viewer.id), None)
            .status(),
        204
    );
    assert_problem(
        device_call(&app, &w.member, "personal", Method::DELETE, &link(w.a_viewer.id), None),
        404,
        "not_found",
    );

    // Managing links of an unclaimed device is a conflict (org context, where access exists).
    let a = w.org_a.to_string();
    let (org_device, _) = claim(&app, &w.a_operator, &a, "LINK-2");
    let leave = format!("/api/v1/devices/{org_device}/access/{}", w.a_operator.id);
    assert_eq!(device_call(&app, &w.a_operator, &a, Method::DELETE, &leave, None).status(), 204);
    let list = device_call(
        &app,
        &w.a_admin,
        &a,
        Method::GET,
        &format!("/api/v1/devices/{org_device}/access"),
        None,
    );
    assert_problem(list, 409, "conflict");
    let rotate = device_call(
        &app,
        &w.a_admin,
        &a,
        Method::POST,
        &format!("/api/v1/devices/{org_device}/credentials/rotate"),
        None,
    );
    assert_problem(rotate, 409, "conflict");
    assert_invariants(&app.db);
}

fn deleting_a_user_resets_their_devices(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let (solo, solo_credentials) = claim(&app, &w.member, "personal", "DEL-1");
    let (shared, _) = claim(&app, &w.member, "personal", "DEL-2");
    let co_owner = json!({"role": "owner"});
    let grant = format!("/api/v1/devices/{shared}/access/{}", w.a_admin.id);
    assert_eq!(
        device_call(&app, &w.member, "personal", Method::PUT, &grant, Some(&co_owner)).status(),
        204
    );

    let deleted = app.call(
        Method::DELETE,
        &format!("/api/v1/users/{}", w.member.id),
        Some(&w.admin.token),
        None,
    );
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let status = |id: i64| {
        json_of(device_call(
            &app,
            &w.admin,
            "global",
            Method::GET,
            &format!("/api/v1/devices/{id}"),
            None,
        ))["status"]
            .clone()
    };
    assert_eq!(status(solo), "unclaimed");
    assert_eq!(status(shared), "active", "another owner remains");
    assert_eq!(authenticate(&app, &solo_credentials), 401);
    assert_eq!(
        app.db.count("SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'DEVICE_RESET'"),
        1
    );
    assert_eq!(
        app.db.count(&format!(
            "SELECT COUNT(*) AS n FROM user_devices WHERE user_id = {}",
            w.member.id
        )),
        0
    );
    // The deleted user's audit history stays, with their id as a plain value.
    let history = app.db.count(&format!(
        "SELECT COUNT(*) AS n FROM audit_logs WHERE actor_user_id = {} AND event_type = 'DEVICE_PROVISIONED'",
        w.member.id
    ));
    assert_eq!(history, 2);
    assert_invariants(&app.db);
}

fn renaming_and_deleting_follow_the_rules(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let (id, _) = claim(&app, &w.member, "personal", "NAME-1");
    let path = format!("/api/v1/devices/{id}");
    let patch =
        |body: Value| device_call(&app, &w.member, "personal", Method::PATCH, &path, Some(&body));
    assert_eq!(json_of(patch(json!({"name": "Kitchen"})))["name"], "Kitchen");
    assert_eq!(json_of(patch(json!({})))["name"], "Kitchen", "an absent field changes nothing");
    assert_eq!(json_of(patch(json!({"name": null})))["name"], Value::Null);
    assert_problem(patch(json!({"name": ""})), 422, "validation_error");
    assert_problem(patch(json!({"name": "x".repeat(129)})), 422, "validation_error");
    assert_problem(patch(json!({"status": "unclaimed"})), 400, "validation_error");
    assert_problem(patch(json!({"name": 5})), 400, "validation_error");

    assert_problem(
        device_call(&app, &w.member, "personal", Method::GET, "/api/v1/devices/999999", None),
        404,
        "not_found",
    );
    // A device id is digits: anything else names no route; digits out of range are 400.
    assert_problem(
        device_call(&app, &w.member, "personal", Method::GET, "/api/v1/devices/abc", None),
        404,
        "not_found",
    );
    let huge = "/api/v1/devices/99999999999999999999";
    assert_problem(
        device_call(&app, &w.member, "personal", Method::GET, huge, None),
        400,
        "validation_error",
    );
    assert_eq!(device_call(&app, &w.member, "personal", Method::DELETE, &path, None).status(), 204);
    assert_problem(
        device_call(&app, &w.member, "personal", Method::GET, &path, None),
        404,
        "not_found",
    );
    let history = app
        .db
        .count(&format!("SELECT COUNT(*) AS n FROM audit_logs WHERE target_device_id = {id}"));
    assert!(history >= 3, "the deleted device's history stays");
}

fn device_lists_filter_and_walk_pages(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let other = blueprint(&app, &w.admin.token, "esp32-c3-1.0");
    let mut mine = Vec::new();
    for i in 0..7 {
        mine.push(claim(&app, &w.member, "personal", &format!("LIST-{i}")).0);
    }
    let odd = app
        .request(Method::POST, "/api/v1/devices/claim")
        .bearer_auth(&w.member.token)
        .json(&json!({"cpu_serial": "LIST-ESP", "hardware_blueprint_version": "esp32-c3-1.0"}))
        .send()
        .unwrap();
    let odd = json_of(odd)["device"]["id"].as_i64().unwrap();
    claim(&app, &w.b_admin, "personal", "NOT-MINE");
    // One of mine is reset: it leaves the personal list and shows as unclaimed globally.
    let leave = format!("/api/v1/devices/{}/access/{}", mine[0], w.member.id);
    assert_eq!(
        device_call(&app, &w.member, "personal", Method::DELETE, &leave, None).status(),
        204
    );

    let walk = |who: &crate::support::Person, ctx: &str, query: &str| {
        let mut ids = Vec::new();
        let mut cursor = String::new();
        loop {
            let path = format!("/api/v1/devices?limit=3{query}{cursor}");
            let page = json_of(device_call(&app, who, ctx, Method::GET, &path, None));
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 3);
            ids.extend(items.iter().map(|d| d["id"].as_i64().unwrap()));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => return ids,
            }
        }
    };
    let mut expected: Vec<i64> = mine[1..].to_vec();
    expected.push(odd);
    assert_eq!(walk(&w.member, "personal", ""), expected);
    assert_eq!(walk(&w.member, "personal", &format!("&blueprint_id={other}")), [odd]);
    assert_eq!(walk(&w.member, "personal", "&status=unclaimed"), Vec::<i64>::new());
    assert_eq!(walk(&w.auditor, "global", "&status=unclaimed"), [mine[0]]);
    assert_eq!(walk(&w.auditor, "global", "").len(), 9);
    for bad in ["status=broken", "blueprint_id=x", "limit=0", "cursor=nope", "owner=me"] {
        let response = device_call(
            &app,
            &w.member,
            "personal",
            Method::GET,
            &format!("/api/v1/devices?{bad}"),
            None,
        );
        assert_problem(response, 400, "validation_error");
    }
    // A cursor of the personal list is not one of the global list.
    let first = json_of(device_call(
        &app,
        &w.admin,
        "personal",
        Method::GET,
        "/api/v1/devices?limit=1",
        None,
    ));
    assert_eq!(first["items"], json!([]));
    let mine_first = json_of(device_call(
        &app,
        &w.member,
        "personal",
        Method::GET,
        "/api/v1/devices?limit=1",
        None,
    ));
    let cursor = mine_first["next_cursor"].as_str().unwrap();
    let foreign = device_call(
        &app,
        &w.auditor,
        "global",
        Method::GET,
        &format!("/api/v1/devices?cursor={cursor}"),
        None,
    );
    assert_problem(foreign, 400, "validation_error");
}
