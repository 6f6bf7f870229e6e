//! Every device endpoint, for every kind of caller (and a deactivated user, refused 401
//! everywhere), in every context, against what contract §4 says; and the listing in each
//! context against the single-device read.
//!
//! The expectation is written from the contract's tables (`expected` below), not from the code.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    server::assert_problem,
    support::{
        Backend, Person, TestApp, World,
        devices::{BLUEPRINT, blueprint, claim, device_call},
        invariants::assert_invariants,
        matrix::{Cell, check_table},
        on_both_backends,
    },
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Read,
    Update,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Personal,
    OrgA,
    OrgB,
    Global,
}

/// What the caller is, as far as the contract's rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Kind {
    /// The link to the device under test.
    link: Option<&'static str>,
    /// The role in organization A.
    org_a_role: Option<&'static str>,
    /// The role in organization B.
    org_b_role: Option<&'static str>,
    admin: bool,
    auditor: bool,
}

/// The organization a device belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Org {
    A,
    B,
}

/// Contract §3 and §4, literally.
fn expected(kind: Kind, ctx: Ctx, device_org: Option<Org>, action: Action) -> bool {
    let org_permits = |role: Option<&str>| {
        matches!(
            (role, action),
            (Some("org_admin"), _)
                | (Some("org_operator"), Action::Read | Action::Update)
                | (Some("org_viewer"), Action::Read)
        )
    };
    match ctx {
        Ctx::Personal => {
            matches!((kind.link, action), (Some("owner"), _) | (Some("viewer"), Action::Read))
        }
        Ctx::OrgA => device_org == Some(Org::A) && (kind.admin || org_permits(kind.org_a_role)),
        Ctx::OrgB => device_org == Some(Org::B) && (kind.admin || org_permits(kind.org_b_role)),
        Ctx::Global => kind.admin || (kind.auditor && action == Action::Read),
    }
}

struct Endpoint {
    method: Method,
    path: String,
    /// The operation with placeholders instead of ids, for the matrix file.
    label: String,
    body: Option<Value>,
    action: Action,
    /// The status an allowed call answers.
    allowed_status: u16,
}

/// The operations (method, OpenAPI path) this module walks for every caller and context.
pub(crate) const COVERED: [(&str, &str); 9] = [
    ("GET", "/api/v1/devices"),
    ("GET", "/api/v1/devices/{id}"),
    ("PATCH", "/api/v1/devices/{id}"),
    ("DELETE", "/api/v1/devices/{id}"),
    ("GET", "/api/v1/devices/{id}/access"),
    ("PUT", "/api/v1/devices/{id}/access/{user_id}"),
    ("DELETE", "/api/v1/devices/{id}/access/{user_id}"),
    ("POST", "/api/v1/devices/{id}/transfer"),
    ("POST", "/api/v1/devices/{id}/credentials/rotate"),
];

/// `outsider` has no link to the device and is not one of the callers; `name` is the
/// device's placeholder in the matrix file.
fn endpoints(device: i64, name: &str, owner: &Person, outsider: &Person) -> Vec<Endpoint> {
    let base = format!("/api/v1/devices/{device}");
    let e = |method: Method,
             path: String,
             body: Option<Value>,
             action: Action,
             allowed_status: u16| {
        let label = path
            .replace(&base, &format!("/api/v1/devices/{{{name}}}"))
            .replace(&format!("/{}", owner.id), "/{owner}")
            .replace(&format!("/{}", outsider.id), "/{outsider}");
        Endpoint { label: format!("{method} {label}"), method, path, body, action, allowed_status }
    };
    vec![
        e(Method::GET, base.clone(), None, Action::Read, 200),
        e(Method::PATCH, base.clone(), Some(json!({"name": "matrix"})), Action::Update, 200),
        e(Method::GET, format!("{base}/access"), None, Action::Update, 200),
        // Re-granting the owner's own role changes nothing when allowed.
        e(
            Method::PUT,
            format!("{base}/access/{}", owner.id),
            Some(json!({"role": "owner"})),
            Action::Update,
            204,
        ),
        // Removing a link that does not exist: 404 when allowed, 403 when not.
        e(Method::DELETE, format!("{base}/access/{}", outsider.id), None, Action::Update, 404),
        // Transferring to the sole owner keeps everything as it is.
        e(
            Method::POST,
            format!("{base}/transfer"),
            Some(json!({"to_user_id": owner.id})),
            Action::Update,
            200,
        ),
        e(Method::POST, format!("{base}/credentials/rotate"), None, Action::Update, 200),
    ]
}

