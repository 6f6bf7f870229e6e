//! Users, login, tokens and registration: what the contract promises beyond who may call.

use diesel::{RunQueryDsl, sql_query, sql_types::Text};
use foundation::DbError;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    server::assert_problem,
    support::{
        Backend, TestApp, TestDb, World,
        app::{ADMIN_PASSWORD, password_of},
        on_both_backends,
    },
};

on_both_backends!(
    tokens_live_as_long_as_the_contract_says,
    login_ignores_username_case_and_logout_revokes,
    failed_logins_are_throttled_per_username_and_per_peer,
    deactivation_and_revocation_apply_on_the_next_request,
    api_tokens_are_shown_once_listed_without_secret_and_revocable,
    registration_is_closed_by_default,
    registration_when_open_creates_members,
    user_rules_give_422_409_and_404,
    users_list_walks_every_page_once,
    roles_grant_once_and_revoke,
    secrets_appear_in_no_response_and_no_log_line,
    me_shows_roles_and_organizations,
);

fn json_of(response: reqwest::blocking::Response) -> Value {
    response.json().unwrap()
}

fn login_ignores_username_case_and_logout_revokes(backend: Backend) {
    let app = TestApp::start(backend);
    let token = app.login("ADMIN", ADMIN_PASSWORD);
    let login = app.call(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(&json!({"username": "Admin", "password": ADMIN_PASSWORD})),
    );
    let body = json_of(login);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));

    let wrong = app.call(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(&json!({"username": "admin", "password": "not-the-password"})),
    );
    assert_problem(wrong, 401, "unauthorized");
    let unknown = app.call(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(&json!({"username": "nobody-here", "password": "whatever-password"})),
    );
    assert_problem(unknown, 401, "unauthorized");

    assert_eq!(app.call(Method::GET, "/api/v1/me", Some(&token), None).status(), 200);
    assert_eq!(app.call(Method::POST, "/api/v1/auth/logout", Some(&token), None).status(), 204);
    assert_problem(app.call(Method::GET, "/api/v1/me", Some(&token), None), 401, "unauthorized");
}

fn failed_logins_are_throttled_per_username_and_per_peer(backend: Backend) {
    let app = TestApp::start(backend);
    let attempt = |username: &str, password: &str| {
        app.call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&json!({"username": username, "password": password})),
        )
    };
    for _ in 0..10 {
        assert_eq!(attempt("admin", "wrong-password").status(), StatusCode::UNAUTHORIZED);
    }
    // The right password no longer helps: the username is throttled.
    let limited = attempt("admin", ADMIN_PASSWORD);
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_problem(limited, 429, "rate_limited");

    // 50 failures from one address, over many usernames, throttle that address.
    for i in 0..40 {
        assert_eq!(
            attempt(&format!("guess{i}"), "wrong-password").status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_problem(attempt("someone-else", "wrong-password"), 429, "rate_limited");
}

fn deactivation_and_revocation_apply_on_the_next_request(backend: Backend) {
    let app = TestApp::start(backend);
    let admin = app.admin_token();
    let user = app.user(&admin, "carol");
    let path = format!("/api/v1/users/{}", user.id);
    assert_eq!(app.call(Method::GET, "/api/v1/me", Some(&user.token), None).status(), 200);

    let off = app.call(Method::PATCH, &path, Some(&admin), Some(&json!({"is_active": false})));
    assert_eq!(json_of(off)["is_active"], false);
    assert_problem(
        app.call(Method::GET, "/api/v1/me", Some(&user.token), None),
        401,
        "unauthorized",
    );
    let login = app.call(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(&json!({"username": "carol", "password": password_of("carol")})),
    );
    assert_problem(login, 401, "unauthorized");

    app.call(Method::PATCH, &path, Some(&admin), Some(&json!({"is_active": true})));
    assert_eq!(app.call(Method::GET, "/api/v1/me", Some(&user.token), None).status(), 200);

    let password = json!({"password": "a-brand-new-password"});
    assert_eq!(app.call(Method::PATCH, &path, Some(&admin), Some(&password)).status(), 200);
    app.login("carol", "a-brand-new-password");
}

fn api_tokens_are_shown_once_listed_without_secret_and_revocable(backend: Backend) {
    let app = TestApp::start(backend);
    let session = app.admin_token();
    let created = app.call(
        Method::POST,
        "/api/v1/me/tokens",
        Some(&session),
        Some(&json!({"name": "factory tool", "expires_in_days": 30})),
    );
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = json_of(created);
    let api_token = created["token"].as_str().unwrap().to_owned();
    assert_eq!(app.call(Method::GET, "/api/v1/me", Some(&api_token), None).status(), 200);

    let list = json_of(app.call(Method::GET, "/api/v1/me/tokens", Some(&api_token), None));
    let names: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["login", "factory tool"]);
    assert!(!list.to_string().contains(&api_token));
    for item in list["items"].as_array().unwrap() {
        assert!(item.get("token").is_none(), "{item}");
    }

    for bad in [
        json!({"name": "x", "expires_in_days": 0}),
        json!({"name": "x", "expires_in_days": 3651}),
        json!({"name": ""}),
    ] {
        let response = app.call(Method::POST, "/api/v1/me/tokens", Some(&session), Some(&bad));
        assert_problem(response, 422, "validation_error");
    }

    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/me/tokens/{id}");
    assert_eq!(app.call(Method::DELETE, &path, Some(&session), None).status(), 204);
    assert_problem(
        app.call(Method::GET, "/api/v1/me", Some(&api_token), None),
        401,
        "unauthorized",
    );
    assert_problem(app.call(Method::DELETE, &path, Some(&session), None), 404, "not_found");

    // Another user's token cannot be revoked (it does not exist for them).
    let other = app.user(&session, "dora");
    let mine = json_of(app.call(Method::GET, "/api/v1/me/tokens", Some(&session), None));
    let session_id = mine["items"][0]["id"].as_i64().unwrap();
    let theft = app.call(
        Method::DELETE,
        &format!("/api/v1/me/tokens/{session_id}"),
        Some(&other.token),
        None,
    );
    assert_problem(theft, 404, "not_found");
    assert_eq!(app.call(Method::GET, "/api/v1/me", Some(&session), None).status(), 200);
}

