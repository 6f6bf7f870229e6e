//! `devicehub devices import`: a generated 10,000-row factory file with one bad row in the
//! middle, stopped and resumed.

use std::{fmt::Write as _, fs, process::Output};

use crate::support::{
    Backend, TestApp,
    app::devicehub,
    devices::{BLUEPRINT, blueprint},
    on_both_backends,
};

on_both_backends!(import_stops_at_a_bad_row_and_resumes);

const ROWS: usize = 10_000;
const BAD_ROW: usize = 5_000;

fn factory_file(bad: bool) -> String {
    let mut csv = String::from("cpu_serial,hardware_blueprint_version,claim_code\n");
    for i in 0..ROWS {
        let serial =
            if bad && i == BAD_ROW { "BAD SERIAL".to_owned() } else { format!("FAC-{i:05}") };
        let code = if i % 2 == 0 { format!("LABEL-{i:05}") } else { String::new() };
        writeln!(csv, "{serial},{BLUEPRINT},{code}").unwrap();
    }
    csv
}

fn import(app: &TestApp, path: &std::path::Path, extra: &[&str]) -> Output {
    devicehub()
        .args(["devices", "import", "--file"])
        .arg(path)
        .args(extra)
        .env("DATABASE_URL", &app.db.url)
        .output()
        .unwrap()
}

fn import_stops_at_a_bad_row_and_resumes(backend: Backend) {
    let app = TestApp::start(backend);
    blueprint(&app, &app.admin_token(), BLUEPRINT);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("factory.csv");
    fs::write(&path, factory_file(true)).unwrap();

    let stopped = import(&app, &path, &[]);
    assert!(!stopped.status.success());
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    // The bad row is data row 5000 (from 0), so line 5002 counting the header.
    assert!(stderr.contains(&format!("line {}", BAD_ROW + 2)), "{stderr}");
    assert!(stderr.contains(&format!("{BAD_ROW} data rows are committed")), "{stderr}");
    assert!(stderr.contains(&format!("--skip {BAD_ROW}")), "{stderr}");
    let devices = || app.db.count("SELECT COUNT(*) AS n FROM devices");
    assert_eq!(devices(), BAD_ROW as i64);
    assert!(
        String::from_utf8_lossy(&stopped.stdout).contains("rows"),
        "plain progress lines off a terminal"
    );

    fs::write(&path, factory_file(false)).unwrap();
    let resumed = import(&app, &path, &["--skip", &BAD_ROW.to_string()]);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    assert_eq!(devices(), ROWS as i64);
    assert_eq!(
        app.db.count("SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'DEVICE_REGISTERED'"),
        ROWS as i64
    );
    assert_eq!(
        app.db.count("SELECT COUNT(*) AS n FROM devices WHERE claim_code_hash IS NOT NULL"),
        (ROWS / 2) as i64
    );

    // A plain re-run skips what is there: no duplicates, nothing new.
    let again = import(&app, &path, &[]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains(&format!("{ROWS} already present")));
    assert_eq!(devices(), ROWS as i64);

    let header = dir.path().join("wrong.csv");
    fs::write(&header, "serial,version\nX,Y\n").unwrap();
    let refused = import(&app, &header, &[]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("header"));
}
