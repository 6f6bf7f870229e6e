//! The operator's commands: the first administrator and `devicehub admin create-user`.

use std::{io::Write, process::Stdio};

use reqwest::Method;
use serde_json::Value;

use crate::support::{
    Backend, TestApp, TestDb,
    app::{ADMIN_PASSWORD, devicehub},
    on_both_backends,
};

on_both_backends!(
    generated_admin_password_is_printed_once_and_never_logged,
    admin_create_user_command,
    admin_create_blueprint_command,
);

/// The server command with no admin password: one is generated.
fn without_admin_password(db: TestDb) -> TestApp {
    TestApp::start_with(db, &[("DEVICEHUB_ADMIN_PASSWORD", "")])
}

fn generated_admin_password_is_printed_once_and_never_logged(backend: Backend) {
    let db = TestDb::fresh(backend);
    let second_db = db.shared();
    let app = without_admin_password(db);
    app.wait_for_line("It is shown only this once");
    let logs = app.logs();
    let index = logs.iter().position(|l| l.contains("with the password:")).expect("the banner");
    // The banner is on standard error; log lines (standard output) may interleave with it.
    let password = logs[index + 1..]
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty() && !l.starts_with('{'))
        .expect("the password line")
        .to_owned();
    assert_eq!(password.len(), 24, "{password:?}");
    let json_lines: Vec<&String> = logs.iter().filter(|l| l.starts_with('{')).collect();
    assert!(json_lines.iter().all(|l| !l.contains(&password)), "the password reached the log");
    assert!(!json_lines.is_empty());
    let token = app.login("admin", &password);
    let me: Value = app.call(Method::GET, "/api/v1/me", Some(&token), None).json().unwrap();
    assert_eq!(me["global_roles"][0], "admin");
    assert_ne!(password, ADMIN_PASSWORD);

    // A second start on the same database creates nobody and prints nothing.
    let again = without_admin_password(second_db);
    assert!(again.logs().iter().all(|l| !l.contains("with the password:")));
}

fn admin_create_user_command(backend: Backend) {
    let app = TestApp::start(backend);
    let mut child = devicehub()
        .args([
            "admin",
            "create-user",
            "--username",
            "ops",
            "--role",
            "auditor",
            "--password-stdin",
        ])
        .env("DATABASE_URL", &app.db.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"operator-password\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("created user ops"));
    let token = app.login("ops", "operator-password");
    let me: Value = app.call(Method::GET, "/api/v1/me", Some(&token), None).json().unwrap();
    assert_eq!(me["global_roles"], serde_json::json!(["auditor", "member"]));

    let refused = devicehub()
        .args(["admin", "create-user", "--username", "ops2", "--role", "org_admin"])
        .env("DATABASE_URL", &app.db.url)
        .output()
        .unwrap();
    assert!(!refused.status.success());
}

fn admin_create_blueprint_command(backend: Backend) {
    let app = TestApp::start(backend);
    let create = || {
        devicehub()
            .args(["admin", "create-blueprint", "--name", "ESP32", "--version", "esp32-c3-1.0"])
            .env("DATABASE_URL", &app.db.url)
            .output()
            .unwrap()
    };
    let created = create();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let token = app.admin_token();
    let list: Value =
        app.call(Method::GET, "/api/v1/hardware-blueprints", Some(&token), None).json().unwrap();
    assert_eq!(list["items"][0]["version"], "esp32-c3-1.0");
    let again = create();
    assert!(!again.status.success(), "a version that exists is refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
}
