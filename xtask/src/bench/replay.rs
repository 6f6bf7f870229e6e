//! The database's own limit: the statements the server ran for one request, replayed with
//! nothing in between. PostgreSQL: a `pgbench` script. SQLite: a minimal Rust loop over the
//! server's own connection setup, with prepared statements cached as the server caches them.

use std::{
    fmt::Write as _,
    fs,
    path::Path,
    process::Command,
    sync::{Arc, Barrier},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use diesel::{
    QueryResult, QueryableByName, RunQueryDsl, SqliteConnection,
    connection::SimpleConnection,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    sql_types::{BigInt, Bool, Nullable, Text, Untyped},
    sqlite::Sqlite,
};
use foundation::{Db, DbConn, DbError, PoolOptions};
use serde::{Deserialize, Serialize};

use super::{
    Latencies,
    trace::{Statement, Value},
};

/// How a bound value changes from one replayed request to the next.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) enum Slot {
    /// Kept as captured.
    Same,
    /// A fresh unique text each time (a new serial, uuid or token hash).
    Fresh(usize),
    /// The id an earlier `RETURNING` statement of the same request gave.
    ReturnedId,
    /// A random device id in the scenario's range.
    RandomDevice,
}

/// The statements of one request, ready to replay.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Script {
    pub(crate) statements: Vec<(String, Vec<(Value, Slot)>)>,
    /// Index of the statement whose `RETURNING id` later statements use.
    pub(crate) returning: Option<usize>,
    pub(crate) fresh_count: usize,
    pub(crate) device_range: Option<(i64, i64)>,
}

/// What varies in a captured request, so the replay does the same work each time.
#[derive(Debug, Clone, Default)]
pub(crate) struct Variation {
    /// Captured text values that must be new in every replay (unique columns).
    pub(crate) fresh: Vec<String>,
    /// The id a `RETURNING` statement gave in the capture (a new device).
    pub(crate) returned_id: Option<i64>,
    /// The device id the capture read, and the range the load draws from.
    pub(crate) device: Option<(i64, (i64, i64))>,
}

impl Script {
    pub(crate) fn new(statements: &[Statement], variation: &Variation) -> anyhow::Result<Script> {
        let mut returning = None;
        let mut out = Vec::new();
        for (index, statement) in statements.iter().enumerate() {
            let mut binds = Vec::new();
            for value in &statement.binds {
                let slot = match value {
                    Value::Text(t) => match variation.fresh.iter().position(|f| f == t) {
                        Some(k) => {
                            if returning.is_none() && statement.sql.contains("RETURNING") {
                                returning = Some(index);
                            }
                            Slot::Fresh(k)
                        }
                        None => Slot::Same,
                    },
                    Value::Int(i) if returning.is_some() && variation.returned_id == Some(*i) => {
                        Slot::ReturnedId
                    }
                    Value::Int(i) if variation.device.is_some_and(|(d, _)| d == *i) => {
                        Slot::RandomDevice
                    }
                    _ => Slot::Same,
                };
                binds.push((value.clone(), slot));
            }
            out.push((statement.sql.clone(), binds));
        }
        if variation.returned_id.is_some() && returning.is_none() {
            bail!("the trace has no RETURNING statement for the new row");
        }
        Ok(Script {
            statements: out,
            returning: returning.filter(|_| variation.returned_id.is_some()),
            fresh_count: variation.fresh.len(),
            device_range: variation.device.map(|(_, range)| range),
        })
    }

    /// The script as `pgbench` runs it (`-M prepared`): captured values as literals, varying
    /// ones as pgbench variables.
    pub(crate) fn pgbench(&self) -> String {
        let mut out = String::new();
        for k in 0..self.fresh_count {
            let _ = writeln!(out, "\\set f{k} random(1, 1000000000000000)");
        }
        if let Some((lo, hi)) = self.device_range {
            let _ = writeln!(out, "\\set dev random({lo}, {hi})");
        }
        for (index, (sql, binds)) in self.statements.iter().enumerate() {
            let rendered = substitute_dollars(sql, |n| binds.get(n - 1).map(pg_literal));
            if self.returning == Some(index) {
                let _ = writeln!(out, "{rendered} \\gset r_");
            } else {
                let _ = writeln!(out, "{rendered};");
            }
        }
        out
    }
}

