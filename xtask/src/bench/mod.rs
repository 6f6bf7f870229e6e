//! `cargo xtask bench [--quick] [--backend sqlite|postgres]`: what the service costs on top of
//! its database, measured side by side in one run.
//!
//! For each backend and each of two database sizes it seeds a world, then for every scenario
//! (claims, device reads in the personal and an organization context, first and last page of
//! a user's and an organization's device list, login) and every connection count:
//! 1. loads the release server (pinned to core 0) with wrk (pinned to core 1);
//! 2. replays the SQL statements the server ran for one such request, as captured from its own
//!    SQL trace, with nothing in between: pgbench for PostgreSQL, a minimal Rust loop for
//!    SQLite (pinned where the server was), with the same number of connections.
//!
//! `--quick` runs small worlds for a second each, so CI keeps the benchmark working; the full
//! run is for people and writes `docs/benchmarks.json` and the tables in `docs/benchmarks.md`.

mod import;
mod load;
mod replay;
mod report;
mod run;
mod seed;
mod server;
mod trace;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};

pub(crate) use import::import;
pub(crate) use replay::sqlite_child;

use crate::{cargo, postgres};

/// Sizes, durations and connection counts of one benchmark run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) quick: bool,
    pub(crate) seconds: u64,
    /// Measurements of each row: the service and the limit alternate, and the table gives
    /// the medians (one 5 s pair on 2 shared cores moves more than the targets' margins).
    pub(crate) rounds: u32,
    pub(crate) connections: Vec<u32>,
    pub(crate) datasets: [seed::Dataset; 2],
    pub(crate) claimers: usize,
    /// The server's database pool: 2 × cores + 1, PostgreSQL's own rule of thumb for a
    /// database on this machine's cores (more connections only queue inside the database).
    pub(crate) pool: u32,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        let pool = 2 * cores + 1;
        let dataset = |name, total, user_devices, org_devices| seed::Dataset {
            name,
            total,
            user_devices,
            org_devices,
        };
        if quick {
            Plan {
                quick,
                seconds: 1,
                rounds: 1,
                connections: vec![4],
                datasets: [dataset("1k", 1_000, 300, 500), dataset("20k", 20_000, 1_000, 5_000)],
                claimers: 4,
                pool,
            }
        } else {
            Plan {
                quick,
                seconds: 3,
                rounds: 3,
                connections: vec![1, 16],
                datasets: [
                    dataset("10k", 10_000, 1_000, 5_000),
                    dataset("1M", 1_000_000, 10_000, 100_000),
                ],
                claimers: 32,
                pool,
            }
        }
    }
}

pub(crate) fn bench(args: &[String]) -> anyhow::Result<()> {
    let mut quick = false;
    let mut backends = vec![foundation::Backend::Sqlite, foundation::Backend::Postgres];
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match (arg.as_str(), rest.clone().next().map(String::as_str)) {
            ("--quick", _) => quick = true,
            ("--backend", Some("sqlite")) => backends = vec![foundation::Backend::Sqlite],
            ("--backend", Some("postgres")) => backends = vec![foundation::Backend::Postgres],
            _ => bail!("usage: cargo xtask bench [--quick] [--backend sqlite|postgres]"),
        }
        if arg == "--backend" {
            rest.next();
        }
    }
    load::ensure_wrk()?;
    if Command::new("taskset").arg("-V").output().is_err() {
        bail!("the benchmark pins processes to cores with taskset (util-linux)");
    }
    cargo(&["build", "--release", "--quiet", "-p", "devicehub", "--features", "sql-trace"])?;
    let plan = Plan::new(quick);
    let pg = postgres::provide(false)?;
    let mut results = report::Results::new(&plan, args);
    for backend in backends {
        let urls = match backend {
            foundation::Backend::Sqlite => sqlite_urls(&plan)?,
            foundation::Backend::Postgres => {
                let admin = pg.url().context("no PostgreSQL for the benchmark")?;
                plan.datasets
                    .iter()
                    .map(|d| {
                        // PostgreSQL folds unquoted names to lower case.
                        let name = format!("devicehub_bench_{}", d.name.to_lowercase());
                        scratch_database(&admin, &name)
                    })
                    .collect::<anyhow::Result<_>>()?
            }
        };
        run::backend(&plan, backend, &urls, &mut results)?;
    }
    results.finish(&plan)
}

fn sqlite_urls(plan: &Plan) -> anyhow::Result<Vec<String>> {
    let root = bench_root();
    std::fs::create_dir_all(&root)?;
    Ok(plan
        .datasets
        .iter()
        .map(|d| {
            let file = root.join(format!("bench-{}.db", d.name));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
            format!("sqlite://{}", file.display())
        })
        .collect())
}

/// Where the benchmarks keep their files: `target/bench`.
pub(crate) fn bench_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench")
}

/// The release server binary.
pub(crate) fn binary() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/devicehub")
}

/// A fresh database `name` on the server of `admin_url` (made with psql).
pub(crate) fn scratch_database(admin_url: &str, name: &str) -> anyhow::Result<String> {
    for sql in [format!("DROP DATABASE IF EXISTS {name}"), format!("CREATE DATABASE {name}")] {
        let status = Command::new("psql")
            .args([admin_url, "-q", "-c", &sql])
            .status()
            .context("psql is needed to make the scratch database")?;
        if !status.success() {
            bail!("psql {sql:?} failed");
        }
    }
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

/// Request or transaction latencies, in microseconds.
#[derive(Debug, Default)]
pub(crate) struct Latencies(Vec<u64>);

impl Latencies {
    pub(crate) fn push_us(&mut self, us: u64) {
        self.0.push(us);
    }

    pub(crate) fn extend(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The `p`th percentile in milliseconds (0 when empty).
    pub(crate) fn percentile_ms(&mut self, p: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        self.0.sort_unstable();
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1] as f64 / 1000.0
    }
}
