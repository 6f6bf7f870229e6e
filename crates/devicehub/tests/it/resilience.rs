//! Crashes: `kill -9` of the server, again and again, in the middle of claims, transfers and
//! link removals. Every write a client saw acknowledged (2xx) must be in the database (its
//! audit row, found by the request id the client sent), the invariants must hold, and SQLite's
//! `PRAGMA integrity_check` must answer `ok` after every kill.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

use diesel::{RunQueryDsl, sql_query, sql_types::Text};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{
    Backend, Person, TestApp, TestDb,
    devices::{BLUEPRINT, blueprint},
    invariants::assert_invariants,
    on_both_backends,
};

/// Kills per backend (`CHAOS_KILLS` for the long version).
fn kills() -> usize {
    std::env::var("CHAOS_KILLS").ok().and_then(|n| n.parse().ok()).unwrap_or(20)
}
const CLIENTS: usize = 3;

on_both_backends!(kill_nine_storms_lose_no_acknowledged_write);

fn integrity_check(db: &TestDb) -> String {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        integrity_check: String,
    }
    db.connect()
        .read_blocking(|conn| -> Result<Vec<Row>, foundation::DbError> {
            Ok(sql_query("PRAGMA integrity_check").load(conn)?)
        })
        .unwrap()
        .into_iter()
        .map(|r| r.integrity_check)
        .collect::<Vec<_>>()
        .join(",")
}

/// One client's work until `stop`: claim new serials, transfer a device it owns to the next
/// client, leave a device it owns. Acknowledged writes go into `acked` by request id.
fn client(
    app: &TestApp,
    me: &Person,
    next: &Person,
    round: usize,
    stop: &AtomicBool,
    acked: &Mutex<Vec<String>>,
) {
    let mut owned: Vec<i64> = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let id = format!("crash-{round}-{}-{n}", me.name);
        let (method, path, body, ok) = match (n % 3, owned.last()) {
            (1, Some(device)) => (
                Method::POST,
                format!("/api/v1/devices/{device}/transfer"),
                Some(json!({"to_user_id": next.id})),
                200,
            ),
            (2, Some(device)) => {
                (Method::DELETE, format!("/api/v1/devices/{device}/access/{}", me.id), None, 204)
            }
            _ => (
                Method::POST,
                "/api/v1/devices/claim".to_owned(),
                Some(json!({"cpu_serial": id, "hardware_blueprint_version": BLUEPRINT})),
                201,
            ),
        };
        let mut request =
            app.request(method, &path).bearer_auth(&me.token).header("x-request-id", &id);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let Ok(response) = request.send() else { return }; // the server was killed
        if response.status().as_u16() != ok {
            continue;
        }
        acked.lock().unwrap().push(id);
        if ok == 201 {
            if let Ok(body) = response.json::<Value>() {
                owned.extend(body["device"]["id"].as_i64());
            }
        } else {
            owned.pop();
        }
    }
}

fn kill_nine_storms_lose_no_acknowledged_write(backend: Backend) {
    let db = TestDb::fresh(backend);
    let first = TestApp::start_with(db.shared(), &[]);
    let admin = first.admin_token();
    blueprint(&first, &admin, BLUEPRINT);
    let people: Vec<Person> =
        (0..CLIENTS).map(|i| first.user(&admin, &format!("crasher{i}"))).collect();
    drop(first);
    let acked = Mutex::new(Vec::new());
    let kills = kills();
    for round in 0..kills {
        let mut app = TestApp::start_with(db.shared(), &[]);
        let stop = AtomicBool::new(false);
        thread::scope(|s| {
            for (i, me) in people.iter().enumerate() {
                let (app, stop, acked, next) = (&app, &stop, &acked, &people[(i + 1) % CLIENTS]);
                s.spawn(move || client(app, me, next, round, stop, acked));
            }
            thread::sleep(Duration::from_millis(150 + 37 * (round as u64 % 5)));
            app.signal("KILL");
            stop.store(true, Ordering::Relaxed);
        });
        let _ = app.wait_exit(Duration::from_secs(5));
        if backend == Backend::Sqlite {
            assert_eq!(integrity_check(&db), "ok", "after kill {round}");
        }
    }
    let acked = acked.into_inner().unwrap();
    assert!(acked.len() > kills, "the storm acknowledged only {} writes", acked.len());
    eprintln!(
        "kill -9 storm on {backend:?}: {kills} kills, {} acknowledged writes, all kept",
        acked.len()
    );
    let ids = acked.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
    let recorded = db.count(&format!(
        "SELECT COUNT(DISTINCT request_id) AS n FROM audit_logs WHERE request_id IN ({ids}) \
         AND event_type IN ('DEVICE_PROVISIONED', 'DEVICE_OWNERSHIP_TRANSFERRED', 'DEVICE_UNLINKED')"
    ));
    assert_eq!(recorded, acked.len() as i64, "every acknowledged write is in the database");
    assert_invariants(&db);
}