/// `$n` placeholders replaced by `render(n)`.
fn substitute_dollars(sql: &str, render: impl Fn(usize) -> Option<String>) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            match digits.parse().ok().and_then(&render) {
                Some(literal) => out.push_str(&literal),
                None => {
                    out.push('$');
                    out.push_str(&digits);
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn pg_literal((value, slot): &(Value, Slot)) -> String {
    match (slot, value) {
        (Slot::Fresh(k), _) => format!("(:f{k}::text)"),
        (Slot::ReturnedId, _) => ":r_id".to_owned(),
        (Slot::RandomDevice, _) => ":dev".to_owned(),
        (Slot::Same, Value::Null) => "NULL".to_owned(),
        (Slot::Same, Value::Int(i)) => i.to_string(),
        (Slot::Same, Value::Bool(b)) => b.to_string(),
        (Slot::Same, Value::Text(t) | Value::Time(t)) => pg_string(t),
        (Slot::Same, Value::List(items)) => {
            let items: Vec<String> =
                items.iter().map(|i| pg_literal(&(i.clone(), Slot::Same))).collect();
            format!("ARRAY[{}]", items.join(", "))
        }
    }
}

/// A string literal pgbench leaves alone: `:` would start a pgbench variable, so strings that
/// hold one are written as `E'…'` with `\x3a`.
fn pg_string(text: &str) -> String {
    if !text.contains([':', '\\']) {
        return format!("'{}'", text.replace('\'', "''"));
    }
    let escaped = text.replace('\\', "\\\\").replace('\'', "\\'").replace(':', "\\x3a");
    format!("E'{escaped}'")
}

/// Throughput and latencies of one replay.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LimitResult {
    pub(crate) per_second: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) transactions: u64,
}

impl LimitResult {
    /// One latency per transaction, over `seconds`.
    fn from_latencies(mut latencies: Latencies, seconds: u64) -> LimitResult {
        let transactions = latencies.len() as u64;
        LimitResult {
            per_second: transactions as f64 / seconds.max(1) as f64,
            p50_ms: latencies.percentile_ms(50.0),
            p99_ms: latencies.percentile_ms(99.0),
            transactions,
        }
    }
}

