//! `cargo xtask …`: every development task of DeviceHub, in Rust instead of shell scripts.
//!
//! - `cargo xtask test [--throwaway-pg] [-- ARGS]`: the whole test suite on SQLite and
//!   PostgreSQL (finding or starting a PostgreSQL server first).
//! - `cargo xtask ci`: formatting, clippy and the test suite, as CI runs them.
//! - `cargo xtask migrate up|down [--all]|status`: migrations against `DATABASE_URL`.

mod postgres;

use std::{
    env,
    process::{Command, ExitCode},
};

use anyhow::{Context, bail};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  test [--throwaway-pg] [-- ARGS]   run every test on SQLite and PostgreSQL
  ci                                cargo fmt --check, clippy -D warnings, then test
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
    test(&[])
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
    match &server {
        postgres::Provided::Url(url) => {
            command.env("TEST_DATABASE_URL", url);
        }
        postgres::Provided::Throwaway(cluster) => {
            command.env("TEST_DATABASE_URL", cluster.url());
        }
        postgres::Provided::None(why) => {
            eprintln!("xtask: WARNING: PostgreSQL tests are skipped: {why}");
            command.args(["--skip", "postgres"]);
        }
    }
    let status = command.status().context("run cargo test")?;
    drop(server);
    if !status.success() {
        bail!("tests failed");
    }
    Ok(())
}

fn cargo(args: &[&str]) -> anyhow::Result<()> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status =
        Command::new(&cargo).args(args).status().with_context(|| format!("run cargo {args:?}"))?;
    if !status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(())
}
