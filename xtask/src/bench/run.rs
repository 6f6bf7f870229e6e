//! One backend's benchmark: seed each dataset, then per scenario capture the SQL of one
//! request, load the server, and replay the captured SQL as the database's limit.

use std::{fs, path::Path};

use anyhow::{Context, bail};
use data_encoding::HEXLOWER;
use foundation::Backend;
use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{
    Plan, bench_root,
    load::{self, Traffic},
    replay::{self, Script, SqliteSpec, Variation},
    report::{Results, Round, Row},
    seed::{self, Api, BLUEPRINT, Dataset, USER_PASSWORD, World},
    server::{Server, ServerOptions},
    trace,
};

/// The scenarios of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    Claim,
    ReadPersonal,
    ReadOrganization,
    ListUserFirst,
    ListUserLast,
    ListOrgFirst,
    ListOrgLast,
    Login,
}

impl Scenario {
    pub(crate) const ALL: [Scenario; 8] = [
        Scenario::Claim,
        Scenario::ReadPersonal,
        Scenario::ReadOrganization,
        Scenario::ListUserFirst,
        Scenario::ListUserLast,
        Scenario::ListOrgFirst,
        Scenario::ListOrgLast,
        Scenario::Login,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::Claim => "claim",
            Scenario::ReadPersonal => "read, owner, personal",
            Scenario::ReadOrganization => "read, member, organization",
            Scenario::ListUserFirst => "user's list, first page",
            Scenario::ListUserLast => "user's list, last page",
            Scenario::ListOrgFirst => "organization's list, first page",
            Scenario::ListOrgLast => "organization's list, last page",
            Scenario::Login => "login",
        }
    }

    /// Reads and list pages run on both sizes; claims and logins (which add rows) on the
    /// larger one only.
    pub(crate) fn scales(self) -> bool {
        !matches!(self, Scenario::Claim | Scenario::Login)
    }
}

pub(crate) fn backend(
    plan: &Plan,
    backend: Backend,
    urls: &[String],
    results: &mut Results,
) -> anyhow::Result<()> {
    for (index, (data, url)) in plan.datasets.iter().zip(urls).enumerate() {
        let larger = index == plan.datasets.len() - 1;
        eprintln!("xtask: bench {backend} with {} devices", data.name);
        dataset(plan, backend, *data, url, larger, results)
            .with_context(|| format!("{backend}, {} devices", data.name))?;
    }
    Ok(())
}

fn dataset(
    plan: &Plan,
    backend: Backend,
    data: Dataset,
    url: &str,
    larger: bool,
    results: &mut Results,
) -> anyhow::Result<()> {
    let work = bench_root().join(format!("{backend}-{}", data.name));
    fs::create_dir_all(&work)?;
    let pool = plan.pool;
    let options = |core, pool, trace: Option<&Path>, log: &str| ServerOptions {
        url: url.to_owned(),
        pool,
        core,
        trace: trace.map(Path::to_path_buf),
        log: work.join(log),
    };
    let server = Server::start(&options(Some(0), pool, None, "server.log"))?;
    let api = Api::new(&server.base);
    let world = seed::seed(&api, url, data, plan.claimers)?;
    let trace_file = work.join("trace.sql");
    let capture = Server::start(&options(None, 1, Some(&trace_file), "capture.log"))?;
    let capturer = Capture { api: Api::new(&capture.base), file: &trace_file, world: &world };
    let bench =
        Bench { backend, url, server: &server, world: &world, seconds: plan.seconds, work: &work };
    for scenario in Scenario::ALL.into_iter().filter(|s| larger || s.scales()) {
        let script = capturer.script(scenario, data).with_context(|| scenario.name())?;
        fs::write(work.join(format!("{scenario:?}.pgbench")), script.pgbench())?;
        for &connections in &plan.connections {
            let mut rounds = Vec::new();
            for round in 0..plan.rounds {
                let run = format!("{}{connections}r{round}", data.name);
                let measured = bench.round(scenario, &script, connections, &run)?;
                eprintln!(
                    "xtask:   {:<32} c={connections:<3} {:>8.0} req/s  limit {:>8.0}/s",
                    scenario.name(),
                    measured.service.per_second,
                    measured.limit.per_second
                );
                rounds.push(measured);
            }
            results.rows.push(Row::new(backend, data, scenario, connections, rounds));
        }
    }
    results.peak_rss(backend, data, server.peak_rss_mib()?);
    drop((server, capture));
    if larger && backend == Backend::Postgres {
        let (one, three) = scale_out(plan, url, &world, &work)?;
        results.scale_out(one, three);
    }
    Ok(())
}

