//! `cargo xtask bench-import [--rows N]`: times `devicehub devices import` of a generated
//! factory file on SQLite and PostgreSQL (release build), side by side in one run.

use std::{fmt::Write as _, fs, path::Path, process::Command, time::Instant};

use anyhow::{Context, bail};

use super::{binary, scratch_database};
use crate::{cargo, postgres};

const BLUEPRINT: &str = "bench-board-1.0";

pub(crate) fn import(args: &[String]) -> anyhow::Result<()> {
    let rows: usize = match args {
        [] => 100_000,
        [flag, n] if flag == "--rows" => n.parse().context("--rows takes a number")?,
        _ => bail!("usage: cargo xtask bench-import [--rows N]"),
    };
    cargo(&["build", "--release", "--quiet", "-p", "devicehub"])?;
    let root = super::bench_root();
    fs::create_dir_all(&root)?;
    let csv = root.join(format!("factory-{rows}.csv"));
    fs::write(&csv, factory_file(rows))?;

    let mut results = Vec::new();
    let sqlite = root.join("import.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = fs::remove_file(format!("{}{suffix}", sqlite.display()));
    }
    results.push(("SQLite", run(&format!("sqlite://{}", sqlite.display()), &csv)?));
    let server = postgres::provide(false)?;
    match server.url() {
        Some(admin_url) => {
            let url = scratch_database(&admin_url, "devicehub_bench")?;
            results.push(("PostgreSQL", run(&url, &csv)?));
        }
        None => eprintln!("xtask: PostgreSQL skipped: no server"),
    }
    println!(
        "\n| backend | {rows} rows | rows/s | re-run (all present) |\n| --- | --- | --- | --- |"
    );
    for (backend, (first, again)) in results {
        println!("| {backend} | {first:.1} s | {:.0} | {again:.1} s |", rows as f64 / first);
    }
    Ok(())
}

fn factory_file(rows: usize) -> String {
    let mut csv = String::from("cpu_serial,hardware_blueprint_version,claim_code\n");
    for i in 0..rows {
        let _ = writeln!(csv, "BENCH-{i:08},{BLUEPRINT},LABEL-{i:08}");
    }
    csv
}

/// Seconds for the import, and for a re-run of the same file.
fn run(url: &str, csv: &Path) -> anyhow::Result<(f64, f64)> {
    devicehub(url, &["admin", "create-blueprint", "--name", "bench", "--version", BLUEPRINT])?;
    let started = Instant::now();
    devicehub(url, &["devices", "import", "--file", &csv.display().to_string()])?;
    let first = started.elapsed().as_secs_f64();
    let started = Instant::now();
    devicehub(url, &["devices", "import", "--file", &csv.display().to_string()])?;
    Ok((first, started.elapsed().as_secs_f64()))
}

fn devicehub(url: &str, args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new(binary())
        .args(args)
        .env("DATABASE_URL", url)
        .env("DEVICEHUB_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
        .output()
        .context("run devicehub")?;
    if !output.status.success() {
        bail!("devicehub {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}