fn device_name(org: Option<Org>) -> &'static str {
    if org.is_some() { "org_a_device" } else { "personal_device" }
}

fn context_label(ctx: Ctx) -> &'static str {
    match ctx {
        Ctx::Personal => "personal",
        Ctx::OrgA => "org_a",
        Ctx::OrgB => "org_b",
        Ctx::Global => "global",
    }
}

fn context_header(ctx: Ctx, w: &World) -> String {
    match ctx {
        Ctx::Personal => "personal".into(),
        Ctx::OrgA => w.org_a.to_string(),
        Ctx::OrgB => w.org_b.to_string(),
        Ctx::Global => "global".into(),
    }
}

/// The callers, with the contract's view of each, for a device owned by `extra[0]` with
/// `extra[1]` as viewer.
fn callers<'w>(w: &'w World, extra: &'w [Person]) -> Vec<(&'w Person, Kind)> {
    let plain =
        Kind { link: None, org_a_role: None, org_b_role: None, admin: false, auditor: false };
    vec![
        (&extra[0], Kind { link: Some("owner"), ..plain }),
        (&extra[1], Kind { link: Some("viewer"), ..plain }),
        (&w.member, plain),
        (&w.a_admin, Kind { org_a_role: Some("org_admin"), ..plain }),
        (&w.a_operator, Kind { org_a_role: Some("org_operator"), ..plain }),
        (&w.a_viewer, Kind { org_a_role: Some("org_viewer"), ..plain }),
        (&w.b_admin, Kind { org_b_role: Some("org_admin"), ..plain }),
        (&w.admin, Kind { admin: true, ..plain }),
        (&w.auditor, Kind { auditor: true, ..plain }),
    ]
}

on_both_backends!(
    every_device_endpoint_for_every_caller_and_context,
    delete_rule_for_every_caller_and_context
);

fn denied_rows(app: &TestApp) -> i64 {
    app.db.count("SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'ACCESS_DENIED'")
}