fn registration_is_closed_by_default(backend: Backend) {
    let app = TestApp::start(backend);
    let response = app.call(
        Method::POST,
        "/api/v1/auth/register",
        None,
        Some(&json!({"username": "eve", "password": "eve-password"})),
    );
    assert_problem(response, 403, "permission_denied");
}

fn registration_when_open_creates_members(backend: Backend) {
    let app =
        TestApp::start_with(TestDb::fresh(backend), &[("DEVICEHUB_ALLOW_REGISTRATION", "true")]);
    let register = |body: Value| app.call(Method::POST, "/api/v1/auth/register", None, Some(&body));
    let created = register(
        json!({"username": "Eve", "password": "eve-password", "email": "eve@example.org"}),
    );
    assert_eq!(created.status(), StatusCode::CREATED);
    let user = json_of(created);
    assert_eq!(
        (user["username"].as_str(), user["email"].as_str()),
        (Some("Eve"), Some("eve@example.org"))
    );
    assert_eq!(user["is_active"], true);

    assert_problem(
        register(json!({"username": "EVE", "password": "other-password"})),
        409,
        "conflict",
    );
    assert_problem(
        register(json!({"username": "e", "password": "long-enough"})),
        422,
        "validation_error",
    );
    assert_problem(
        register(json!({"username": "frank", "password": "short"})),
        422,
        "validation_error",
    );
    assert_problem(register(json!({"username": "frank"})), 400, "validation_error");
    assert_problem(
        register(json!({"username": "frank", "password": "long-enough", "role": "admin"})),
        400,
        "validation_error",
    );

    let token = app.login("eve", "eve-password");
    let me = json_of(app.call(Method::GET, "/api/v1/me", Some(&token), None));
    assert_eq!(me["global_roles"], json!(["member"]));
}

