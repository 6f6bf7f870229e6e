#![allow(clippy::print_stdout)] // a command-line tool: standard output is its interface

//! `cargo xtask …`: every development task of DeviceHub, in Rust instead of shell scripts.
//!
//! - `cargo xtask test [--throwaway-pg] [-- ARGS]`: the whole test suite on SQLite and
//!   PostgreSQL (finding or starting a PostgreSQL server first).
//! - `cargo xtask ci`: formatting, clippy, the test suite and the API fuzz, as CI runs them.
//! - `cargo xtask fuzz [--examples N]`: schemathesis against the server's own OpenAPI document.
//! - `cargo xtask migrate up|down [--all]|status`: migrations against `DATABASE_URL`.
//! - `cargo xtask bench [--quick] [--backend B]`: the service against its database's own limit.
//! - `cargo xtask bench-import [--rows N]`: the import's speed on both backends.

mod bench;
mod chaos;
mod fuzz;
mod postgres;

use std::{
    env,
    process::{Command, ExitCode},
};

use anyhow::{Context, bail};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  test [--throwaway-pg] [-- ARGS]   run every test on SQLite and PostgreSQL
  ci                                cargo fmt --check, clippy -D warnings, test, fuzz, bench --quick
  chaos [--long] [-- ARGS]          outage, kill -9, SIGTERM and scale-out scenarios
  fuzz [--examples N]               schemathesis against the server's own /openapi.json
  bench [--quick] [--backend B]     claims, reads, lists and logins against the database's limit
  bench-import [--rows N]           time devicehub devices import on SQLite and PostgreSQL
  migrate up|down [--all]|status    migrations against DATABASE_URL (default sqlite://devicehub.db)
";

fn main() -> ExitCode {
    match run(env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> anyhow::Result<()> {
    let (command, rest) = args.split_first().map_or(("help", &[][..]), |(c, r)| (c.as_str(), r));
    match command {
        "test" => test(rest),
        "ci" => ci(),
        "bench" => bench::bench(rest),
        "chaos" => chaos::chaos(rest),
        "bench-import" => bench::import(rest),
        "bench-replay-sqlite" => bench::sqlite_child(rest),
        "fuzz" => fuzz::fuzz(rest),
        "migrate" => cargo(
            &[&["run", "--quiet", "-p", "devicehub", "--", "migrate"], &strs(rest)[..]].concat(),
        ),
        "help" | "--help" | "-h" => {
            eprint!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn ci() -> anyhow::Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    test(&[])?;
    fuzz::fuzz(&[])?;
    // The benchmark's quick mode, so the benchmark itself cannot rot; its figures are not
    // judged here (this machine is shared), only that every scenario runs without an error.
    bench::bench(&["--quick".to_owned()])
}

/// Runs the workspace tests with `TEST_DATABASE_URL` pointing at a PostgreSQL server: the one
/// already named, else the local one on 5432, else a throwaway cluster started here.
fn test(args: &[String]) -> anyhow::Result<()> {
    let force_throwaway = args.first().is_some_and(|a| a == "--throwaway-pg");
    let passthrough: Vec<&str> = args
        .iter()
        .skip(usize::from(force_throwaway))
        .skip_while(|a| *a == "--")
        .map(String::as_str)
        .collect();
    let server = postgres::provide(force_throwaway)?;
    let mut command = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(["test", "--workspace", "--"]).args(&passthrough);
    match (server.url(), &server) {
        (Some(url), _) => {
            command.env("TEST_DATABASE_URL", url);
        }
        (None, postgres::Provided::None(why)) => {
            eprintln!("xtask: WARNING: PostgreSQL tests are skipped: {why}");
            command.args(["--skip", "postgres"]);
        }
        (None, _) => bail!("no PostgreSQL URL"),
    }
    let (status, totals) = run_counting(&mut command)?;
    drop(server);
    println!("xtask: {} passed, {} failed", totals.passed, totals.failed);
    if !status.success() {
        bail!("tests failed");
    }
    if totals.passed == 0 {
        bail!("no test ran");
    }
    Ok(())
}

#[derive(Default)]
struct Totals {
    passed: u64,
    failed: u64,
}

/// Runs `cargo test`, echoing its output, and adds up its `test result:` lines.
fn run_counting(command: &mut Command) -> anyhow::Result<(std::process::ExitStatus, Totals)> {
    use std::io::{BufRead, BufReader};
    let mut child =
        command.stdout(std::process::Stdio::piped()).spawn().context("run cargo test")?;
    let mut totals = Totals::default();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            println!("{line}");
            if let Some(result) = line.strip_prefix("test result: ") {
                totals.passed += count_before(result, " passed");
                totals.failed += count_before(result, " failed");
            }
        }
    }
    Ok((child.wait()?, totals))
}

/// In `ok. 12 passed; 0 failed; …`, the number before `label`.
fn count_before(result: &str, label: &str) -> u64 {
    result
        .split(';')
        .find_map(|part| {
            part.trim()
                .trim_start_matches("ok. ")
                .trim_start_matches("FAILED. ")
                .strip_suffix(label)
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

pub(crate) fn cargo(args: &[&str]) -> anyhow::Result<()> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status =
        Command::new(&cargo).args(args).status().with_context(|| format!("run cargo {args:?}"))?;
    if !status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(())
}