/// What one dataset's measurements run against.
struct Bench<'a> {
    backend: Backend,
    url: &'a str,
    server: &'a Server,
    world: &'a World,
    seconds: u64,
    work: &'a Path,
}

impl Bench<'_> {
    /// One round: the server under `connections` of load, then the replay of `script` with as
    /// many connections.
    fn round(
        &self,
        scenario: Scenario,
        script: &Script,
        connections: u32,
        run: &str,
    ) -> anyhow::Result<Round> {
        let traffic = traffic(scenario, self.world, run);
        let cpu_before = self.server.cpu_seconds()?;
        let service = load::run(&self.server.base, &traffic, connections, self.seconds, self.work)?;
        let server_cpu_seconds = self.server.cpu_seconds()? - cpu_before;
        if service.errors > 0 {
            bail!("{}: {} requests failed under load", scenario.name(), service.errors);
        }
        let limit = match self.backend {
            Backend::Postgres => {
                replay::pgbench(self.url, script, connections, self.seconds, self.work)?
            }
            Backend::Sqlite => {
                let spec = SqliteSpec {
                    url: self.url.to_owned(),
                    script: script.clone(),
                    threads: connections,
                    seconds: self.seconds,
                };
                replay::sqlite_in_child(&spec, self.work)?
            }
        };
        Ok(Round { service, server_cpu_seconds, limit })
    }
}