fn user_rules_give_422_409_and_404(backend: Backend) {
    let app = TestApp::start(backend);
    let admin = app.admin_token();
    let create = |body: Value| app.call(Method::POST, "/api/v1/users", Some(&admin), Some(&body));
    assert_problem(
        create(json!({"username": "ADMIN", "password": "long-enough"})),
        409,
        "conflict",
    );
    for bad in [
        json!({"username": "has space", "password": "long-enough"}),
        json!({"username": "ok-name", "password": "1234567"}),
        json!({"username": "ok-name", "password": "x".repeat(1025)}),
        json!({"username": "ok-name", "password": "long-enough", "email": "not-an-address"}),
    ] {
        assert_problem(create(bad), 422, "validation_error");
    }
    assert_problem(
        create(json!({"username": 5, "password": "long-enough"})),
        400,
        "validation_error",
    );
    assert_problem(
        create(json!({"username": "x", "password": "long-enough", "is_active": false})),
        400,
        "validation_error",
    );

    for (method, path) in [
        (Method::GET, "/api/v1/users/999999"),
        (Method::PATCH, "/api/v1/users/999999"),
        (Method::DELETE, "/api/v1/users/999999"),
        (Method::PUT, "/api/v1/users/999999/roles/auditor"),
    ] {
        let body = (method == Method::PATCH).then(|| json!({"is_active": false}));
        assert_problem(app.call(method, path, Some(&admin), body.as_ref()), 404, "not_found");
    }
    assert_problem(
        app.call(Method::GET, "/api/v1/users/abc", Some(&admin), None),
        400,
        "validation_error",
    );
    assert_problem(
        app.call(Method::GET, "/api/v1/users/99999999999999999999", Some(&admin), None),
        400,
        "validation_error",
    );
    let patch_email = json!({"email": null});
    let cleared = app.call(Method::PATCH, "/api/v1/users/1", Some(&admin), Some(&patch_email));
    assert_eq!(json_of(cleared)["email"], Value::Null);
}