/// PostgreSQL goes away under load (every connection cut, new ones refused, through a proxy
/// in front of it) and comes back: meanwhile requests answer 503 `unavailable` (none hangs,
/// none is a 500), `/readyz` is 503; afterwards the same process serves again, and every write
/// acknowledged before, during or after the outage is in the database.
#[test]
fn postgres_outage_under_load_answers_503_and_recovers() {
    let db = TestDb::fresh(Backend::Postgres);
    let (upstream, _) = crate::support::database::reroute(&db.url, "127.0.0.1:1".parse().unwrap());
    let proxy = crate::support::proxy::Proxy::start(upstream);
    let (_, through_proxy) = crate::support::database::reroute(&db.url, proxy.addr);
    let app = TestApp::start_on_url(
        db,
        Some(&through_proxy),
        &[("DEVICEHUB_DB_ACQUIRE_TIMEOUT_MS", "1000")],
    );
    let admin = app.admin_token();
    blueprint(&app, &admin, BLUEPRINT);
    let people: Vec<Person> =
        (0..CLIENTS).map(|i| app.user(&admin, &format!("outage{i}"))).collect();

    let stop = AtomicBool::new(false);
    let acked = Mutex::new(Vec::new());
    let statuses = Mutex::new(Vec::new());
    thread::scope(|s| {
        for (i, me) in people.iter().enumerate() {
            let (app, stop, acked, statuses) = (&app, &stop, &acked, &statuses);
            s.spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let id = format!("outage-{i}-{n}");
                    let body = json!({"cpu_serial": id, "hardware_blueprint_version": BLUEPRINT});
                    let started = std::time::Instant::now();
                    let response = app
                        .request(Method::POST, "/api/v1/devices/claim")
                        .bearer_auth(&me.token)
                        .header("x-request-id", &id)
                        .json(&body)
                        .send()
                        .expect("every request is answered, none hangs");
                    let status = response.status().as_u16();
                    if status == 201 {
                        acked.lock().unwrap().push(id);
                    }
                    statuses.lock().unwrap().push((status, started.elapsed()));
                }
            });
        }
        thread::sleep(Duration::from_millis(500));
        proxy.cut();
        thread::sleep(Duration::from_secs(3));
        let ready = app.get("/readyz").send().unwrap();
        assert_eq!(ready.status(), 503, "readyz during the outage");
        proxy.restore();
        thread::sleep(Duration::from_secs(3));
        stop.store(true, Ordering::Relaxed);
    });
    let timed = statuses.into_inner().unwrap();
    let slowest = timed.iter().filter(|(s, _)| *s == 503).map(|(_, t)| *t).max();
    eprintln!("outage: {} requests, slowest 503 answered in {slowest:?}", timed.len());
    let statuses: Vec<u16> = timed.iter().map(|(s, _)| *s).collect();
    assert!(statuses.iter().all(|s| [201, 503].contains(s)), "statuses: {:?}", distinct(&statuses));
    let last_unavailable = statuses.iter().rposition(|s| *s == 503).expect("the outage was seen");
    assert!(statuses[last_unavailable..].contains(&201), "claims succeed again after the outage");
    assert_eq!(app.get("/readyz").send().unwrap().status(), 200);
    let token = app.admin_token();
    assert_eq!(app.call(Method::GET, "/api/v1/me", Some(&token), None).status(), 200);
    let acked = acked.into_inner().unwrap();
    let ids = acked.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
    let recorded = app.db.count(&format!(
        "SELECT COUNT(DISTINCT request_id) AS n FROM audit_logs WHERE request_id IN ({ids}) AND event_type = 'DEVICE_PROVISIONED'"
    ));
    assert_eq!(recorded, acked.len() as i64);
    assert_invariants(&app.db);
}

fn distinct(statuses: &[u16]) -> Vec<u16> {
    let mut seen: Vec<u16> = statuses.to_vec();
    seen.sort_unstable();
    seen.dedup();
    seen
}

/// SIGTERM under load: every request the server took is answered and committed, none is
/// processed without an answer, and the server exits 0.
#[test]
fn sigterm_under_load_answers_every_request_in_flight() {
    let mut app = TestApp::start_with(
        TestDb::fresh(Backend::Sqlite),
        &[("DEVICEHUB_SHUTDOWN_TIMEOUT_SECS", "20")],
    );
    let admin = app.admin_token();
    blueprint(&app, &admin, BLUEPRINT);
    let people: Vec<Person> = (0..4).map(|i| app.user(&admin, &format!("drain{i}"))).collect();
    let sent = Mutex::new(Vec::new());
    let refused = Mutex::new(Vec::new());
    thread::scope(|s| {
        for (i, me) in people.iter().enumerate() {
            let (app, sent, refused) = (&app, &sent, &refused);
            s.spawn(move || {
                for n in 0.. {
                    let id = format!("drain-{i}-{n}");
                    let body = json!({"cpu_serial": id, "hardware_blueprint_version": BLUEPRINT});
                    let request = app
                        .request(Method::POST, "/api/v1/devices/claim")
                        .bearer_auth(&me.token)
                        .json(&body);
                    match request.send() {
                        Ok(response) => sent.lock().unwrap().push((id, response.status().as_u16())),
                        // Refused once shutdown began (a new connection, or a kept-alive one the
                        // server closed): checked below to have done nothing.
                        Err(_) => {
                            refused.lock().unwrap().push(id);
                            return;
                        }
                    }
                }
            });
        }
        thread::sleep(Duration::from_millis(400));
        app.signal("TERM");
    });
    let status = app.wait_exit(Duration::from_secs(20)).expect("the server exits after draining");
    assert!(status.success(), "{status:?}");
    let sent = sent.into_inner().unwrap();
    assert!(sent.len() > 4, "load was running: {} requests", sent.len());
    assert!(sent.iter().all(|(_, status)| *status == 201), "every answered claim succeeded");
    let ids = sent.iter().map(|(id, _)| format!("'{id}'")).collect::<Vec<_>>().join(",");
    let stored =
        app.db.count(&format!("SELECT COUNT(*) AS n FROM devices WHERE cpu_serial IN ({ids})"));
    assert_eq!(stored, sent.len() as i64);
}
