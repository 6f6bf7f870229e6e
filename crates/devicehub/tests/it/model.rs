//! A reference model of the access policy, checked against the running service.
//!
//! `Model` is a plain, obviously-correct restatement of contract §3–§5 for four users, one
//! organization and two serials. proptest generates sequences of operations (claim, grant,
//! revoke, self-removal, transfer, deactivate, reactivate, delete user, remove and add
//! organization members); each is applied to the
//! model and to the server, and after every step the two must agree on the operation's status,
//! on every read decision and every update decision (each user × device × context, the latter
//! through `GET /devices/{id}/access`, whose links must equal the model's), on every listing,
//! and on the audit counts (`DEVICE_PROVISIONED`, `DEVICE_RESET`, `ACCESS_DENIED`).
//!
//! Cases: `MODEL_CASES` (default 100 per backend; the long run is `MODEL_CASES=2000`).

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::atomic::{AtomicUsize, Ordering},
};

use proptest::{
    prelude::*,
    test_runner::{Config, TestCaseError, TestRunner},
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{
    Backend, Person, TestApp,
    devices::{BLUEPRINT, blueprint, device_call},
    invariants::assert_invariants,
    on_both_backends,
};

const USERS: usize = 4;
const SERIALS: usize = 2;
/// User 3 is the organization's `org_admin`, user 2 its `org_viewer`; 0 and 1 are outsiders.
const ORG_ROLES: [Option<OrgRole>; USERS] =
    [None, None, Some(OrgRole::Viewer), Some(OrgRole::Admin)];
/// The user who manages the organization's members in the model's operations.
const ORG_ADMIN: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrgRole {
    Admin,
    Viewer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Owner,
    Viewer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Personal,
    Org,
    Global,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Read,
    Update,
}

#[derive(Debug, Clone)]
enum Op {
    Claim {
        user: usize,
        serial: usize,
        in_org: bool,
    },
    Grant {
        actor: usize,
        serial: usize,
        target: usize,
        owner: bool,
        in_org: bool,
    },
    Revoke {
        actor: usize,
        serial: usize,
        target: usize,
        in_org: bool,
    },
    Transfer {
        actor: usize,
        serial: usize,
        to: usize,
        in_org: bool,
    },
    SetActive {
        user: usize,
        active: bool,
    },
    DeleteUser {
        user: usize,
    },
    /// The organization's admin (user 3) removes `user` from the organization.
    RemoveMember {
        user: usize,
    },
    /// The organization's admin (user 3) makes `user` an `org_viewer`.
    AddViewer {
        user: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let u = 0..USERS;
    let s = 0..SERIALS;
    prop_oneof![
        3 => (u.clone(), s.clone(), any::<bool>()).prop_map(|(user, serial, in_org)| Op::Claim { user, serial, in_org }),
        3 => (u.clone(), s.clone(), u.clone(), any::<bool>(), any::<bool>())
            .prop_map(|(actor, serial, target, owner, in_org)| Op::Grant { actor, serial, target, owner, in_org }),
        2 => (u.clone(), s.clone(), u.clone(), any::<bool>())
            .prop_map(|(actor, serial, target, in_org)| Op::Revoke { actor, serial, target, in_org }),
        2 => (u.clone(), s.clone(), u.clone(), any::<bool>())
            .prop_map(|(actor, serial, to, in_org)| Op::Transfer { actor, serial, to, in_org }),
        1 => (u.clone(), any::<bool>()).prop_map(|(user, active)| Op::SetActive { user, active }),
        1 => u.clone().prop_map(|user| Op::DeleteUser { user }),
        1 => u.clone().prop_map(|user| Op::RemoveMember { user }),
        1 => u.prop_map(|user| Op::AddViewer { user }),
    ]
}

#[derive(Debug, Clone, Default)]
struct Device {
    active: bool,
    in_org: bool,
    links: BTreeMap<usize, Link>,
}

impl Device {
    fn owners(&self) -> usize {
        self.links.values().filter(|l| **l == Link::Owner).count()
    }
}

#[derive(Debug, Clone)]
struct Model {
    active: [bool; USERS],
    deleted: [bool; USERS],
    org_role: [Option<OrgRole>; USERS],
    devices: [Option<Device>; SERIALS],
    provisioned: i64,
    resets: i64,
    denials: i64,
}

impl Model {
    fn new() -> Self {
        Model {
            active: [true; USERS],
            deleted: [false; USERS],
            org_role: ORG_ROLES,
            devices: Default::default(),
            provisioned: 0,
            resets: 0,
            denials: 0,
        }
    }

    fn can_act(&self, user: usize) -> bool {
        self.active[user] && !self.deleted[user]
    }

    /// Contract §4's table.
    fn may(&self, user: usize, device: &Device, action: Action, ctx: Ctx) -> bool {
        match ctx {
            Ctx::Personal => matches!(
                (device.links.get(&user), action),
                (Some(Link::Owner), _) | (Some(Link::Viewer), Action::Read)
            ),
            Ctx::Org => {
                device.in_org
                    && matches!(
                        (self.org_role[user], action),
                        (Some(OrgRole::Admin), _) | (Some(OrgRole::Viewer), Action::Read)
                    )
            }
            Ctx::Global => false, // none of the four holds a global device permission
        }
    }

    /// `device:provision` in the context: every user is a member; in the organization only
    /// its admin (org_viewer lacks it).
    fn may_provision(&self, user: usize, in_org: bool) -> bool {
        !in_org || self.org_role[user] == Some(OrgRole::Admin)
    }

    fn reset_if_ownerless(&mut self, serial: usize) {
        let Some(device) = self.devices[serial].as_mut() else { return };
        if device.active && device.owners() == 0 {
            device.active = false;
            device.links.clear();
            self.resets += 1;
        }
    }

    fn denied(&mut self) -> u16 {
        self.denials += 1;
        403
    }

    /// Applies `op`; returns the status the service must answer (`None`: the op names a device
    /// that was never created, so there is no request to make).
    fn apply(&mut self, op: &Op) -> Option<u16> {
        Some(match *op {
            Op::Claim { user, serial, in_org } => {
                if !self.can_act(user) {
                    return Some(401);
                }
                if !self.may_provision(user, in_org) {
                    return Some(self.denied());
                }
                match self.devices[serial].clone() {
                    None => {
                        let links = BTreeMap::from([(user, Link::Owner)]);
                        self.devices[serial] = Some(Device { active: true, in_org, links });
                        self.provisioned += 1;
                        201
                    }
                    Some(d) if d.active => {
                        if d.links.get(&user) == Some(&Link::Owner) {
                            200
                        } else {
                            409
                        }
                    }
                    Some(d) if d.in_org && !in_org => self.denied(),
                    Some(_) => {
                        let links = BTreeMap::from([(user, Link::Owner)]);
                        let was_org = self.devices[serial].as_ref().is_some_and(|d| d.in_org);
                        self.devices[serial] =
                            Some(Device { active: true, in_org: in_org || was_org, links });
                        self.provisioned += 1;
                        201
                    }
                }
            }
            Op::Grant { actor, serial, target, owner, in_org } => {
                let device = self.devices[serial].clone()?;
                if !self.can_act(actor) {
                    return Some(401);
                }
                if !self.may(actor, &device, Action::Update, ctx(in_org)) {
                    return Some(self.denied());
                }
                if !device.active {
                    return Some(409);
                }
                if self.deleted[target] {
                    return Some(404);
                }
                let role = if owner { Link::Owner } else { Link::Viewer };
                let previous = device.links.get(&target).copied();
                if previous == Some(role) {
                    return Some(204);
                }
                if previous == Some(Link::Owner) && device.owners() == 1 {
                    return Some(409);
                }
                if let Some(d) = self.devices[serial].as_mut() {
                    d.links.insert(target, role);
                }
                204
            }
            Op::Revoke { actor, serial, target, in_org } => {
                let device = self.devices[serial].clone()?;
                if !self.can_act(actor) {
                    return Some(401);
                }
                if actor != target {
                    if !self.may(actor, &device, Action::Update, ctx(in_org)) {
                        return Some(self.denied());
                    }
                    if !device.active {
                        return Some(409);
                    }
                }
                if !device.links.contains_key(&target) {
                    return Some(404);
                }
                if let Some(d) = self.devices[serial].as_mut() {
                    d.links.remove(&target);
                }
                self.reset_if_ownerless(serial);
                204
            }
            Op::Transfer { actor, serial, to, in_org } => {
                let device = self.devices[serial].clone()?;
                if !self.can_act(actor) {
                    return Some(401);
                }
                if !self.may(actor, &device, Action::Update, ctx(in_org)) {
                    return Some(self.denied());
                }
                if !device.active {
                    return Some(409);
                }
                if self.deleted[to] {
                    return Some(404);
                }
                if !self.active[to] {
                    return Some(422);
                }
                if let Some(d) = self.devices[serial].as_mut() {
                    d.links.retain(|user, link| *link == Link::Viewer && *user != to);
                    d.links.insert(to, Link::Owner);
                }
                200
            }
            Op::SetActive { user, active } => {
                if self.deleted[user] {
                    return Some(404);
                }
                self.active[user] = active;
                200
            }
            Op::RemoveMember { user } => {
                if !self.can_act(ORG_ADMIN) {
                    return Some(401);
                }
                if self.org_role[ORG_ADMIN] != Some(OrgRole::Admin) {
                    return Some(403); // not under /devices: no ACCESS_DENIED row
                }
                if self.org_role[user].take().is_none() {
                    return Some(404);
                }
                204
            }
            Op::AddViewer { user } => {
                if !self.can_act(ORG_ADMIN) {
                    return Some(401);
                }
                if self.org_role[ORG_ADMIN] != Some(OrgRole::Admin) {
                    return Some(403);
                }
                if self.deleted[user] {
                    return Some(404);
                }
                self.org_role[user] = Some(OrgRole::Viewer);
                204
            }
            Op::DeleteUser { user } => {
                if self.deleted[user] {
                    return Some(404);
                }
                self.deleted[user] = true;
                self.org_role[user] = None;
                for serial in 0..SERIALS {
                    let had_link = self.devices[serial]
                        .as_mut()
                        .is_some_and(|d| d.links.remove(&user).is_some());
                    if had_link {
                        self.reset_if_ownerless(serial);
                    }
                }
                204
            }
        })
    }
}

fn ctx(in_org: bool) -> Ctx {
    if in_org { Ctx::Org } else { Ctx::Personal }
}

/// One sequence's users, organization and device ids on the shared server.
struct Fixture<'a> {
    app: &'a TestApp,
    admin: &'a str,
    users: Vec<Person>,
    org: i64,
    serials: Vec<String>,
    ids: [Option<i64>; SERIALS],
}

static SEQUENCE: AtomicUsize = AtomicUsize::new(0);

impl<'a> Fixture<'a> {
    fn new(app: &'a TestApp, admin: &'a str) -> Self {
        let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let users: Vec<Person> =
            (0..USERS).map(|i| app.user(admin, &format!("model{n}u{i}"))).collect();
        let org = crate::support::world::create_org(app, &users[3], &format!("Model org {n}"));
        crate::support::world::add_member(app, &users[3], org, &users[2], "org_viewer");
        let serials = (0..SERIALS).map(|s| format!("MODEL-{n}-{s}")).collect();
        Fixture { app, admin, users, org, serials, ids: [None; SERIALS] }
    }

    fn header(&self, ctx: Ctx) -> String {
        match ctx {
            Ctx::Personal => "personal".into(),
            Ctx::Org => self.org.to_string(),
            Ctx::Global => "global".into(),
        }
    }

    fn device_path(&self, serial: usize) -> Option<String> {
        self.ids[serial].map(|id| format!("/api/v1/devices/{id}"))
    }

    /// Sends `op`; returns the status.
    fn send(&mut self, op: &Op) -> Option<u16> {
        let call = |who: &Person, ctx: Ctx, method: Method, path: &str, body: Option<Value>| {
            device_call(self.app, who, &self.header(ctx), method, path, body.as_ref())
        };
        Some(match *op {
            Op::Claim { user, serial, in_org } => {
                let body = json!({"cpu_serial": self.serials[serial], "hardware_blueprint_version": BLUEPRINT});
                let response = call(
                    &self.users[user],
                    ctx(in_org),
                    Method::POST,
                    "/api/v1/devices/claim",
                    Some(body),
                );
                let status = response.status().as_u16();
                if status == 201 {
                    let body: Value = response.json().unwrap();
                    self.ids[serial] = body["device"]["id"].as_i64();
                }
                status
            }
            Op::Grant { actor, serial, target, owner, in_org } => {
                let path =
                    format!("{}/access/{}", self.device_path(serial)?, self.users[target].id);
                let role = if owner { "owner" } else { "viewer" };
                call(
                    &self.users[actor],
                    ctx(in_org),
                    Method::PUT,
                    &path,
                    Some(json!({"role": role})),
                )
                .status()
                .as_u16()
            }
            Op::Revoke { actor, serial, target, in_org } => {
                let path =
                    format!("{}/access/{}", self.device_path(serial)?, self.users[target].id);
                call(&self.users[actor], ctx(in_org), Method::DELETE, &path, None).status().as_u16()
            }
            Op::Transfer { actor, serial, to, in_org } => {
                let path = format!("{}/transfer", self.device_path(serial)?);
                let body = json!({"to_user_id": self.users[to].id});
                call(&self.users[actor], ctx(in_org), Method::POST, &path, Some(body))
                    .status()
                    .as_u16()
            }
            Op::SetActive { user, active } => {
                let path = format!("/api/v1/users/{}", self.users[user].id);
                let body = json!({"is_active": active});
                self.app.call(Method::PATCH, &path, Some(self.admin), Some(&body)).status().as_u16()
            }
            Op::DeleteUser { user } => {
                let path = format!("/api/v1/users/{}", self.users[user].id);
                self.app.call(Method::DELETE, &path, Some(self.admin), None).status().as_u16()
            }
            Op::RemoveMember { user } => {
                let path =
                    format!("/api/v1/organizations/{}/members/{}", self.org, self.users[user].id);
                let by = &self.users[ORG_ADMIN].token;
                self.app.call(Method::DELETE, &path, Some(by), None).status().as_u16()
            }
            Op::AddViewer { user } => {
                let path =
                    format!("/api/v1/organizations/{}/members/{}", self.org, self.users[user].id);
                let by = &self.users[ORG_ADMIN].token;
                let body = json!({"role": "org_viewer"});
                self.app.call(Method::PUT, &path, Some(by), Some(&body)).status().as_u16()
            }
        })
    }

    /// Every read decision, every listing and the audit counts against the model.
    fn compare(&self, model: &mut Model) -> Result<(), String> {
        for user in 0..USERS {
            if model.deleted[user] {
                continue;
            }
            for ctx in [Ctx::Personal, Ctx::Org, Ctx::Global] {
                self.compare_reads(model, user, ctx)?;
            }
        }
        self.compare_counts(model)
    }

    fn compare_reads(&self, model: &mut Model, user: usize, ctx: Ctx) -> Result<(), String> {
        let who = &self.users[user];
        let mut readable = BTreeSet::new();
        for serial in 0..SERIALS {
            let (Some(path), Some(device)) =
                (self.device_path(serial), model.devices[serial].clone())
            else {
                continue;
            };
            let want = if !model.can_act(user) {
                401
            } else if model.may(user, &device, Action::Read, ctx) {
                readable.insert(self.ids[serial]);
                200
            } else {
                model.denied()
            };
            let got = device_call(self.app, who, &self.header(ctx), Method::GET, &path, None)
                .status()
                .as_u16();
            if got != want {
                return Err(format!(
                    "GET device {serial} as user {user} in {ctx:?}: {got}, model says {want}"
                ));
            }
            self.compare_update(model, user, ctx, serial, &device)?;
        }
        if !model.can_act(user) {
            return Ok(());
        }
        let may_list = match ctx {
            Ctx::Personal => true,
            Ctx::Org => model.org_role[user].is_some(),
            Ctx::Global => false,
        };
        let response = device_call(
            self.app,
            who,
            &self.header(ctx),
            Method::GET,
            "/api/v1/devices?limit=200",
            None,
        );
        if !may_list {
            model.denied();
            return match response.status().as_u16() {
                403 => Ok(()),
                got => Err(format!("list as user {user} in {ctx:?}: {got}, model says 403")),
            };
        }
        let body: Value = response.json().map_err(|e| e.to_string())?;
        let listed: BTreeSet<Option<i64>> = body["items"]
            .as_array()
            .ok_or("no items")?
            .iter()
            .map(|d| d["id"].as_i64())
            .filter(|id| self.ids.contains(id))
            .collect();
        if listed != readable {
            return Err(format!(
                "list as user {user} in {ctx:?}: {listed:?}, model says {readable:?}"
            ));
        }
        Ok(())
    }

    /// The update decision, through the read-only `GET /devices/{id}/access`, and the links.
    fn compare_update(
        &self,
        model: &mut Model,
        user: usize,
        ctx: Ctx,
        serial: usize,
        device: &Device,
    ) -> Result<(), String> {
        let path =
            format!("/api/v1/devices/{}/access?limit=200", self.ids[serial].unwrap_or_default());
        let want = if !model.can_act(user) {
            401
        } else if !model.may(user, device, Action::Update, ctx) {
            model.denied()
        } else if device.active {
            200
        } else {
            409
        };
        let response =
            device_call(self.app, &self.users[user], &self.header(ctx), Method::GET, &path, None);
        let got = response.status().as_u16();
        if got != want {
            return Err(format!(
                "GET access of device {serial} as user {user} in {ctx:?}: {got}, model says {want}"
            ));
        }
        if got == 200 {
            let body: Value = response.json().map_err(|e| e.to_string())?;
            let links: BTreeMap<i64, String> = body["items"]
                .as_array()
                .ok_or("no items")?
                .iter()
                .map(|l| {
                    (
                        l["user_id"].as_i64().unwrap_or_default(),
                        l["role"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            let expected: BTreeMap<i64, String> = device
                .links
                .iter()
                .map(|(u, l)| {
                    (
                        self.users[*u].id,
                        if *l == Link::Owner { "owner" } else { "viewer" }.to_owned(),
                    )
                })
                .collect();
            if links != expected {
                return Err(format!(
                    "links of device {serial}: {links:?}, model says {expected:?}"
                ));
            }
        }
        Ok(())
    }

    fn compare_counts(&self, model: &Model) -> Result<(), String> {
        let ids: Vec<String> = self.ids.iter().flatten().map(ToString::to_string).collect();
        let users: Vec<String> = self.users.iter().map(|u| u.id.to_string()).collect();
        let of_devices =
            if ids.is_empty() { "(NULL)".to_owned() } else { format!("({})", ids.join(",")) };
        let count = |event: &str, column: &str, set: &str| {
            self.app.db.count(&format!(
                "SELECT COUNT(*) AS n FROM audit_logs WHERE event_type = '{event}' AND {column} IN {set}"
            ))
        };
        let got = (
            count("DEVICE_PROVISIONED", "target_device_id", &of_devices),
            count("DEVICE_RESET", "target_device_id", &of_devices),
            count("ACCESS_DENIED", "actor_user_id", &format!("({})", users.join(","))),
        );
        let want = (model.provisioned, model.resets, model.denials);
        if got != want {
            return Err(format!(
                "audit counts (provisioned, resets, denials): {got:?}, model says {want:?}"
            ));
        }
        Ok(())
    }
}

fn run_sequence(app: &TestApp, admin: &str, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut fixture = Fixture::new(app, admin);
    let mut model = Model::new();
    for (step, op) in ops.iter().enumerate() {
        let want = model.apply(op);
        let got = fixture.send(op);
        if got != want {
            return Err(TestCaseError::fail(format!(
                "step {step} {op:?}: service {got:?}, model {want:?}"
            )));
        }
        fixture
            .compare(&mut model)
            .map_err(|e| TestCaseError::fail(format!("after step {step} {op:?}: {e}")))?;
    }
    Ok(())
}

on_both_backends!(the_service_agrees_with_the_reference_model);

fn the_service_agrees_with_the_reference_model(backend: Backend) {
    let app = TestApp::start(backend);
    let admin = app.admin_token();
    blueprint(&app, &admin, BLUEPRINT);
    let cases = std::env::var("MODEL_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(100);
    let config =
        Config { cases, failure_persistence: None, max_shrink_iters: 200, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let result =
        runner.run(&proptest::collection::vec(op(), 1..16), |ops| run_sequence(&app, &admin, &ops));
    if let Err(failure) = result {
        panic!("{failure}");
    }
    assert_invariants(&app.db);
}
