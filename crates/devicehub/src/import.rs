//! `devicehub devices import --file FILE.csv`: a factory file (`cpu_serial,
//! hardware_blueprint_version,claim_code`) registered straight into the database, in batched
//! transactions. A bad row stops the import with its line number; the rows before it are
//! committed, and the message says how many, for `--skip N`. Serials already present are
//! skipped, so a plain re-run continues without duplicates too.

use std::{io::IsTerminal, path::Path, time::Instant};

use anyhow::{Context, bail};
use audit::providers::Actor;
use device_provisioning::providers::{self as provisioning, RegistrationItem};
use indicatif::{ProgressBar, ProgressStyle};

use crate::{cli::DatabaseArgs, commands};

const HEADER: [&str; 3] = ["cpu_serial", "hardware_blueprint_version", "claim_code"];
/// Plain progress lines (off a terminal): one per this many rows.
const PLAIN_EVERY: u64 = 10_000;

/// Rows handled so far.
#[derive(Debug, Default)]
struct Tally {
    /// Data rows done (registered, already present, or skipped with `--skip`).
    committed: u64,
    registered: u64,
    present: u64,
}

pub(crate) fn import(
    file: &Path,
    skip: u64,
    batch_size: usize,
    database: &DatabaseArgs,
) -> anyhow::Result<()> {
    let total = count_rows(file)?;
    let mut reader = csv::ReaderBuilder::new()
        .from_path(file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let header: Vec<String> = reader.headers()?.iter().map(|h| h.trim().to_owned()).collect();
    if header != HEADER {
        bail!(
            "{}: the header must be {}, not {}",
            file.display(),
            HEADER.join(","),
            header.join(",")
        );
    }
    let db = commands::open_and_migrate(database)?;
    let progress = Progress::new(total, skip);
    let started = Instant::now();
    let mut tally = Tally { committed: skip, ..Tally::default() };
    let mut batch: Vec<(u64, RegistrationItem)> = Vec::with_capacity(batch_size);
    for (n, record) in reader.records().enumerate() {
        if (n as u64) < skip {
            continue;
        }
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                commit(&db, &batch, &mut tally, &progress)?;
                return Err(stop(
                    err.position().map_or(n as u64 + 2, |p| p.line()),
                    &err.to_string(),
                    &tally,
                ));
            }
        };
        let line = record.position().map_or(n as u64 + 2, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or_default().trim().to_owned();
        let code = field(2);
        let item = RegistrationItem {
            cpu_serial: field(0),
            hardware_blueprint_version: field(1),
            claim_code: (!code.is_empty()).then_some(code),
        };
        batch.push((line, item));
        if batch.len() >= batch_size {
            commit(&db, &batch, &mut tally, &progress)?;
            batch.clear();
        }
    }
    commit(&db, &batch, &mut tally, &progress)?;
    progress.finish();
    report(&tally, skip, started);
    Ok(())
}

/// Registers one batch in one transaction; stops at its first bad row.
fn commit(
    db: &foundation::Db,
    batch: &[(u64, RegistrationItem)],
    tally: &mut Tally,
    progress: &Progress,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let items: Vec<RegistrationItem> = batch.iter().map(|(_, item)| item.clone()).collect();
    let actor = Actor::system();
    let done = db.write_blocking(|tx| provisioning::import_batch(tx, &items, &actor))?;
    let handled = (done.registered + done.skipped) as u64;
    tally.committed += handled;
    tally.registered += done.registered as u64;
    tally.present += done.skipped as u64;
    progress.advance(handled, tally.committed);
    match done.bad_row {
        Some((index, reason)) => Err(stop(batch[index].0, &reason, tally)),
        None => Ok(()),
    }
}

fn stop(line: u64, reason: &str, tally: &Tally) -> anyhow::Error {
    anyhow::anyhow!(
        "line {line}: {reason}\n{} data rows are committed ({} registered by this run, {} already present); \
         fix the line and re-run with --skip {} (or re-run as is: serials already present are skipped)",
        tally.committed,
        tally.registered,
        tally.present,
        tally.committed
    )
}

#[allow(clippy::print_stdout)] // the command's answer
fn report(tally: &Tally, skip: u64, started: Instant) {
    let seconds = started.elapsed().as_secs_f64();
    let rate = (tally.committed - skip) as f64 / seconds.max(1e-9);
    println!(
        "imported {} rows ({} registered, {} already present, {skip} skipped) in {seconds:.1} s ({rate:.0} rows/s)",
        tally.committed - skip,
        tally.registered,
        tally.present
    );
}

/// Data rows in the file (lines after the header), for the ETA.
fn count_rows(file: &Path) -> anyhow::Result<u64> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while reader.read_byte_record(&mut record).unwrap_or(false) {
        rows += 1;
    }
    Ok(rows)
}

/// A progress bar with rows/s and ETA on a terminal; plain lines otherwise.
enum Progress {
    Bar(ProgressBar),
    Lines { total: u64, started: Instant, next: std::cell::Cell<u64> },
}

impl Progress {
    fn new(total: u64, skip: u64) -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total);
            let style =
                ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {per_sec}  ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_position(skip.min(total));
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                total,
                started: Instant::now(),
                next: std::cell::Cell::new(skip + PLAIN_EVERY),
            }
        }
    }

    #[allow(clippy::print_stdout)] // progress lines are the command's output
    fn advance(&self, rows: u64, done: u64) {
        match self {
            Progress::Bar(bar) => bar.inc(rows),
            Progress::Lines { total, started, next } => {
                if done >= next.get() || done == *total {
                    let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
                    println!("{done}/{total} rows ({rate:.0} rows/s)");
                    next.set(done + PLAIN_EVERY);
                }
            }
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish();
        }
    }
}