fn users_list_walks_every_page_once(backend: Backend) {
    let app = TestApp::start(backend);
    let admin = app.admin_token();
    for i in 0..6 {
        app.user(&admin, &format!("walker{i}"));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/users?limit=3&cursor={c}"),
            None => "/api/v1/users?limit=3".to_owned(),
        };
        let page = json_of(app.call(Method::GET, &path, Some(&admin), None));
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|u| u["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(seen, sorted, "each user once, in id order");
    assert_eq!(seen.len(), 7);

    for bad in
        ["limit=0", "limit=201", "limit=-1", "limit=ten", "cursor=garbage", "cursor=", "page=2"]
    {
        let response = app.call(Method::GET, &format!("/api/v1/users?{bad}"), Some(&admin), None);
        assert_problem(response, 400, "validation_error");
    }
    let first = json_of(app.call(Method::GET, "/api/v1/users?limit=1", Some(&admin), None));
    let users_cursor = first["next_cursor"].as_str().unwrap();
    let foreign = app.call(
        Method::GET,
        &format!("/api/v1/me/tokens?cursor={users_cursor}"),
        Some(&admin),
        None,
    );
    assert_problem(foreign, 400, "validation_error");
}

fn audit_count(app: &TestApp, admin: &str, event_type: &str) -> usize {
    let path = format!("/api/v1/audit-logs?event_type={event_type}&limit=200");
    let mut request = app.request(Method::GET, &path).bearer_auth(admin);
    request = request.header("X-Active-Context", "global");
    json_of(request.send().unwrap())["items"].as_array().unwrap().len()
}

fn roles_grant_once_and_revoke(backend: Backend) {
    let app = TestApp::start(backend);
    let admin = app.admin_token();
    let user = app.user(&admin, "gina");
    let path = format!("/api/v1/users/{}/roles/auditor", user.id);
    assert_eq!(app.call(Method::PUT, &path, Some(&admin), None).status(), 204);
    assert_eq!(app.call(Method::PUT, &path, Some(&admin), None).status(), 204);
    assert_eq!(audit_count(&app, &admin, "ROLE_GRANTED"), 1, "a role already held writes no row");
    let me = json_of(app.call(Method::GET, "/api/v1/me", Some(&user.token), None));
    assert_eq!(me["global_roles"], json!(["auditor", "member"]));

    assert_eq!(app.call(Method::DELETE, &path, Some(&admin), None).status(), 204);
    assert_problem(app.call(Method::DELETE, &path, Some(&admin), None), 404, "not_found");
    assert_eq!(audit_count(&app, &admin, "ROLE_REVOKED"), 1);
    for bad in ["superuser", "org_admin"] {
        let response = app.call(
            Method::PUT,
            &format!("/api/v1/users/{}/roles/{bad}", user.id),
            Some(&admin),
            None,
        );
        assert_problem(response, 422, "validation_error");
    }
}

fn secrets_appear_in_no_response_and_no_log_line(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    let api_token = json_of(app.call(
        Method::POST,
        "/api/v1/me/tokens",
        Some(&w.member.token),
        Some(&json!({"name": "bot"})),
    ))["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut responses = String::new();
    for (token, path, context) in [
        (&w.admin.token, "/api/v1/users?limit=200", "personal"),
        (&w.admin.token, "/api/v1/audit-logs?limit=200", "global"),
        (&w.member.token, "/api/v1/me", "personal"),
        (&w.member.token, "/api/v1/me/tokens", "personal"),
    ] {
        let request =
            app.request(Method::GET, path).bearer_auth(token).header("X-Active-Context", context);
        responses.push_str(&request.send().unwrap().text().unwrap());
    }
    let logs = app.logs().join("\n");
    let mut secrets = vec![ADMIN_PASSWORD.to_owned(), password_of("member1"), api_token];
    secrets.extend([&w.admin, &w.member, &w.a_admin].iter().map(|p| p.token.clone()));
    secrets.extend(stored_hashes(&app.db));
    assert!(secrets.len() > 10);
    for secret in &secrets {
        assert!(!responses.contains(secret.as_str()), "a response holds a secret");
        assert!(!logs.contains(secret.as_str()), "a log line holds a secret");
    }
}

/// Every password hash and token hash the database stores.
fn stored_hashes(db: &TestDb) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Hash {
        #[diesel(sql_type = Text)]
        value: String,
    }
    db.connect()
        .read_blocking(|conn| -> Result<Vec<Hash>, DbError> {
            Ok(sql_query(
                "SELECT password_hash AS value FROM users UNION ALL SELECT token_hash FROM api_tokens",
            )
            .load(conn)?)
        })
        .unwrap()
        .into_iter()
        .map(|h| h.value)
        .collect()
}

fn me_shows_roles_and_organizations(backend: Backend) {
    let app = TestApp::start(backend);
    let w = World::build(&app);
    let me = json_of(app.call(Method::GET, "/api/v1/me", Some(&w.a_operator.token), None));
    assert_eq!(me["username"], "oscar");
    assert_eq!(me["global_roles"], json!(["member"]));
    assert_eq!(
        me["organizations"],
        json!([{"id": w.org_a, "name": "Org A", "role": "org_operator"}])
    );
    let admin = json_of(app.call(Method::GET, "/api/v1/me", Some(&w.admin.token), None));
    assert_eq!(admin["global_roles"], json!(["admin", "member"]));
}

fn instant(value: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap()
}

fn tokens_live_as_long_as_the_contract_says(backend: Backend) {
    let app = TestApp::start(backend);
    let session = app.admin_token();
    let created = app.call(
        Method::POST,
        "/api/v1/me/tokens",
        Some(&session),
        Some(&json!({"name": "ci", "expires_in_days": 30})),
    );
    let api_token = json_of(created)["token"].as_str().unwrap().to_owned();
    let listed = json_of(app.call(Method::GET, "/api/v1/me/tokens", Some(&session), None));
    for (item, lifetime) in listed["items"].as_array().unwrap().iter().zip([24, 30 * 24]) {
        let life = instant(&item["expires_at"]) - instant(&item["created_at"]);
        let hours = life.num_minutes() as f64 / 60.0;
        assert!(
            (hours - f64::from(lifetime)).abs() < 0.1,
            "{item}: {hours} h, expected {lifetime} h"
        );
    }
    let forever = app.call(
        Method::POST,
        "/api/v1/me/tokens",
        Some(&session),
        Some(&json!({"name": "forever"})),
    );
    assert_eq!(json_of(forever)["expires_at"], Value::Null);

    // An expired token is refused on the next request: age it in the database.
    assert_eq!(app.call(Method::GET, "/api/v1/me", Some(&api_token), None).status(), 200);
    app.db.execute(match backend {
        Backend::Sqlite => "UPDATE api_tokens SET expires_at = datetime('now', '-1 minute') WHERE name = 'ci'",
        Backend::Postgres => "UPDATE api_tokens SET expires_at = now() at time zone 'utc' - interval '1 minute' WHERE name = 'ci'",
    });
    assert_problem(
        app.call(Method::GET, "/api/v1/me", Some(&api_token), None),
        401,
        "unauthorized",
    );
    assert_eq!(app.call(Method::GET, "/api/v1/me", Some(&session), None).status(), 200);
}
