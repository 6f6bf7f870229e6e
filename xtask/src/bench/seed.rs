//! The benchmark's world: users, tokens and an organization made through the HTTP API, and
//! the bulk of the devices and their owner links written with one SQL statement each (making a
//! million devices through the API would take longer than the whole benchmark).

use anyhow::{Context, bail};
use diesel::connection::SimpleConnection;
use foundation::{Backend, Db, DbError, PoolOptions};
use reqwest::{Method, blocking::Client};
use serde_json::{Value, json};

use super::server::ADMIN_PASSWORD;

pub(crate) const BLUEPRINT: &str = "bench-board-1.0";
pub(crate) const USER_PASSWORD: &str = "bench-user-password";
const FILLERS: i64 = 20;
const SEEDED_AT: &str = "2026-11-23 00:00:00";

/// How many devices a run holds, and how many of them belong to the listed user and to the
/// organization (the rest belong to other users).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dataset {
    pub(crate) name: &'static str,
    pub(crate) total: i64,
    pub(crate) user_devices: i64,
    pub(crate) org_devices: i64,
}

/// What the scenarios need from the seeded database.
#[derive(Debug, Clone)]
pub(crate) struct World {
    pub(crate) claimers: Vec<(String, String)>,
    pub(crate) owner_token: String,
    pub(crate) member_token: String,
    pub(crate) org_id: i64,
    pub(crate) user_range: (i64, i64),
    pub(crate) org_range: (i64, i64),
    pub(crate) user_deep_cursor: String,
    pub(crate) org_deep_cursor: String,
    pub(crate) max_user_id: i64,
}

/// A small JSON client for the API.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    client: Client,
    base: String,
}

impl Api {
    pub(crate) fn new(base: &str) -> Api {
        Api { client: Client::new(), base: base.to_owned() }
    }

    /// Sends a request and returns its JSON body, failing unless the status is `expect`.
    pub(crate) fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        context: Option<&str>,
        body: Option<Value>,
        expect: u16,
    ) -> anyhow::Result<Value> {
        let mut request = self.client.request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(context) = context {
            request = request.header("X-Active-Context", context);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().with_context(|| format!("{method} {path}"))?;
        let status = response.status().as_u16();
        let text = response.text()?;
        if status != expect {
            bail!("{method} {path}: expected {expect}, got {status}: {text}");
        }
        Ok(if text.is_empty() { Value::Null } else { serde_json::from_str(&text)? })
    }

    pub(crate) fn login(&self, username: &str, password: &str) -> anyhow::Result<String> {
        let body = json!({"username": username, "password": password});
        let answer = self.call(Method::POST, "/api/v1/auth/login", None, None, Some(body), 200)?;
        text(&answer["access_token"])
    }

    fn create_user(&self, admin: &str, username: &str) -> anyhow::Result<i64> {
        let body = json!({"username": username, "password": USER_PASSWORD});
        let user = self.call(Method::POST, "/api/v1/users", Some(admin), None, Some(body), 201)?;
        number(&user["id"])
    }
}

fn text(value: &Value) -> anyhow::Result<String> {
    value.as_str().map(str::to_owned).with_context(|| format!("expected a string, got {value}"))
}

fn number(value: &Value) -> anyhow::Result<i64> {
    value.as_i64().with_context(|| format!("expected a number, got {value}"))
}

pub(crate) fn seed(api: &Api, url: &str, data: Dataset, claimers: usize) -> anyhow::Result<World> {
    let admin = api.login("admin", ADMIN_PASSWORD)?;
    let blueprint = json!({"name": "bench", "version": BLUEPRINT});
    let blueprint = api.call(
        Method::POST,
        "/api/v1/hardware-blueprints",
        Some(&admin),
        None,
        Some(blueprint),
        201,
    )?;
    let mut claimer_tokens = Vec::new();
    for i in 0..claimers {
        let name = format!("claimer{i}");
        api.create_user(&admin, &name)?;
        claimer_tokens.push((name.clone(), api.login(&name, USER_PASSWORD)?));
    }
    let owner = api.create_user(&admin, "owner")?;
    api.create_user(&admin, "member")?;
    let fillers: Vec<i64> = (0..FILLERS)
        .map(|i| api.create_user(&admin, &format!("filler{i}")))
        .collect::<anyhow::Result<_>>()?;
    if fillers.windows(2).any(|w| w[1] != w[0] + 1) {
        bail!("filler users did not get consecutive ids: {fillers:?}");
    }
    let owner_token = api.login("owner", USER_PASSWORD)?;
    let member_token = api.login("member", USER_PASSWORD)?;
    let org = json!({"name": "bench-org"});
    let org =
        api.call(Method::POST, "/api/v1/organizations", Some(&member_token), None, Some(org), 201)?;
    let org_id = number(&org["id"])?;
    let bulk =
        Bulk { data, blueprint: number(&blueprint["id"])?, org_id, owner, filler: fillers[0] };
    bulk.insert(url)?;
    let user_range = (1, data.user_devices);
    let org_range = (data.user_devices + 1, data.user_devices + data.org_devices);
    check_device(api, &owner_token, "personal", user_range.1)?;
    check_device(api, &member_token, &org_id.to_string(), org_range.1)?;
    Ok(World {
        user_deep_cursor: last_page_cursor(api, &owner_token, "personal")?,
        org_deep_cursor: last_page_cursor(api, &member_token, &org_id.to_string())?,
        claimers: claimer_tokens,
        owner_token,
        member_token,
        org_id,
        user_range,
        org_range,
        max_user_id: fillers[fillers.len() - 1],
    })
}

