//! A populated server for authorization tests: every kind of caller the contract names.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Person, TestApp, app::ADMIN_USERNAME};

/// The callers: a global admin, an auditor, a plain member, organization A with an
/// `org_admin`, an `org_operator` and an `org_viewer`, and organization B with its own admin.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) admin: Person,
    pub(crate) auditor: Person,
    pub(crate) member: Person,
    pub(crate) org_a: i64,
    pub(crate) a_admin: Person,
    pub(crate) a_operator: Person,
    pub(crate) a_viewer: Person,
    pub(crate) org_b: i64,
    pub(crate) b_admin: Person,
}

impl World {
    pub(crate) fn build(app: &TestApp) -> World {
        let token = app.admin_token();
        let me: Value = app.call(Method::GET, "/api/v1/me", Some(&token), None).json().unwrap();
        let admin = Person { id: me["id"].as_i64().unwrap(), name: ADMIN_USERNAME.into(), token };

        let auditor = app.user(&admin.token, "auditor1");
        let granted = app.call(
            Method::PUT,
            &format!("/api/v1/users/{}/roles/auditor", auditor.id),
            Some(&admin.token),
            None,
        );
        assert_eq!(granted.status(), StatusCode::NO_CONTENT);
        let member = app.user(&admin.token, "member1");

        let a_admin = app.user(&admin.token, "alice");
        let org_a = create_org(app, &a_admin, "Org A");
        let a_operator = app.user(&admin.token, "oscar");
        add_member(app, &a_admin, org_a, &a_operator, "org_operator");
        let a_viewer = app.user(&admin.token, "vera");
        add_member(app, &a_admin, org_a, &a_viewer, "org_viewer");

        let b_admin = app.user(&admin.token, "bob");
        let org_b = create_org(app, &b_admin, "Org B");
        World { admin, auditor, member, org_a, a_admin, a_operator, a_viewer, org_b, b_admin }
    }
}

pub(crate) fn create_org(app: &TestApp, creator: &Person, name: &str) -> i64 {
    let response = app.call(
        Method::POST,
        "/api/v1/organizations",
        Some(&creator.token),
        Some(&json!({ "name": name })),
    );
    assert_eq!(response.status(), StatusCode::CREATED, "create organization {name}");
    response.json::<Value>().unwrap()["id"].as_i64().unwrap()
}

pub(crate) fn add_member(app: &TestApp, by: &Person, org: i64, who: &Person, role: &str) {
    let response = app.call(
        Method::PUT,
        &format!("/api/v1/organizations/{org}/members/{}", who.id),
        Some(&by.token),
        Some(&json!({ "role": role })),
    );
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "add {} as {role}", who.name);
}
