//! Organizations and membership rules.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    server::assert_problem,
    support::{Backend, TestApp, World, on_both_backends},
};

on_both_backends!(
    organization_names_are_checked_and_unique,
    organization_lists_show_mine_or_all_for_org_managers,
    membership_sets_one_role_and_audits_each_change,
);

fn json_of(response: reqwest::blocking::Response) -> Value {
    response.json().unwrap()
}

fn organization_names_are_checked_and_unique(backend: Backend) {
    let app = TestApp::start(backend);
    let admin = app.admin_token();
    let create = |name: Value| {
        app.call(Method::POST, "/api/v1/organizations", Some(&admin), Some(&json!({"name": name})))
    };
    let created = json_of(create(json!("Acme")));
    assert_eq!(created["name"], "Acme");
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
    assert_problem(create(json!("Acme")), 409, "conflict");
    for bad in [json!(""), json!("   "), json!("bell\u{7}"), json!("x".repeat(129))] {
        assert_problem(create(bad), 422, "validation_error");
    }
    assert_problem(create(json!(42)), 400, "validation_error");
    let extra = app.call(
        Method::POST,
        "/api/v1/organizations",
        Some(&admin),
        Some(&json!({"name": "B", "id": 7})),
    );
    assert_problem(extra, 400, "validation_error");
    assert_problem(
        app.call(Method::GET, "/api/v1/organizations/999999", Some(&admin), None),
        404,
        "not_found",
    );
}

fn ids(list: &Value) -> Vec<i64> {
    list["items"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect()
}

fn organization_lists_show_mine_or_all_for_org_managers(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    let list = |token: &str, query: &str| {
        json_of(app.call(Method::GET, &format!("/api/v1/organizations{query}"), Some(token), None))
    };
    assert_eq!(ids(&list(&w.a_viewer.token, "")), [w.org_a]);
    assert_eq!(ids(&list(&w.b_admin.token, "")), [w.org_b]);
    assert!(ids(&list(&w.member.token, "")).is_empty());
    assert_eq!(ids(&list(&w.admin.token, "")), [w.org_a, w.org_b]);

    let first = list(&w.admin.token, "?limit=1");
    assert_eq!(ids(&first), [w.org_a]);
    let next = list(
        &w.admin.token,
        &format!("?limit=1&cursor={}", first["next_cursor"].as_str().unwrap()),
    );
    assert_eq!(ids(&next), [w.org_b]);
    assert_eq!(next["next_cursor"], Value::Null);
    // A cursor made for the admin's list of every organization is not one of a member's list.
    let foreign = app.call(
        Method::GET,
        &format!("/api/v1/organizations?cursor={}", first["next_cursor"].as_str().unwrap()),
        Some(&w.a_viewer.token),
        None,
    );
    assert_problem(foreign, 400, "validation_error");
}

fn audit_types(app: &TestApp, token: &str, org: i64) -> Vec<String> {
    let request = app
        .request(Method::GET, "/api/v1/audit-logs?limit=200")
        .bearer_auth(token)
        .header("X-Active-Context", org.to_string());
    json_of(request.send().unwrap())["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect()
}

fn membership_sets_one_role_and_audits_each_change(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    let org = w.org_a;
    let newcomer = app.user(&w.admin.token, "nina");
    let path = format!("/api/v1/organizations/{org}/members/{}", newcomer.id);
    let put = |role: &str| {
        app.call(Method::PUT, &path, Some(&w.a_admin.token), Some(&json!({"role": role})))
    };
    let before = audit_types(&app, &w.a_admin.token, org).len();

    assert_eq!(put("org_viewer").status(), 204);
    assert_eq!(put("org_viewer").status(), 204);
    assert_eq!(put("org_operator").status(), 204);
    let events = audit_types(&app, &w.a_admin.token, org);
    assert_eq!(events.len(), before + 2, "{events:?}");
    assert_eq!(events[..2], ["ROLE_GRANTED", "MEMBER_ADDED"]);

    let members = json_of(app.call(
        Method::GET,
        &format!("/api/v1/organizations/{org}/members"),
        Some(&w.a_admin.token),
        None,
    ));
    let nina: Vec<&Value> = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["user_id"] == newcomer.id)
        .collect();
    assert_eq!(
        nina,
        [&json!({"user_id": newcomer.id, "username": "nina", "role": "org_operator"})]
    );

    for bad in ["admin", "owner", ""] {
        assert_problem(put(bad), 422, "validation_error");
    }
    let ghost = app.call(
        Method::PUT,
        &format!("/api/v1/organizations/{org}/members/999999"),
        Some(&w.a_admin.token),
        Some(&json!({"role": "org_viewer"})),
    );
    assert_problem(ghost, 404, "not_found");

    assert_eq!(app.call(Method::DELETE, &path, Some(&w.a_admin.token), None).status(), 204);
    assert_problem(app.call(Method::DELETE, &path, Some(&w.a_admin.token), None), 404, "not_found");
    assert_eq!(audit_types(&app, &w.a_admin.token, org)[0], "MEMBER_REMOVED");
    let me = json_of(app.call(Method::GET, "/api/v1/me", Some(&newcomer.token), None));
    assert_eq!(me["organizations"], json!([]));
    // Organization B's log saw none of it.
    assert!(!audit_types(&app, &w.b_admin.token, w.org_b).contains(&"MEMBER_REMOVED".to_owned()));
}