/// Two devices: a personal one, and one in organization A; each with its own owner and viewer.
fn every_device_endpoint_for_every_caller_and_context(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let people: Vec<Person> =
        ["owner1", "viewer1", "outsider"].iter().map(|n| app.user(&w.admin.token, n)).collect();
    let a = context_header(Ctx::OrgA, &w);
    // Both devices get owner1 as only owner and viewer1 as viewer; the second one is claimed
    // by org A's admin in A's context, so it belongs to A.
    let (personal, _) = claim(&app, &people[0], "personal", "MATRIX-P");
    let (in_org, _) = claim(&app, &w.a_admin, &a, "MATRIX-A");
    for (device, ctx, by) in [(personal, "personal", &people[0]), (in_org, a.as_str(), &w.a_admin)]
    {
        for (who, role) in [(&people[0], "owner"), (&people[1], "viewer")] {
            let path = format!("/api/v1/devices/{device}/access/{}", who.id);
            let response =
                device_call(&app, by, ctx, Method::PUT, &path, Some(&json!({"role": role})));
            assert_eq!(response.status(), 204);
        }
    }
    // A deactivated user keeps a viewer link to both devices and is refused everything.
    let sleeper = app.user(&w.admin.token, "sleeper");
    for (device, ctx, by) in [(personal, "personal", &people[0]), (in_org, a.as_str(), &w.a_admin)]
    {
        let path = format!("/api/v1/devices/{device}/access/{}", sleeper.id);
        let response =
            device_call(&app, by, ctx, Method::PUT, &path, Some(&json!({"role": "viewer"})));
        assert_eq!(response.status(), 204);
    }
    let path = format!("/api/v1/users/{}", sleeper.id);
    app.call(Method::PATCH, &path, Some(&w.admin.token), Some(&json!({"is_active": false})));
    // owner1 is now a co-owner of the org device with org A's admin; remove the admin's link so
    // owner1 is its only owner (the admin keeps access through the organization).
    let path = format!("/api/v1/devices/{in_org}/access/{}", w.a_admin.id);
    assert_eq!(device_call(&app, &w.a_admin, &a, Method::DELETE, &path, None).status(), 204);

    let mut mismatches = Vec::new();
    let mut cells = Vec::new();
    let mut denials = 0;
    let denied_before = denied_rows(&app);
    for (device, org) in [(personal, None), (in_org, Some(Org::A))] {
        for ctx in [Ctx::Personal, Ctx::OrgA, Ctx::OrgB, Ctx::Global] {
            let header = context_header(ctx, &w);
            for endpoint in endpoints(device, device_name(org), &people[0], &people[2]) {
                let deactivated = device_call(
                    &app,
                    &sleeper,
                    &header,
                    endpoint.method.clone(),
                    &endpoint.path,
                    endpoint.body.as_ref(),
                );
                if deactivated.status() != 401 {
                    mismatches.push(format!(
                        "{} {} as a deactivated user: {}",
                        endpoint.method,
                        endpoint.path,
                        deactivated.status()
                    ));
                }
                cells.push(Cell::of(
                    &endpoint.label,
                    "deactivated",
                    context_label(ctx),
                    deactivated,
                ));
            }
        }
        for (who, kind) in callers(&w, &people) {
            for ctx in [Ctx::Personal, Ctx::OrgA, Ctx::OrgB, Ctx::Global] {
                let header = context_header(ctx, &w);
                for endpoint in endpoints(device, device_name(org), &people[0], &people[2]) {
                    let allowed = expected(kind, ctx, org, endpoint.action);
                    let response = device_call(
                        &app,
                        who,
                        &header,
                        endpoint.method.clone(),
                        &endpoint.path,
                        endpoint.body.as_ref(),
                    );
                    let cell = Cell::of(&endpoint.label, &who.name, context_label(ctx), response);
                    let want = if allowed { endpoint.allowed_status } else { 403 };
                    if cell.status != want {
                        mismatches.push(format!(
                            "{} {} as {} in {ctx:?}: {}, expected {want}",
                            endpoint.method, endpoint.path, who.name, cell.status
                        ));
                    } else if !allowed {
                        denials += 1;
                        assert_eq!(cell.code, "permission_denied", "{}", endpoint.label);
                    }
                    cells.push(cell);
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} cells disagree:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert_eq!(denied_rows(&app) - denied_before, denials, "every 403 writes ACCESS_DENIED");
    check_table("devices", backend, &cells);

    // A device that does not exist is 404 in every context, for everyone.
    for (who, _) in callers(&w, &people) {
        for ctx in [Ctx::Personal, Ctx::OrgA, Ctx::Global] {
            let response = device_call(
                &app,
                who,
                &context_header(ctx, &w),
                Method::GET,
                "/api/v1/devices/999999",
                None,
            );
            assert_problem(response, 404, "not_found");
        }
    }
    listing_agrees_with_single_reads(&app, &w, &people, &[personal, in_org]);
    assert_invariants(&app.db);
}

/// For every caller and context: `GET /devices` lists exactly the devices `GET /devices/{id}`
/// lets them read (or is 403 where the context needs a permission they lack).
fn listing_agrees_with_single_reads(app: &TestApp, w: &World, people: &[Person], devices: &[i64]) {
    for (who, kind) in callers(w, people) {
        for ctx in [Ctx::Personal, Ctx::OrgA, Ctx::OrgB, Ctx::Global] {
            let header = context_header(ctx, w);
            let readable: BTreeSet<i64> = devices
                .iter()
                .copied()
                .filter(|id| {
                    device_call(
                        app,
                        who,
                        &header,
                        Method::GET,
                        &format!("/api/v1/devices/{id}"),
                        None,
                    )
                    .status()
                        == 200
                })
                .collect();
            let response =
                device_call(app, who, &header, Method::GET, "/api/v1/devices?limit=1", None);
            let may_list = match ctx {
                Ctx::Personal => true,
                Ctx::OrgA => kind.admin || kind.org_a_role.is_some(),
                Ctx::OrgB => kind.admin || kind.org_b_role.is_some(),
                Ctx::Global => kind.admin || kind.auditor,
            };
            if !may_list {
                assert!(readable.is_empty(), "{} reads in {ctx:?} but may not list", who.name);
                assert_problem(response, 403, "permission_denied");
                continue;
            }
            let mut listed = BTreeSet::new();
            let mut page: Value = response.json().unwrap();
            loop {
                listed.extend(
                    page["items"].as_array().unwrap().iter().map(|d| d["id"].as_i64().unwrap()),
                );
                let Some(next) = page["next_cursor"].as_str() else { break };
                let path = format!("/api/v1/devices?limit=1&cursor={next}");
                page = device_call(app, who, &header, Method::GET, &path, None).json().unwrap();
            }
            assert_eq!(listed, readable, "{} in {ctx:?}", who.name);
        }
    }
}

/// DELETE removes the device, so each allowed cell gets a device of its own.
fn delete_rule_for_every_caller_and_context(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    blueprint(&app, &w.admin.token, BLUEPRINT);
    let people: Vec<Person> =
        ["owner1", "viewer1"].iter().map(|n| app.user(&w.admin.token, n)).collect();
    let a = context_header(Ctx::OrgA, &w);
    let mut serial = 0;
    let mut fresh_device = |in_org_a: bool| {
        serial += 1;
        let (ctx, by) = if in_org_a { (a.as_str(), &w.a_admin) } else { ("personal", &people[0]) };
        let (id, _) = claim(&app, by, ctx, &format!("DEL-{serial}"));
        for (who, role) in [(&people[0], "owner"), (&people[1], "viewer")] {
            let path = format!("/api/v1/devices/{id}/access/{}", who.id);
            device_call(&app, by, ctx, Method::PUT, &path, Some(&json!({"role": role})));
        }
        if in_org_a {
            let path = format!("/api/v1/devices/{id}/access/{}", w.a_admin.id);
            device_call(&app, &w.a_admin, &a, Method::DELETE, &path, None);
        }
        id
    };
    let mut mismatches = Vec::new();
    let mut cells = Vec::new();
    for org in [None, Some(Org::A)] {
        let in_org_a = org.is_some();
        let mut device = fresh_device(in_org_a);
        let operation = format!("DELETE /api/v1/devices/{{{}}}", device_name(org));
        for (who, kind) in callers(&w, &people) {
            for ctx in [Ctx::Personal, Ctx::OrgA, Ctx::OrgB, Ctx::Global] {
                let allowed = expected(kind, ctx, org, Action::Delete);
                let path = format!("/api/v1/devices/{device}");
                let response =
                    device_call(&app, who, &context_header(ctx, &w), Method::DELETE, &path, None);
                let cell = Cell::of(&operation, &who.name, context_label(ctx), response);
                let want = if allowed { 204 } else { 403 };
                if cell.status != want {
                    mismatches.push(format!(
                        "DELETE as {} in {ctx:?} (org A: {in_org_a}): {}",
                        who.name, cell.status
                    ));
                }
                if cell.status == 204 {
                    device = fresh_device(in_org_a);
                }
                cells.push(cell);
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    check_table("device-deletes", backend, &cells);
}
