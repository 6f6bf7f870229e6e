//! Races settled by the database, on both backends: many claims of one serial, owners leaving
//! at once; and a claim whose last step fails leaving nothing behind.

use std::{sync::Barrier, thread};

use reqwest::Method;
use serde_json::json;

use crate::{
    server::assert_problem,
    support::{
        Backend, Person, TestApp,
        devices::{BLUEPRINT, blueprint, claim, claim_request, device_call},
        invariants::assert_invariants,
        knob, on_both_backends,
    },
};

on_both_backends!(
    fifty_concurrent_claims_of_one_serial_end_with_one_owner,
    owners_leaving_at_once_reset_the_device_once,
    a_claim_whose_last_step_fails_leaves_nothing,
    transfers_grants_and_revokes_racing_keep_every_invariant,
);

/// Scale-out: the races below spread over three server processes on one PostgreSQL, for
/// `CHAOS_ROUNDS` rounds each (5 by default).
#[test]
fn races_spread_over_three_processes_on_one_postgres_have_one_winner() {
    let first = TestApp::start(Backend::Postgres);
    let others: Vec<TestApp> =
        (0..2).map(|_| TestApp::start_with(first.db.shared(), &[])).collect();
    let apps: Vec<&TestApp> = std::iter::once(&first).chain(others.iter()).collect();
    let admin = first.admin_token();
    blueprint(&first, &admin, BLUEPRINT);
    let claimers = users(&first, &admin, "claimer", CLAIMERS);
    let rounds = knob("CHAOS_ROUNDS", 5);
    for round in 0..rounds {
        let serial = format!("MULTI-{round}");
        let barrier = Barrier::new(CLAIMERS);
        let statuses: Vec<u16> = thread::scope(|s| {
            let handles: Vec<_> = claimers
                .iter()
                .enumerate()
                .map(|(i, who)| {
                    let (barrier, serial, app) = (&barrier, &serial, apps[i % apps.len()]);
                    s.spawn(move || {
                        barrier.wait();
                        claim_request(app, who, "personal", serial).status().as_u16()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let created = statuses.iter().filter(|s| **s == 201).count();
        let refused = statuses.iter().filter(|s| **s == 409).count();
        assert_eq!((created, refused), (1, CLAIMERS - 1), "round {round}: {statuses:?}");
        assert_eq!(
            first
                .db
                .count(&format!("SELECT COUNT(*) AS n FROM devices WHERE cpu_serial = '{serial}'")),
            1
        );
    }
    // The last-owner race, each owner leaving through a different process: one reset.
    let owners = &claimers[..apps.len()];
    for round in 0..rounds {
        let (id, _) = claim(&first, &owners[0], "personal", &format!("MULTI-LEAVE-{round}"));
        for other in &owners[1..] {
            let path = format!("/api/v1/devices/{id}/access/{}", other.id);
            let body = json!({"role": "owner"});
            let response =
                device_call(&first, &owners[0], "personal", Method::PUT, &path, Some(&body));
            assert_eq!(response.status(), 204);
        }
        let calls: Vec<Box<dyn FnOnce() -> u16 + Send + '_>> = owners
            .iter()
            .zip(apps.iter().copied())
            .map(|(who, app)| {
                Box::new(move || {
                    let path = format!("/api/v1/devices/{id}/access/{}", who.id);
                    device_call(app, who, "personal", Method::DELETE, &path, None).status().as_u16()
                }) as Box<dyn FnOnce() -> u16 + Send + '_>
            })
            .collect();
        let statuses = at_once(calls);
        assert_eq!(statuses, vec![204; owners.len()], "round {round}");
        let resets = first.db.count(&format!(
            "SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'DEVICE_RESET' AND target_device_id = {id}"
        ));
        assert_eq!(resets, 1, "round {round}");
    }
    assert_invariants(&first.db);
    drop(others);
}

const CLAIMERS: usize = 50;
const ROUNDS: usize = 20;

/// `count` users, created in parallel.
fn users(app: &TestApp, admin: &str, prefix: &str, count: usize) -> Vec<Person> {
    thread::scope(|s| {
        let handles: Vec<_> =
            (0..count).map(|i| s.spawn(move || app.user(admin, &format!("{prefix}{i}")))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn fifty_concurrent_claims_of_one_serial_end_with_one_owner(backend: Backend) {
    let app = TestApp::start(backend);
    let admin = app.admin_token();
    blueprint(&app, &admin, BLUEPRINT);
    let claimers = users(&app, &admin, "claimer", CLAIMERS);
    for round in 0..ROUNDS {
        let serial = format!("RACE-{round}");
        let barrier = Barrier::new(CLAIMERS);
        let statuses: Vec<u16> = thread::scope(|s| {
            let handles: Vec<_> = claimers
                .iter()
                .map(|who| {
                    let (barrier, serial, app) = (&barrier, &serial, &app);
                    s.spawn(move || {
                        barrier.wait();
                        claim_request(app, who, "personal", serial).status().as_u16()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let created = statuses.iter().filter(|s| **s == 201).count();
        let refused = statuses.iter().filter(|s| **s == 409).count();
        assert_eq!((created, refused), (1, CLAIMERS - 1), "round {round}: {statuses:?}");
        let device = format!("(SELECT id FROM devices WHERE cpu_serial = '{serial}')");
        assert_eq!(
            app.db
                .count(&format!("SELECT COUNT(*) AS n FROM devices WHERE cpu_serial = '{serial}'")),
            1
        );
        assert_eq!(
            app.db.count(&format!(
                "SELECT COUNT(*) AS n FROM user_devices WHERE device_id = {device}"
            )),
            1
        );
        assert_eq!(
            app.db.count(&format!(
                "SELECT COUNT(*) AS n FROM user_devices WHERE device_id = {device} AND role = 'owner'"
            )),
            1
        );
        assert_eq!(
            app.db.count(&format!(
                "SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'DEVICE_PROVISIONED' AND target_device_id = {device}"
            )),
            1,
            "round {round}"
        );
    }
    assert_invariants(&app.db);
}

fn owners_leaving_at_once_reset_the_device_once(backend: Backend) {
    let app = TestApp::start(backend);
    let admin = app.admin_token();
    blueprint(&app, &admin, BLUEPRINT);
    let owners = users(&app, &admin, "co", 4);
    for round in 0..10 {
        let (id, _) = claim(&app, &owners[0], "personal", &format!("LEAVE-{round}"));
        for other in &owners[1..] {
            let path = format!("/api/v1/devices/{id}/access/{}", other.id);
            let response = device_call(
                &app,
                &owners[0],
                "personal",
                Method::PUT,
                &path,
                Some(&json!({"role": "owner"})),
            );
            assert_eq!(response.status(), 204);
        }
        let barrier = Barrier::new(owners.len());
        let statuses: Vec<u16> = thread::scope(|s| {
            let handles: Vec<_> = owners
                .iter()
                .map(|who| {
                    let (barrier, app) = (&barrier, &app);
                    s.spawn(move || {
                        barrier.wait();
                        let path = format!("/api/v1/devices/{id}/access/{}", who.id);
                        device_call(app, who, "personal", Method::DELETE, &path, None)
                            .status()
                            .as_u16()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(statuses.iter().all(|s| *s == 204), "round {round}: {statuses:?}");
        let resets = app.db.count(&format!(
            "SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'DEVICE_RESET' AND target_device_id = {id}"
        ));
        assert_eq!(resets, 1, "round {round}");
        assert_eq!(
            app.db.count(&format!(
                "SELECT COUNT(*) AS n FROM devices WHERE id = {id} AND status = 'unclaimed'"
            )),
            1
        );
        assert_eq!(
            app.db.count(&format!("SELECT COUNT(*) AS n FROM user_devices WHERE device_id = {id}")),
            0
        );
    }
    assert_invariants(&app.db);
}

/// Makes every `DEVICE_PROVISIONED` insert fail: the claim's last step.
fn break_the_last_claim_step(app: &TestApp, backend: Backend) {
    let sql = match backend {
        Backend::Sqlite => {
            "CREATE TRIGGER fail_provisioned BEFORE INSERT ON audit_logs \
             WHEN NEW.event_type = 'DEVICE_PROVISIONED' \
             BEGIN SELECT RAISE(ABORT, 'forced failure'); END;"
        }
        Backend::Postgres => {
            "CREATE FUNCTION fail_provisioned() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.event_type = 'DEVICE_PROVISIONED' THEN RAISE EXCEPTION 'forced failure'; END IF; \
             RETURN NEW; END $$; \
             CREATE TRIGGER fail_provisioned BEFORE INSERT ON audit_logs \
             FOR EACH ROW EXECUTE FUNCTION fail_provisioned();"
        }
    };
    app.db.execute(sql);
}

fn a_claim_whose_last_step_fails_leaves_nothing(backend: Backend) {
    let app = TestApp::start(backend);
    let admin = app.admin_token();
    blueprint(&app, &admin, BLUEPRINT);
    let people = users(&app, &admin, "person", 2);
    // A device that was claimed and reset, to fail the "take the unclaimed device" path too.
    let (reset_id, _) = claim(&app, &people[0], "personal", "FAIL-OLD");
    let leave = format!("/api/v1/devices/{reset_id}/access/{}", people[0].id);
    assert_eq!(
        device_call(&app, &people[0], "personal", Method::DELETE, &leave, None).status(),
        204
    );
    let provisioned_before = app
        .db
        .count("SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'DEVICE_PROVISIONED'");

    break_the_last_claim_step(&app, backend);
    let failed = claim_request(&app, &people[1], "personal", "FAIL-NEW");
    let body = assert_problem(failed, 500, "internal");
    assert!(!body.to_string().contains("forced failure"), "no internal detail leaks: {body}");
    assert_problem(claim_request(&app, &people[1], "personal", "FAIL-OLD"), 500, "internal");

    assert_eq!(app.db.count("SELECT COUNT(*) AS n FROM devices WHERE cpu_serial = 'FAIL-NEW'"), 0);
    assert_eq!(
        app.db.count(&format!(
            "SELECT COUNT(*) AS n FROM devices WHERE id = {reset_id} AND status = 'unclaimed'"
        )),
        1
    );
    assert_eq!(app.db.count("SELECT COUNT(*) AS n FROM user_devices"), 0);
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = 'DEVICE_PROVISIONED'"),
        provisioned_before
    );
    assert_invariants(&app.db);
}

/// Runs `calls` at once (after a barrier); returns their statuses in order.
fn at_once(calls: Vec<Box<dyn FnOnce() -> u16 + Send + '_>>) -> Vec<u16> {
    let barrier = Barrier::new(calls.len());
    thread::scope(|s| {
        let handles: Vec<_> = calls
            .into_iter()
            .map(|call| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    call()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn transfers_grants_and_revokes_racing_keep_every_invariant(backend: Backend) {
    let app = TestApp::start(backend);
    let admin = app.admin_token();
    blueprint(&app, &admin, BLUEPRINT);
    let people = users(&app, &admin, "racer", 4);
    let (a, b, c, d) = (&people[0], &people[1], &people[2], &people[3]);
    let call = |who: &Person, method: Method, path: String, body: Option<serde_json::Value>| {
        device_call(&app, who, "personal", method, &path, body.as_ref()).status().as_u16()
    };
    for round in 0..8 {
        let (id, _) = claim(&app, a, "personal", &format!("MIX-{round}"));
        let base = format!("/api/v1/devices/{id}");
        assert_eq!(
            call(a, Method::PUT, format!("{base}/access/{}", b.id), Some(json!({"role": "owner"}))),
            204
        );
        let statuses = at_once(vec![
            // A transfers to C while B transfers to D: one transfer wins, then the other one's
            // caller may no longer be an owner.
            Box::new(|| {
                call(a, Method::POST, format!("{base}/transfer"), Some(json!({"to_user_id": c.id})))
            }),
            Box::new(|| {
                call(b, Method::POST, format!("{base}/transfer"), Some(json!({"to_user_id": d.id})))
            }),
            // Meanwhile B leaves and A grants B viewer.
            Box::new(|| call(b, Method::DELETE, format!("{base}/access/{}", b.id), None)),
            Box::new(|| {
                call(
                    a,
                    Method::PUT,
                    format!("{base}/access/{}", b.id),
                    Some(json!({"role": "viewer"})),
                )
            }),
        ]);
        for status in &statuses {
            assert!([200, 204, 403, 404, 409].contains(status), "round {round}: {statuses:?}");
        }
        assert!(statuses[..2].contains(&200), "round {round}: one transfer succeeds: {statuses:?}");
        let owners = app.db.count(&format!(
            "SELECT COUNT(*) AS n FROM user_devices WHERE device_id = {id} AND role = 'owner'"
        ));
        let active = app.db.count(&format!(
            "SELECT COUNT(*) AS n FROM devices WHERE id = {id} AND status = 'active'"
        ));
        assert_eq!(
            (active, owners),
            (1, 1),
            "round {round}: one owner after the race: {statuses:?}"
        );
        assert_invariants(&app.db);
    }
}
