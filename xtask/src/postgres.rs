//! Finding a PostgreSQL server for the tests, or starting a throwaway one.

use std::{
    env, fs,
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{Context, bail};

const LOCAL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Where the PostgreSQL tests will connect.
pub(crate) enum Provided {
    /// `TEST_DATABASE_URL`, or the local server on 5432.
    Url(String),
    /// A cluster started for this run; stopped when dropped.
    Throwaway(Cluster),
    /// No server and no way to start one (allowed outside CI only).
    None(String),
}

impl Provided {
    /// The server's URL, when there is one.
    pub(crate) fn url(&self) -> Option<String> {
        match self {
            Provided::Url(url) => Some(url.clone()),
            Provided::Throwaway(cluster) => Some(cluster.url()),
            Provided::None(_) => None,
        }
    }
}

pub(crate) fn provide(force_throwaway: bool) -> anyhow::Result<Provided> {
    if !force_throwaway {
        if let Ok(url) = env::var("TEST_DATABASE_URL") {
            eprintln!("xtask: PostgreSQL from TEST_DATABASE_URL");
            return Ok(Provided::Url(url));
        }
        if answers("127.0.0.1:5432") {
            eprintln!("xtask: PostgreSQL at {LOCAL}");
            return Ok(Provided::Url(LOCAL.to_owned()));
        }
    }
    match Cluster::start() {
        Ok(cluster) => {
            eprintln!("xtask: started a throwaway PostgreSQL cluster at {}", cluster.url());
            Ok(Provided::Throwaway(cluster))
        }
        Err(err) if env::var_os("CI").is_none() => Ok(Provided::None(format!("{err:#}"))),
        Err(err) => Err(err.context(
            "CI is set and no PostgreSQL is reachable: TEST_DATABASE_URL is unset, nothing \
             answers on 127.0.0.1:5432, and a throwaway cluster could not be started",
        )),
    }
}

fn answers(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .is_ok_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok())
}

/// A PostgreSQL cluster in `target/xtask-postgres`, made with `initdb` and run with `pg_ctl`.
pub(crate) struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    run_as: Option<String>,
}

impl Cluster {
    fn start() -> anyhow::Result<Cluster> {
        let bin =
            find_bin_dir().context("no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin")?;
        let root = workspace_root().join("target/xtask-postgres");
        if root.exists() {
            fs::remove_dir_all(&root).with_context(|| format!("remove {}", root.display()))?;
        }
        let data = root.join("data");
        fs::create_dir_all(&root)?;
        // initdb refuses to run as root: run the cluster as an unprivileged user then.
        let run_as = if is_root() { Some(unprivileged_user()?) } else { None };
        if let Some(user) = &run_as {
            run(Command::new("chown").args(["-R", user]).arg(&root))?;
        }
        let port = free_port()?;
        let cluster = Cluster { bin, data, port, run_as };
        cluster.pg(
            "initdb",
            &[
                "-D",
                &cluster.data_str(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c synchronous_commit=off -c max_connections=300",
            root.display()
        );
        let log = root.join("postgres.log");
        cluster.pg(
            "pg_ctl",
            &[
                "-D",
                &cluster.data_str(),
                "-o",
                &options,
                "-l",
                &log.display().to_string(),
                "-w",
                "start",
            ],
        )?;
        Ok(cluster)
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn data_str(&self) -> String {
        self.data.display().to_string()
    }

    fn pg(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let program = self.bin.join(tool);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        command.args(args).current_dir(env::temp_dir());
        run(&mut command)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg("pg_ctl", &["-D", &self.data_str(), "-m", "immediate", "stop"]);
    }
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let output = command.output().with_context(|| format!("run {command:?}"))?;
    if !output.status.success() {
        bail!("{command:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

fn find_bin_dir() -> Option<PathBuf> {
    let on_path = env::var_os("PATH").and_then(|paths| {
        env::split_paths(&paths)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    });
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("initdb").is_file())
            .collect();
        versions.sort();
        versions.pop()
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn unprivileged_user() -> anyhow::Result<String> {
    for user in ["postgres", "nobody"] {
        if Command::new("id").arg(user).output().is_ok_and(|o| o.status.success()) {
            return Ok(user.to_owned());
        }
    }
    bail!("running as root and neither a postgres nor a nobody user exists to run initdb")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
