//! The storage layer through the operator's eyes: migrations up, down and up again on both
//! backends, the append-only audit log, and refusing unknown database URLs.

use std::process::Output;

use diesel::{RunQueryDsl, connection::SimpleConnection, sql_query, sql_types::BigInt};
use foundation::DbError;

use crate::support::{Backend, TestDb, app::devicehub, on_both_backends};

on_both_backends!(
    migrations_go_up_down_and_up_again,
    audit_log_refuses_update_and_delete,
    server_start_creates_and_migrates_the_database,
);

fn migrate(db: &TestDb, action: &[&str]) -> Output {
    let output = devicehub()
        .arg("migrate")
        .args(action)
        .env("DATABASE_URL", &db.url)
        .output()
        .expect("run devicehub migrate");
    assert!(
        output.status.success(),
        "migrate {action:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Names of the tables of this test's database.
fn tables(db: &TestDb) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let sql = match db.backend {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' \
                            AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_\\_diesel%' ESCAPE '\\' ORDER BY name"
            .to_owned(),
        Backend::Postgres => format!(
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = '{}' \
             AND table_name NOT LIKE '\\_\\_diesel%' ORDER BY table_name",
            db.schema().unwrap()
        ),
    };
    db.connect()
        .read_blocking(|conn| -> Result<Vec<Name>, DbError> { Ok(sql_query(sql).load(conn)?) })
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect()
}

fn migrations_go_up_down_and_up_again(backend: Backend) {
    let db = TestDb::fresh(backend);
    let status = stdout(&migrate(&db, &["status"]));
    assert!(status.contains("pending") && !status.contains("applied "), "{status}");

    let up = stdout(&migrate(&db, &["up"]));
    assert!(up.contains("audit_logs"), "{up}");
    assert!(tables(&db).contains(&"audit_logs".to_owned()));
    let status = stdout(&migrate(&db, &["status"]));
    assert!(!status.contains("pending"), "{status}");

    let down = stdout(&migrate(&db, &["down", "--all"]));
    assert!(down.contains("audit_logs"), "{down}");
    assert_eq!(tables(&db), Vec::<String>::new());
    let status = stdout(&migrate(&db, &["status"]));
    assert!(!status.contains("applied "), "{status}");

    migrate(&db, &["up"]);
    assert!(tables(&db).contains(&"audit_logs".to_owned()));
    let again = stdout(&migrate(&db, &["up"]));
    assert!(again.contains("applied 0 migration"), "{again}");
}

fn audit_log_refuses_update_and_delete(backend: Backend) {
    let db = TestDb::fresh(backend);
    migrate(&db, &["up"]);
    let handle = db.connect();
    handle
        .read_blocking(|conn| -> Result<(), DbError> {
            conn.batch_execute(
                "INSERT INTO audit_logs (occurred_at, event_type, description, details) \
                 VALUES ('2026-11-23 09:41:07.12', 'USER_CREATED', 'test row', '{}')",
            )?;
            Ok(())
        })
        .unwrap();
    for statement in ["UPDATE audit_logs SET description = 'rewritten'", "DELETE FROM audit_logs"] {
        let refused = handle.read_blocking(|conn| -> Result<(), DbError> {
            conn.batch_execute(statement)?;
            Ok(())
        });
        let err = refused.expect_err(statement).to_string();
        assert!(err.contains("append-only"), "{statement}: {err}");
    }
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let rows = handle
        .read_blocking(|conn| -> Result<Vec<Count>, DbError> {
            Ok(sql_query("SELECT COUNT(*) AS n FROM audit_logs WHERE description = 'test row'")
                .load(conn)?)
        })
        .unwrap();
    assert_eq!(rows[0].n, 1, "the row survived unchanged");
}

fn server_start_creates_and_migrates_the_database(backend: Backend) {
    let app = crate::support::TestApp::start(backend);
    if let Some(path) = app.db.url.strip_prefix("sqlite://") {
        assert!(std::path::Path::new(path).is_file(), "{path} was not created");
    }
    assert!(tables(&app.db).contains(&"audit_logs".to_owned()));
}

#[test]
fn unknown_database_scheme_is_refused_at_start() {
    for url in ["mysql://root:hunter2@localhost/devicehub", "devicehub.db"] {
        let output = devicehub()
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("DEVICEHUB_BIND", "127.0.0.1:0")
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("unsupported DATABASE_URL scheme"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}