/// Claims/s with one server process and with three on the same PostgreSQL, each process
/// unpinned and loaded by its own wrk (on core 1) with a third of the connections.
fn scale_out(plan: &Plan, url: &str, world: &World, work: &Path) -> anyhow::Result<(f64, f64)> {
    let connections = plan.connections.iter().copied().max().unwrap_or(1);
    let mut rates = Vec::new();
    for processes in [1_u32, 3] {
        let servers: Vec<Server> = (0..processes)
            .map(|i| {
                Server::start(&ServerOptions {
                    url: url.to_owned(),
                    pool: plan.pool.div_ceil(processes),
                    core: None,
                    trace: None,
                    log: work.join(format!("scale-{processes}-{i}.log")),
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let loads: Vec<_> = servers
            .iter()
            .enumerate()
            .map(|(i, server)| {
                let dir = work.join(format!("scale-{processes}-{i}"));
                let traffic = traffic(Scenario::Claim, world, &format!("S{processes}x{i}"));
                let (base, per) = (server.base.clone(), connections.div_ceil(processes));
                let seconds = plan.seconds;
                std::thread::spawn(move || -> anyhow::Result<load::LoadResult> {
                    fs::create_dir_all(&dir)?;
                    load::run(&base, &traffic, per, seconds, &dir)
                })
            })
            .collect();
        let mut total = 0.0;
        for handle in loads {
            let result = handle.join().map_err(|_| anyhow::anyhow!("load thread panicked"))??;
            if result.errors > 0 {
                bail!("scale-out: {} claims failed", result.errors);
            }
            total += result.per_second;
        }
        eprintln!("xtask:   claims with {processes} process(es): {total:.0} req/s");
        rates.push(total);
    }
    Ok((rates[0], rates[1]))
}

fn traffic(scenario: Scenario, world: &World, run: &str) -> Traffic {
    let personal = || "personal".to_owned();
    let org = || world.org_id.to_string();
    let get = |token: &str, context: String, path: String| Traffic::Get {
        token: token.to_owned(),
        context,
        path,
    };
    match scenario {
        Scenario::Claim => Traffic::Claim {
            tokens: world.claimers.iter().map(|(_, t)| t.clone()).collect(),
            blueprint: BLUEPRINT.to_owned(),
            run: run.to_owned(),
        },
        Scenario::ReadPersonal => Traffic::Read {
            token: world.owner_token.clone(),
            context: personal(),
            range: world.user_range,
        },
        Scenario::ReadOrganization => Traffic::Read {
            token: world.member_token.clone(),
            context: org(),
            range: world.org_range,
        },
        Scenario::ListUserFirst => get(&world.owner_token, personal(), list_path(None)),
        Scenario::ListUserLast => {
            get(&world.owner_token, personal(), list_path(Some(&world.user_deep_cursor)))
        }
        Scenario::ListOrgFirst => get(&world.member_token, org(), list_path(None)),
        Scenario::ListOrgLast => {
            get(&world.member_token, org(), list_path(Some(&world.org_deep_cursor)))
        }
        Scenario::Login => Traffic::Login {
            usernames: world.claimers.iter().map(|(name, _)| name.clone()).collect(),
            password: USER_PASSWORD.to_owned(),
        },
    }
}

fn list_path(cursor: Option<&str>) -> String {
    match cursor {
        Some(cursor) => format!("/api/v1/devices?limit=50&cursor={cursor}"),
        None => "/api/v1/devices?limit=50".to_owned(),
    }
}

/// Captures the statements of one request through the tracing server (pool of one).
struct Capture<'a> {
    api: Api,
    file: &'a Path,
    world: &'a World,
}

impl Capture<'_> {
    fn script(&self, scenario: Scenario, data: Dataset) -> anyhow::Result<Script> {
        // The first request warms the server (and refreshes the token's last use, which is
        // written at most once a minute); the second is the one replayed.
        self.request(scenario, data, "warm")?;
        fs::File::create(self.file)?;
        let variation = self.request(scenario, data, "captured")?;
        let statements = trace::parse(&fs::read_to_string(self.file)?)?;
        if statements.is_empty() {
            bail!("the trace is empty: was the server built with --features sql-trace?");
        }
        Script::new(&statements, &variation)
    }

    /// Sends one request of `scenario` and says what in it must vary from one replay to the next.
    fn request(&self, scenario: Scenario, data: Dataset, tag: &str) -> anyhow::Result<Variation> {
        let world = self.world;
        let org = world.org_id.to_string();
        let get = |token: &str, context: &str, path: &str| {
            self.api.call(Method::GET, path, Some(token), Some(context), None, 200)
        };
        let device_read = |token: &str, context: &str, (lo, hi): (i64, i64)| {
            if hi <= world.max_user_id {
                bail!("device ids must lie above user ids so the replay can tell them apart");
            }
            get(token, context, &format!("/api/v1/devices/{hi}"))?;
            Ok(Variation { device: Some((hi, (lo, hi))), ..Variation::default() })
        };
        match scenario {
            Scenario::Claim => {
                let serial = format!("CAPTURE-{}-{tag}", data.name);
                let body = json!({"cpu_serial": serial, "hardware_blueprint_version": BLUEPRINT});
                let token = &world.claimers[0].1;
                let claimed = self.api.call(
                    Method::POST,
                    "/api/v1/devices/claim",
                    Some(token),
                    None,
                    Some(body),
                    201,
                )?;
                let device = &claimed["device"];
                let uuid = device["current_uuid"].as_str().context("no current_uuid")?;
                Ok(Variation {
                    fresh: vec![serial, uuid.to_owned()],
                    returned_id: device["id"].as_i64(),
                    device: None,
                })
            }
            Scenario::ReadPersonal => device_read(&world.owner_token, "personal", world.user_range),
            Scenario::ReadOrganization => device_read(&world.member_token, &org, world.org_range),
            Scenario::ListUserFirst
            | Scenario::ListUserLast
            | Scenario::ListOrgFirst
            | Scenario::ListOrgLast => {
                let Traffic::Get { token, context, path } = traffic(scenario, world, tag) else {
                    bail!("a list scenario without a fixed path");
                };
                get(&token, &context, &path)?;
                Ok(Variation::default())
            }
            Scenario::Login => {
                let token = self.api.login(&world.claimers[0].0, USER_PASSWORD)?;
                let hash = HEXLOWER.encode(&Sha256::digest(token.as_bytes()));
                Ok(Variation { fresh: vec![hash], ..Variation::default() })
            }
        }
    }
}
