//! Resilience under load, each scenario bounded in time and on loopback only.
//!
//! - Crashes: `kill -9` of the server, again and again, in the middle of claims, transfers and
//!   link removals. Every write a client saw acknowledged (2xx) must be in the database (its
//!   audit row, found by the request id the client sent), the invariants must hold, and
//!   SQLite's `PRAGMA integrity_check` must answer `ok` after every kill.
//! - Database outages: a real PostgreSQL server stopped and started, and the network to one cut
//!   and restored; 503 `unavailable` meanwhile, recovery in the same process, nothing lost.
//!   A connection cut while idle fails one request only.
//! - SIGTERM under load: every request taken is answered and committed.
//!
//! `cargo xtask chaos [--long]` runs them (with the multi-process races of `concurrency.rs`);
//! the long version raises the `CHAOS_*` knobs read here.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use diesel::{RunQueryDsl, sql_query, sql_types::Text};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{
    Backend, Person, TestApp, TestDb,
    cluster::Cluster,
    devices::{BLUEPRINT, blueprint, claim, claim_request, device_call},
    invariants::assert_invariants,
    knob, on_both_backends,
    proxy::{Proxy, app_behind_proxy},
};

/// Kills per backend (`CHAOS_KILLS` for the long version).
fn kills() -> usize {
    knob("CHAOS_KILLS", 20)
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

/// How many times the outage tests take the database away (`CHAOS_OUTAGES`), and for how long.
fn outages() -> usize {
    knob("CHAOS_OUTAGES", 1)
}
const OUTAGE: Duration = Duration::from_secs(3);
/// The contract: while the database is down, a request is answered 503 within this…
const ANSWER_BOUND: Duration = Duration::from_secs(2);
/// …and once it is back, the same process serves again within this.
const RECOVERY_BOUND: Duration = Duration::from_secs(5);

/// A real PostgreSQL server, the test's own cluster, stopped (`pg_ctl stop -m fast`: sessions
/// ended by the server, new connections refused) under load and started again.
#[test]
fn postgres_stopped_under_load_answers_503_and_recovers() {
    let Some(cluster) = Cluster::start_or_skip("postgres_stopped_under_load") else { return };
    let mut app = TestApp::start_with(cluster.db(), &[]);
    outage_under_load(&mut app, "server stopped", || cluster.stop(), || cluster.start());
}

/// The network to PostgreSQL cut (through a proxy in front of the shared server): sessions
/// die without a word from the server, and new connections are accepted, then closed.
#[test]
fn postgres_cut_off_under_load_answers_503_and_recovers() {
    let (proxy, mut app) = app_behind_proxy(&[]);
    outage_under_load(&mut app, "network cut", || proxy.cut(), || proxy.restore());
}

/// A pooled connection whose network was cut while it sat idle fails the one request that
/// finds it, and is replaced: the next request is served. The server has one connection, so
/// every request finds the dead one until it is dropped. First for a statement the connection
/// has never prepared (the token check right after login: diesel does not notice the lost
/// connection there by itself), then for a device read, a claim and `/readyz`, each on a
/// connection that has already answered a token check.
#[test]
fn postgres_connection_cut_while_idle_fails_one_request_only() {
    let (proxy, app) = app_behind_proxy(&[("DEVICEHUB_DB_MAX_CONNECTIONS", "1")]);
    let admin = app.admin_token();
    let blueprints = || app.call(Method::GET, "/api/v1/hardware-blueprints", Some(&admin), None);
    fails_once_after_idle_cut(&proxy, "first token check", 200, blueprints);
    blueprint(&app, &admin, BLUEPRINT);
    let me = app.user(&admin, "idle-cut");
    let (id, _) = claim(&app, &me, "personal", "idle-cut-0");
    let path = format!("/api/v1/devices/{id}");
    let read = || device_call(&app, &me, "personal", Method::GET, &path, None);
    assert_eq!(read().status(), 200);
    fails_once_after_idle_cut(&proxy, "device read", 200, read);
    let mut serial = 0;
    fails_once_after_idle_cut(&proxy, "claim", 201, || {
        serial += 1;
        claim_request(&app, &me, "personal", &format!("idle-cut-{serial}"))
    });
    fails_once_after_idle_cut(&proxy, "readyz", 200, || app.get("/readyz").send().unwrap());
}

/// Cuts the network and restores it at once, then `call`s: the first answer is 503
/// `unavailable`, the three after it `ok`.
fn fails_once_after_idle_cut(
    proxy: &Proxy,
    what: &str,
    ok: u16,
    mut call: impl FnMut() -> reqwest::blocking::Response,
) {
    proxy.cut();
    proxy.restore();
    let first = call();
    let first = (first.status().as_u16(), problem_code(first));
    assert_eq!(
        first,
        (503, Some("unavailable".to_owned())),
        "{what}: the request on the dead connection"
    );
    let next: Vec<u16> = (0..3).map(|_| call().status().as_u16()).collect();
    assert_eq!(next, [ok; 3], "{what}: the requests after it");
}

/// One claim as a client saw it.
struct Answer {
    id: String,
    status: u16,
    code: Option<String>,
    sent: Instant,
    answered: Instant,
}

/// What the test saw of one outage.
struct Outage {
    /// From the moment the database was down to the moment it was being brought back.
    down: (Instant, Instant),
    /// When bringing it back returned (`pg_ctl start -w`: the server accepts connections).
    back: Instant,
    /// `/readyz` in the middle of the outage: status, code, time to answer.
    readyz: (u16, Option<String>, Duration),
}

/// Sets the flag when dropped, so the load stops even when the test panics mid-outage.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The `code` of a problem+json answer.
fn problem_code(response: reqwest::blocking::Response) -> Option<String> {
    if response.headers().get("content-type")? != "application/problem+json" {
        return None;
    }
    Some(response.json::<Value>().ok()?["code"].as_str()?.to_owned())
}

/// Three clients claim devices while `take_down` and `bring_back` break the database
/// `outages()` times. During each outage every request is answered 503 `unavailable` within
/// [`ANSWER_BOUND`] (none hangs, none is a 500) and `/readyz` is 503; once the database is back
/// the same process answers 201 again within [`RECOVERY_BOUND`]; every claim acknowledged
/// before, during or after is in the database.
fn outage_under_load(app: &mut TestApp, how: &str, take_down: impl Fn(), bring_back: impl Fn()) {
    let admin = app.admin_token();
    blueprint(app, &admin, BLUEPRINT);
    let people: Vec<Person> =
        (0..CLIENTS).map(|i| app.user(&admin, &format!("outage{i}"))).collect();
    let stop = AtomicBool::new(false);
    let answers = Mutex::new(Vec::<Answer>::new());
    let mut seen = Vec::<Outage>::new();
    let server = &*app;
    thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        for (i, me) in people.iter().enumerate() {
            let (stop, answers) = (&stop, &answers);
            s.spawn(move || {
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let id = format!("outage-{i}-{n}");
                    let body = json!({"cpu_serial": id, "hardware_blueprint_version": BLUEPRINT});
                    let sent = Instant::now();
                    let response = server
                        .request(Method::POST, "/api/v1/devices/claim")
                        .bearer_auth(&me.token)
                        .header("x-request-id", &id)
                        .json(&body)
                        .send()
                        .expect("every request is answered, none hangs");
                    let answered = Instant::now();
                    let status = response.status().as_u16();
                    let code = problem_code(response);
                    answers.lock().unwrap().push(Answer { id, status, code, sent, answered });
                }
            });
        }
        for _ in 0..outages() {
            thread::sleep(Duration::from_millis(500));
            take_down();
            let down = Instant::now();
            thread::sleep(OUTAGE / 2);
            let asked = Instant::now();
            let ready = server.get("/readyz").send().expect("readyz answers");
            let readyz = (ready.status().as_u16(), problem_code(ready), asked.elapsed());
            thread::sleep(OUTAGE / 2);
            let up = Instant::now();
            bring_back();
            let back = Instant::now();
            seen.push(Outage { down: (down, up), back, readyz });
            // Load goes on until a claim succeeds again (or the bound has passed), then a little
            // longer, so the next outage starts from a serving process.
            while Instant::now() < back + RECOVERY_BOUND
                && !answers.lock().unwrap().iter().any(|a| a.status == 201 && a.answered >= back)
            {
                thread::sleep(Duration::from_millis(20));
            }
            thread::sleep(Duration::from_millis(500));
        }
    });
    let answers = answers.into_inner().unwrap();
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert!(statuses.iter().all(|s| [201, 503].contains(s)), "statuses: {:?}", distinct(&statuses));
    let unavailable: Vec<&Answer> = answers.iter().filter(|a| a.status == 503).collect();
    for a in &unavailable {
        assert_eq!(a.code.as_deref(), Some("unavailable"), "503 of {}", a.id);
        let took = a.answered - a.sent;
        assert!(took <= ANSWER_BOUND, "{}: 503 after {took:?}", a.id);
    }
    for (n, outage) in seen.iter().enumerate() {
        let (from, until) = outage.down;
        let inside: Vec<&Answer> =
            answers.iter().filter(|a| a.sent >= from && a.answered <= until).collect();
        assert!(!inside.is_empty(), "outage {n}: no request was answered while it lasted");
        for a in &inside {
            assert_eq!(a.status, 503, "{} was sent and answered during outage {n}", a.id);
        }
        let (status, code, took) = &outage.readyz;
        assert_eq!((*status, code.as_deref()), (503, Some("unavailable")), "readyz, outage {n}");
        assert!(*took <= ANSWER_BOUND, "readyz answered after {took:?} in outage {n}");
        let recovered = answers
            .iter()
            .filter(|a| a.status == 201 && a.answered >= outage.back)
            .map(|a| a.answered - outage.back)
            .min()
            .unwrap_or_else(|| panic!("outage {n}: no claim succeeded after it"));
        assert!(recovered <= RECOVERY_BOUND, "outage {n}: serving again only after {recovered:?}");
        eprintln!(
            "{how}, outage {n}: {} answered inside it, all 503; readyz 503 in {took:?}; brought \
             back in {:?}, after which claims succeed again in {recovered:?}",
            inside.len(),
            outage.back - until
        );
    }
    let slowest = unavailable.iter().map(|a| a.answered - a.sent).max();
    let acked: Vec<&str> =
        answers.iter().filter(|a| a.status == 201).map(|a| a.id.as_str()).collect();
    eprintln!(
        "{how}: {} outages, {} requests, {} answered 503 (slowest in {slowest:?}), {} claims \
         acknowledged, all kept",
        seen.len(),
        answers.len(),
        unavailable.len(),
        acked.len()
    );
    assert!(app.is_running(), "the server process is still the one that started");
    assert!(!app.logs().iter().any(|l| l.contains("panicked")), "no panic in the server");
    assert_eq!(app.get("/readyz").send().unwrap().status(), 200);
    let ids = acked.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
    let recorded = app.db.count(&format!(
        "SELECT COUNT(DISTINCT request_id) AS n FROM audit_logs WHERE request_id IN ({ids}) AND event_type = 'DEVICE_PROVISIONED'"
    ));
    assert_eq!(recorded, acked.len() as i64, "every acknowledged claim is in the database");
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
