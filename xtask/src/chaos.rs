//! `cargo xtask chaos [--long] [-- ARGS]`: the resilience scenarios on their own — database
//! outages (a stopped server and a network cut), `kill -9` storms, SIGTERM under load, and the
//! races spread over three server processes.
//!
//! The tests are the scenarios: CI runs their short versions with the rest of the suite, and
//! `--long` only raises the sizes they read from the environment. The run goes through
//! `cargo xtask test` (same PostgreSQL provisioning, `-- ARGS` passed on); it is started as a
//! child so the knobs reach the tests through its environment.

use std::{env, process::Command};

use anyhow::{Context, bail};

/// The test filters of the scenarios (`-- ARGS` replaces them).
const SCENARIOS: [&str; 2] =
    ["resilience::", "concurrency::races_spread_over_three_processes_on_one_postgres"];

/// The long version's sizes (the defaults are in the tests: 20 kills, 1 outage, 5 rounds).
const LONG: [(&str, &str); 3] =
    [("CHAOS_KILLS", "100"), ("CHAOS_OUTAGES", "10"), ("CHAOS_ROUNDS", "50")];

pub(crate) fn chaos(args: &[String]) -> anyhow::Result<()> {
    let long = args.first().is_some_and(|a| a == "--long");
    let rest = &args[usize::from(long)..];
    let filters: Vec<&str> = match rest.split_first() {
        None => SCENARIOS.to_vec(),
        Some((dashes, filters)) if dashes == "--" => filters.iter().map(String::as_str).collect(),
        Some((other, _)) => bail!("chaos: unexpected {other:?}; usage: chaos [--long] [-- ARGS]"),
    };
    let xtask = env::current_exe().context("find the xtask binary")?;
    let mut command = Command::new(xtask);
    // --show-output: the scenarios print their figures (kills, writes kept, answer times).
    command.args(["test", "--", "--show-output"]).args(filters);
    if long {
        command.envs(LONG);
    }
    let status = command.status().context("run xtask test")?;
    if !status.success() {
        bail!("chaos scenarios failed");
    }
    Ok(())
}
