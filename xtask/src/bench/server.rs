//! Running the release server for the benchmark, and reading its CPU time and peak memory
//! from `/proc`.

use std::{
    fs,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

use super::binary;

pub(crate) const ADMIN_PASSWORD: &str = "bench-admin-password";

/// How a benchmark server is started.
#[derive(Debug, Clone)]
pub(crate) struct ServerOptions {
    pub(crate) url: String,
    pub(crate) pool: u32,
    /// The core the server is pinned to (`taskset`), if any.
    pub(crate) core: Option<u32>,
    /// Where the SQL trace goes (the capture server only).
    pub(crate) trace: Option<PathBuf>,
    pub(crate) log: PathBuf,
}

/// A running `devicehub serve`; stopped with SIGTERM when dropped.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
}

impl Server {
    pub(crate) fn start(options: &ServerOptions) -> anyhow::Result<Server> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = match options.core {
            Some(core) => {
                let mut c = Command::new("taskset");
                c.args(["-c", &core.to_string()]).arg(binary());
                c
            }
            None => Command::new(binary()),
        };
        command
            .arg("serve")
            .env("DATABASE_URL", &options.url)
            .env("DEVICEHUB_BIND", format!("127.0.0.1:{port}"))
            .env("DEVICEHUB_DB_MAX_CONNECTIONS", options.pool.to_string())
            .env("DEVICEHUB_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("DEVICEHUB_LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(fs::File::create(&options.log)?);
        if let Some(trace) = &options.trace {
            command.env("DEVICEHUB_SQL_TRACE", trace);
        }
        let child = command.spawn().context("start devicehub")?;
        let server = Server { child, base: format!("http://127.0.0.1:{port}") };
        server.wait_ready(&options.log)?;
        Ok(server)
    }

    fn wait_ready(&self, log: &Path) -> anyhow::Result<()> {
        let client = reqwest::blocking::Client::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            let url = format!("{}/readyz", self.base);
            if client.get(url).send().is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(50));
        }
        bail!("the server did not get ready; its log: {}", fs::read_to_string(log)?)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User plus system CPU seconds the server has used so far.
    pub(crate) fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // Fields after the command name (which is in parentheses): utime is the 12th, stime the
        // 13th; both in clock ticks.
        let after = stat.rsplit_once(')').map(|(_, rest)| rest).context("odd /proc stat")?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: f64 = fields
            .get(11..13)
            .context("short /proc stat")?
            .iter()
            .try_fold(0.0, |sum, f| -> anyhow::Result<f64> { Ok(sum + f.parse::<f64>()?) })?;
        Ok(ticks / clock_ticks_per_second())
    }

    /// The most resident memory the server has had (`VmHWM`), in MiB.
    pub(crate) fn peak_rss_mib(&self) -> anyhow::Result<f64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("no VmHWM in /proc status")?;
        Ok(kib / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}