/// The seeded devices: ids 1..=total in order, the user's first, then the organization's.
struct Bulk {
    data: Dataset,
    blueprint: i64,
    org_id: i64,
    owner: i64,
    filler: i64,
}

impl Bulk {
    fn insert(&self, url: &str) -> anyhow::Result<()> {
        let db = Db::connect(&url.parse()?, &PoolOptions::default())?;
        let sql = match db.backend() {
            Backend::Postgres => self.postgres(),
            Backend::Sqlite => self.sqlite(),
        };
        db.read_blocking(|conn| conn.batch_execute(&sql).map_err(DbError::from))?;
        Ok(())
    }

    fn columns(&self) -> String {
        let Dataset { user_devices: nu, org_devices: no, .. } = self.data;
        format!(
            "INSERT INTO devices (cpu_serial, current_uuid, hardware_blueprint_id, organization_id, \
             status, credential_hash, claimed_at, created_at, updated_at) \
             SELECT 'SEED-' || n, '00000000-0000-4000-8000-' || {{pad}}, {bp}, \
             CASE WHEN n > {nu} AND n <= {last_org} THEN {org} END, 'active', {{hash}}, \
             '{SEEDED_AT}', '{SEEDED_AT}', '{SEEDED_AT}'",
            bp = self.blueprint,
            last_org = nu + no,
            org = self.org_id,
        )
    }

    fn links(&self) -> String {
        format!(
            "INSERT INTO user_devices (user_id, device_id, role, created_at) \
             SELECT CASE WHEN id <= {nu} THEN {owner} ELSE {filler} + id % {FILLERS} END, id, \
             'owner', '{SEEDED_AT}' FROM devices;",
            nu = self.data.user_devices,
            owner = self.owner,
            filler = self.filler,
        )
    }

    fn postgres(&self) -> String {
        let insert = self
            .columns()
            .replace("{pad}", "lpad(n::text, 12, '0')")
            .replace("{hash}", "md5(n::text) || md5(n::text)");
        format!(
            "BEGIN; {insert} FROM generate_series(1, {total}) AS n; {links} COMMIT; ANALYZE;",
            total = self.data.total,
            links = self.links()
        )
    }

    fn sqlite(&self) -> String {
        let insert = self
            .columns()
            .replace("{pad}", "substr('000000000000' || n, -12, 12)")
            .replace("{hash}", "printf('%064d', n)");
        format!(
            "BEGIN; WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {total}) \
             {insert} FROM seq; {links} COMMIT; ANALYZE;",
            total = self.data.total,
            links = self.links()
        )
    }
}

/// Checks that the seeded device `id` is where the scenarios expect it.
fn check_device(api: &Api, token: &str, context: &str, id: i64) -> anyhow::Result<()> {
    let path = format!("/api/v1/devices/{id}");
    let device = api.call(Method::GET, &path, Some(token), Some(context), None, 200)?;
    if device["cpu_serial"] != json!(format!("SEED-{id}")) {
        bail!("seeded device {id} is not where expected: {device}");
    }
    Ok(())
}

/// The cursor of the last page of the device list in `context` (walked 200 at a time).
fn last_page_cursor(api: &Api, token: &str, context: &str) -> anyhow::Result<String> {
    let mut cursor: Option<String> = None;
    let mut last = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/devices?limit=200&cursor={c}"),
            None => "/api/v1/devices?limit=200".to_owned(),
        };
        let page = api.call(Method::GET, &path, Some(token), Some(context), None, 200)?;
        match page["next_cursor"].as_str() {
            Some(next) => {
                if !next.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)) {
                    bail!("cursor {next:?} would need URL encoding");
                }
                last = Some(next.to_owned());
                cursor = last.clone();
            }
            None => return last.context("the list has a single page"),
        }
    }
}
