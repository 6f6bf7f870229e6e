//! A PostgreSQL cluster of one test's own: `initdb` into a temporary folder and `pg_ctl` on a
//! free loopback port, so the test can stop and start a real server without touching the one
//! every other test shares. Dropping it stops the server and removes the folder, also when the
//! test fails.
//!
//! `cargo xtask test` starts its throwaway cluster the same way (`xtask/src/postgres.rs`); tests
//! cannot depend on xtask, so this is its test-side counterpart.

use std::{
    fs,
    net::TcpListener,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use super::{Backend, TestDb};

/// fsync is off: the cluster lives for one test, and what it must keep across a stop is kept
/// by PostgreSQL's own shutdown checkpoint, not by the disk.
const SETTINGS: &str = "-c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50";

#[derive(Debug)]
pub(crate) struct Cluster {
    bin: PathBuf,
    folder: tempfile::TempDir,
    port: u16,
    /// `initdb` refuses to run as root: then every tool runs as this user (`runuser -u`).
    run_as: Option<&'static str>,
}

impl Cluster {
    /// Makes and starts a cluster. Without `initdb`/`pg_ctl` on this machine it fails under
    /// `CI`, and elsewhere says why the test is skipped and returns `None`.
    pub(crate) fn start_or_skip(test: &str) -> Option<Cluster> {
        let Some(bin) = bin_dir() else {
            let why = "no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin";
            assert!(std::env::var_os("CI").is_none(), "{test} needs its own PostgreSQL: {why}");
            eprintln!("{test} skipped: {why}");
            return None;
        };
        let folder = tempfile::tempdir().expect("temporary folder");
        // The folder belongs to whoever made it: root's means running as root.
        let root = folder.path().metadata().expect("folder metadata").uid() == 0;
        let run_as = root.then(|| {
            ["postgres", "nobody"]
                .into_iter()
                .find(|user| {
                    Command::new("id").arg(user).output().is_ok_and(|o| o.status.success())
                })
                .expect("running as root, with no postgres or nobody user to run initdb")
        });
        if let Some(user) = run_as {
            let chown = Command::new("chown").arg(user).arg(folder.path()).status();
            assert!(chown.is_ok_and(|s| s.success()), "chown {user} the cluster's folder");
        }
        let cluster = Cluster { bin, folder, port: free_port(), run_as };
        let data = cluster.data();
        cluster.pg("initdb", &["-D", &data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "-N"]);
        cluster.start();
        Some(cluster)
    }

    /// `pg_ctl start`, waiting until the server accepts connections.
    pub(crate) fn start(&self) {
        let options = format!("-p {} -k {} {SETTINGS}", self.port, self.folder.path().display());
        let log = self.folder.path().join("postgres.log");
        let log = log.to_str().expect("utf-8 path");
        let output =
            self.try_pg("pg_ctl", &["-D", &self.data(), "-o", &options, "-l", log, "-w", "start"]);
        assert!(
            output.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&output.stderr),
            fs::read_to_string(log).unwrap_or_default()
        );
    }

    /// `pg_ctl stop -m fast`: open sessions are ended, and it returns once the server is down.
    pub(crate) fn stop(&self) {
        self.pg("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    /// A handle on the cluster's `postgres` database; the cluster, not the handle, removes it.
    pub(crate) fn db(&self) -> TestDb {
        TestDb::owned_elsewhere(
            Backend::Postgres,
            format!("postgres://postgres@127.0.0.1:{}/postgres", self.port),
        )
    }

    fn data(&self) -> String {
        self.folder.path().join("data").to_str().expect("utf-8 path").to_owned()
    }

    fn pg(&self, tool: &str, args: &[&str]) {
        let output = self.try_pg(tool, args);
        assert!(
            output.status.success(),
            "{tool} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn try_pg(&self, tool: &str, args: &[&str]) -> Output {
        let program = self.bin.join(tool);
        let mut command = match self.run_as {
            Some(user) => {
                let mut runuser = Command::new("runuser");
                runuser.args(["-u", user, "--"]).arg(program);
                runuser
            }
            None => Command::new(program),
        };
        command.args(args).current_dir(self.folder.path());
        command.output().unwrap_or_else(|e| panic!("run {tool}: {e}"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Ignored when already stopped; the folder goes with `TempDir`.
        let _ = self.try_pg("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
    }
}

/// A free loopback port below Linux's ephemeral range (32768–60999): while the server is
/// stopped, no other test's port-0 listener or outgoing connection can take it from under the
/// restart.
fn free_port() -> u16 {
    let start = 20_000 + (std::process::id() % 12_000) as u16;
    (start..32_000)
        .chain(20_000..start)
        .find(|port| TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port between 20000 and 32000")
}

/// The folder holding `initdb` and `pg_ctl`: on `PATH`, else the newest major version under
/// `/usr/lib/postgresql` (Debian installs them there, off `PATH`).
fn bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(dir) = std::env::split_paths(&path).find(|dir| has_tools(dir)) {
        return Some(dir);
    }
    let major = |dir: &PathBuf| dir.parent()?.file_name()?.to_str()?.parse::<u32>().ok();
    fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|dir| has_tools(dir))
        .max_by_key(major)
}
