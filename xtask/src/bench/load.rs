//! The load generator: `wrk` with a generated Lua script, pinned to core 1 (the server runs on
//! core 0), one wrk thread, a fixed number of connections.

use std::{fmt::Write as _, fs, path::Path, process::Command};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// What a scenario's requests look like.
#[derive(Debug, Clone)]
pub(crate) enum Traffic {
    /// `POST /devices/claim` of new serials, the tokens taken in turn.
    Claim { tokens: Vec<String>, blueprint: String, run: String },
    /// `GET /devices/{id}` with ids drawn from `range`.
    Read { token: String, context: String, range: (i64, i64) },
    /// `GET` of one fixed path (a list page).
    Get { token: String, context: String, path: String },
    /// `POST /auth/login`, the users taken in turn.
    Login { usernames: Vec<String>, password: String },
}

/// What wrk measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LoadResult {
    pub(crate) requests: u64,
    pub(crate) per_second: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) errors: u64,
}

/// Checks that wrk is installed, installing it from the distribution when running as root
/// in CI.
pub(crate) fn ensure_wrk() -> anyhow::Result<()> {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return Ok(());
    }
    if std::env::var_os("CI").is_some() {
        eprintln!("xtask: installing wrk with apt-get");
        let status = Command::new("apt-get").args(["install", "-y", "-q", "wrk"]).status();
        if status.is_ok_and(|s| s.success()) {
            return Ok(());
        }
    }
    bail!("the benchmark needs wrk (Debian/Ubuntu: apt-get install wrk)")
}

pub(crate) fn run(
    base: &str,
    traffic: &Traffic,
    connections: u32,
    seconds: u64,
    work: &Path,
) -> anyhow::Result<LoadResult> {
    let script = work.join("load.lua");
    fs::write(&script, lua(traffic))?;
    let output = Command::new("taskset")
        .args(["-c", "1", "wrk", "-t1", "--timeout", "10s"])
        .args(["-c", &connections.to_string(), "-d", &format!("{seconds}s"), "-s"])
        .arg(&script)
        .arg(base)
        .output()
        .context("run wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix("WRK ")).with_context(|| {
        format!("wrk printed no result:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr))
    })?;
    let numbers: Vec<f64> = line.split_whitespace().filter_map(|n| n.parse().ok()).collect();
    let [requests, duration_us, p50_us, p99_us, errors] = numbers[..] else {
        bail!("unexpected wrk result {line:?}");
    };
    Ok(LoadResult {
        requests: requests as u64,
        per_second: requests / (duration_us / 1e6),
        p50_ms: p50_us / 1000.0,
        p99_ms: p99_us / 1000.0,
        errors: errors as u64,
    })
}

fn lua(traffic: &Traffic) -> String {
    let mut lua = String::from("local n = 0\n");
    let request = match traffic {
        Traffic::Claim { tokens, blueprint, run } => {
            let _ = writeln!(lua, "local tokens = {}", lua_list(tokens));
            format!(
                "  local body = '{{\"cpu_serial\":\"W{run}-' .. n .. '\",\"hardware_blueprint_version\":\"{blueprint}\"}}'\n  \
                 local headers = {{[\"Authorization\"] = \"Bearer \" .. tokens[n % #tokens + 1], [\"Content-Type\"] = \"application/json\"}}\n  \
                 return wrk.format(\"POST\", \"/api/v1/devices/claim\", headers, body)\n"
            )
        }
        Traffic::Read { token, context, range: (lo, hi) } => format!(
            "  local headers = {{[\"Authorization\"] = \"Bearer {token}\", [\"X-Active-Context\"] = \"{context}\"}}\n  \
             return wrk.format(\"GET\", \"/api/v1/devices/\" .. math.random({lo}, {hi}), headers)\n"
        ),
        Traffic::Get { token, context, path } => format!(
            "  local headers = {{[\"Authorization\"] = \"Bearer {token}\", [\"X-Active-Context\"] = \"{context}\"}}\n  \
             return wrk.format(\"GET\", \"{path}\", headers)\n"
        ),
        Traffic::Login { usernames, password } => {
            let _ = writeln!(lua, "local users = {}", lua_list(usernames));
            format!(
                "  local body = '{{\"username\":\"' .. users[n % #users + 1] .. '\",\"password\":\"{password}\"}}'\n  \
                 return wrk.format(\"POST\", \"/api/v1/auth/login\", {{[\"Content-Type\"] = \"application/json\"}}, body)\n"
            )
        }
    };
    let _ = write!(lua, "request = function()\n  n = n + 1\n{request}end\n");
    lua.push_str(
        "done = function(summary, latency, requests)\n  \
         local e = summary.errors\n  \
         io.write(string.format(\"WRK %d %d %.0f %.0f %d\\n\", summary.requests, summary.duration,\n    \
         latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))\n\
         end\n",
    );
    lua
}

fn lua_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    format!("{{{}}}", quoted.join(", "))
}