/// Runs `script` with `pgbench` on `core`: `clients` connections for `seconds`.
pub(crate) fn pgbench(
    url: &str,
    script: &Script,
    clients: u32,
    seconds: u64,
    work: &Path,
) -> anyhow::Result<LimitResult> {
    let file = work.join("replay.pgbench");
    fs::write(&file, script.pgbench())?;
    let logs = work.join("pgbench-log");
    if logs.exists() {
        fs::remove_dir_all(&logs)?;
    }
    fs::create_dir_all(&logs)?;
    let output = Command::new("taskset")
        .args(["-c", "1", "pgbench", "-n", "-M", "prepared", "-j", "1", "-l"])
        .arg(format!("--log-prefix={}", logs.join("tx").display()))
        .args(["-c", &clients.to_string(), "-T", &seconds.to_string(), "-f"])
        .arg(&file)
        .arg(url)
        .output()
        .context("pgbench (from PostgreSQL's client package) is needed for the limit")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || failed_transactions(&stdout) > 0 {
        bail!(
            "pgbench failed on {}:\n{stdout}\n{}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut latencies = Latencies::default();
    for entry in fs::read_dir(&logs)? {
        for line in fs::read_to_string(entry?.path())?.lines() {
            // client_id transaction_no time_us script_no epoch epoch_us
            if let Some(us) = line.split_whitespace().nth(2).and_then(|t| t.parse().ok()) {
                latencies.push_us(us);
            }
        }
    }
    Ok(LimitResult::from_latencies(latencies, seconds))
}

fn failed_transactions(report: &str) -> u64 {
    report
        .lines()
        .find_map(|l| l.strip_prefix("number of failed transactions: "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The SQLite replay, run in a child process pinned to the server's core
/// (`xtask bench-replay-sqlite SPEC.json`).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SqliteSpec {
    pub(crate) url: String,
    pub(crate) script: Script,
    pub(crate) threads: u32,
    pub(crate) seconds: u64,
}

pub(crate) fn sqlite_in_child(spec: &SqliteSpec, work: &Path) -> anyhow::Result<LimitResult> {
    let file = work.join("replay-sqlite.json");
    fs::write(&file, serde_json::to_vec(spec)?)?;
    let exe = std::env::current_exe()?;
    let output = Command::new("taskset")
        .args(["-c", "0"])
        .arg(exe)
        .arg("bench-replay-sqlite")
        .arg(&file)
        .output()
        .context("run the SQLite replay")?;
    if !output.status.success() {
        bail!("SQLite replay failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// Entry point of the child: runs the spec and prints the result as JSON.
pub(crate) fn sqlite_child(args: &[String]) -> anyhow::Result<()> {
    let [file] = args else { bail!("usage: xtask bench-replay-sqlite SPEC.json") };
    let spec: SqliteSpec = serde_json::from_slice(&fs::read(file)?)?;
    let result = sqlite_loop(&spec)?;
    let json = serde_json::to_string(&result)?;
    std::io::Write::write_all(&mut std::io::stdout(), json.as_bytes())?;
    Ok(())
}

fn sqlite_loop(spec: &SqliteSpec) -> anyhow::Result<LimitResult> {
    let options = PoolOptions { max_connections: spec.threads, ..PoolOptions::default() };
    let db = Db::connect(&spec.url.parse()?, &options)?;
    let start = Arc::new(Barrier::new(spec.threads as usize));
    let workers: Vec<_> = (0..spec.threads)
        .map(|worker| {
            let (db, start, script) = (db.clone(), start.clone(), spec.script.clone());
            let seconds = spec.seconds;
            thread::spawn(move || {
                db.read_blocking(|conn| match conn {
                    DbConn::Sqlite(c) => Ok(replay_for(c, &script, worker, &start, seconds)),
                    DbConn::Pg(_) => Err(DbError::Unavailable("not SQLite".into())),
                })
            })
        })
        .collect();
    let mut latencies = Latencies::default();
    for worker in workers {
        let done = worker.join().map_err(|_| anyhow::anyhow!("replay thread panicked"))??;
        latencies.extend(done?);
    }
    Ok(LimitResult::from_latencies(latencies, spec.seconds))
}

fn replay_for(
    conn: &mut SqliteConnection,
    script: &Script,
    worker: u32,
    start: &Barrier,
    seconds: u64,
) -> anyhow::Result<Latencies> {
    let mut latencies = Latencies::default();
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64 ^ u64::from(worker);
    // Fresh values must not repeat those of an earlier replay on the same database.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    start.wait();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut round = 0_u64;
    while Instant::now() < deadline {
        round += 1;
        let began = Instant::now();
        let fresh: Vec<String> =
            (0..script.fresh_count).map(|k| format!("r{run}-{worker}-{round}-{k}")).collect();
        rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let device = script.device_range.map(|(lo, hi)| lo + (rng >> 33) as i64 % (hi - lo + 1));
        let mut returned = None;
        for (index, (sql, binds)) in script.statements.iter().enumerate() {
            let values: Vec<Value> = binds
                .iter()
                .map(|(value, slot)| match slot {
                    Slot::Same => value.clone(),
                    Slot::Fresh(k) => Value::Text(fresh[*k].clone()),
                    Slot::ReturnedId => returned.map_or(Value::Null, Value::Int),
                    Slot::RandomDevice => device.map_or(Value::Null, Value::Int),
                })
                .collect();
            run_statement(conn, sql, &values, script.returning == Some(index), &mut returned)
                .with_context(|| format!("replaying {sql}"))?;
        }
        latencies.push_us(began.elapsed().as_micros() as u64);
    }
    Ok(latencies)
}

fn run_statement(
    conn: &mut SqliteConnection,
    sql: &str,
    values: &[Value],
    returns_id: bool,
    returned: &mut Option<i64>,
) -> QueryResult<()> {
    let statement = Cached { sql, values };
    if returns_id {
        *returned = statement.load::<IdRow>(conn)?.first().map(|row| row.id);
    } else if values.is_empty() && !sql.starts_with("SELECT") {
        conn.batch_execute(sql)?;
    } else {
        statement.execute(conn)?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// A captured statement with its values bound: diesel caches its prepared statement by SQL
/// text, as it does for the server's own queries.
#[derive(Debug, Clone, Copy)]
struct Cached<'a> {
    sql: &'a str,
    values: &'a [Value],
}

impl QueryFragment<Sqlite> for Cached<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        let mut pieces = self.sql.split('?');
        out.push_sql(pieces.next().unwrap_or_default());
        for (piece, value) in pieces.zip(self.values) {
            match value {
                Value::Null => out.push_bind_param::<Nullable<Text>, Option<String>>(&None)?,
                Value::Int(i) => out.push_bind_param::<BigInt, _>(i)?,
                Value::Bool(b) => out.push_bind_param::<Bool, _>(b)?,
                Value::Text(t) | Value::Time(t) => out.push_bind_param::<Text, _>(t)?,
                Value::List(_) => {
                    return Err(diesel::result::Error::SerializationError(
                        "SQLite has no array binds".into(),
                    ));
                }
            }
            out.push_sql(piece);
        }
        Ok(())
    }
}

impl QueryId for Cached<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Cached<'_> {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Cached<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(sql: &str, binds: Vec<Value>) -> Statement {
        Statement { sql: sql.into(), binds }
    }

    #[test]
    fn pgbench_script_varies_what_must_vary() {
        let trace = [
            statement("BEGIN", vec![]),
            statement(
                "INSERT INTO d (s, u, t) VALUES ($1, $2, $3) RETURNING id",
                vec![
                    Value::Text("S-1".into()),
                    Value::Text("it's".into()),
                    Value::Time("2026-11-23 10:00:00".into()),
                ],
            ),
            statement("INSERT INTO l (d, u) VALUES ($1, $2)", vec![Value::Int(77), Value::Int(3)]),
            statement("COMMIT", vec![]),
        ];
        let variation =
            Variation { fresh: vec!["S-1".into()], returned_id: Some(77), device: None };
        let script = Script::new(&trace, &variation).unwrap();
        assert_eq!(
            script.pgbench(),
            "\\set f0 random(1, 1000000000000000)\nBEGIN;\n\
             INSERT INTO d (s, u, t) VALUES ((:f0::text), 'it''s', E'2026-11-23 10\\x3a00\\x3a00') RETURNING id \\gset r_\n\
             INSERT INTO l (d, u) VALUES (:r_id, 3);\nCOMMIT;\n"
        );
    }

    #[test]
    fn a_read_draws_its_device() {
        let trace = [statement(
            "SELECT * FROM d WHERE id = $1 AND u = $2 LIMIT $3",
            vec![Value::Int(500), Value::Int(2), Value::Int(1)],
        )];
        let variation = Variation { device: Some((500, (10, 500))), ..Variation::default() };
        let script = Script::new(&trace, &variation).unwrap();
        assert!(script.pgbench().ends_with("WHERE id = :dev AND u = 2 LIMIT 1;\n"));
        assert!(script.pgbench().starts_with("\\set dev random(10, 500)\n"));
    }
}
