//! The audit log endpoint: visibility per active context, filters, order and pages.

use reqwest::Method;
use serde_json::Value;

use crate::{
    server::assert_problem,
    support::{Backend, Person, TestApp, World, on_both_backends, world::create_org},
};

on_both_backends!(
    each_context_sees_its_own_events,
    filters_order_and_pages,
    malformed_context_and_queries_are_400,
);

fn entries(app: &TestApp, who: &Person, context: &str, query: &str) -> Vec<Value> {
    let request = app
        .request(Method::GET, &format!("/api/v1/audit-logs?limit=200{query}"))
        .bearer_auth(&who.token)
        .header("X-Active-Context", context);
    let response = request.send().unwrap();
    assert_eq!(response.status(), 200, "{context} {query}");
    response.json::<Value>().unwrap()["items"].as_array().unwrap().clone()
}

fn each_context_sees_its_own_events(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    let org_c = create_org(&app, &w.member, "Org C");

    let personal = entries(&app, &w.member, "personal", "");
    assert!(!personal.is_empty());
    assert!(personal.iter().all(|e| e["actor_user_id"] == w.member.id), "{personal:?}");
    assert!(personal.iter().any(|e| e["organization_id"] == org_c));

    let org_a = entries(&app, &w.a_admin, &w.org_a.to_string(), "");
    assert!(org_a.iter().all(|e| e["organization_id"] == w.org_a), "{org_a:?}");
    let types: Vec<&str> = org_a.iter().map(|e| e["event_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["MEMBER_ADDED", "MEMBER_ADDED", "ORGANIZATION_CREATED"]);

    let global = entries(&app, &w.auditor, "global", "");
    assert!(global.len() > org_a.len() + personal.len());
    assert!(global.iter().any(|e| e["organization_id"] == w.org_b));
    // An admin holds audit:read everywhere, even in an organization that does not exist.
    assert!(entries(&app, &w.admin, "999999", "").is_empty());
    let stranger = app
        .request(Method::GET, "/api/v1/audit-logs")
        .bearer_auth(&w.member.token)
        .header("X-Active-Context", "999999")
        .send()
        .unwrap();
    assert_problem(stranger, 403, "permission_denied");
}

fn filters_order_and_pages(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    let all = entries(&app, &w.admin, "global", "");
    let keys: Vec<(String, i64)> = all
        .iter()
        .map(|e| (e["occurred_at"].as_str().unwrap().to_owned(), e["id"].as_i64().unwrap()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(keys, sorted, "newest first");
    let entry = &all[0];
    for field in [
        "id",
        "occurred_at",
        "event_type",
        "description",
        "actor_user_id",
        "target_device_id",
        "organization_id",
        "details",
        "request_id",
    ] {
        assert!(entry.get(field).is_some(), "{field} missing in {entry}");
    }
    assert_eq!(entry["occurred_at"].as_str().unwrap().len(), "2026-11-23T09:41:07.120000Z".len());

    let created = entries(&app, &w.admin, "global", "&event_type=USER_CREATED");
    assert_eq!(created.len(), 7, "the admin and the six users of the world");
    let by_alice = entries(&app, &w.admin, "global", &format!("&actor_user_id={}", w.a_admin.id));
    assert!(by_alice.iter().all(|e| e["actor_user_id"] == w.a_admin.id) && !by_alice.is_empty());
    let newest = all[0]["occurred_at"].as_str().unwrap();
    let since = entries(&app, &w.admin, "global", &format!("&since={newest}"));
    assert!(!since.is_empty() && since.len() < all.len());
    let until = entries(&app, &w.admin, "global", &format!("&until={newest}"));
    assert_eq!(since.len() + until.len(), all.len());

    let mut walked = Vec::new();
    let mut cursor = String::new();
    loop {
        let request = app
            .request(Method::GET, &format!("/api/v1/audit-logs?limit=4{cursor}"))
            .bearer_auth(&w.admin.token)
            .header("X-Active-Context", "global");
        let page: Value = request.send().unwrap().json().unwrap();
        walked.extend(page["items"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    let expected: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(walked, expected, "walking every page returns each entry once, in order");
}

fn malformed_context_and_queries_are_400(backend: Backend) {
    let app = TestApp::start(backend);
    let admin = app.admin_token();
    for context in ["007", "-1", "0", "Global", "9223372036854775808", "1 2", "personal,global"] {
        let response = app
            .request(Method::GET, "/api/v1/audit-logs")
            .bearer_auth(&admin)
            .header("X-Active-Context", context)
            .send()
            .unwrap();
        assert_problem(response, 400, "invalid_context");
    }
    let repeated = app
        .request(Method::GET, "/api/v1/audit-logs")
        .bearer_auth(&admin)
        .header("X-Active-Context", "personal")
        .header("X-Active-Context", "personal")
        .send()
        .unwrap();
    assert_problem(repeated, 400, "invalid_context");
    for query in [
        "event_type=NOPE",
        "since=yesterday",
        "until=2026-13-01T00:00:00Z",
        "device_id=x",
        "limit=500",
        "cursor=%%%",
        "colour=red",
    ] {
        let response =
            app.call(Method::GET, &format!("/api/v1/audit-logs?{query}"), Some(&admin), None);
        assert_problem(response, 400, "validation_error");
    }
    // Endpoints outside devices and audit ignore the header.
    let me = app
        .request(Method::GET, "/api/v1/me")
        .bearer_auth(&admin)
        .header("X-Active-Context", "007")
        .send()
        .unwrap();
    assert_eq!(me.status(), 200);
}
