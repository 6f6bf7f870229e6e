//! `cargo xtask fuzz [--examples N]`: schemathesis (from PyPI) generates requests from the
//! server's own `/openapi.json` and checks every answer: no 5xx, status codes, content types,
//! headers and bodies as documented, 405 with `Allow` for undeclared methods, auth enforced.
//! The server runs on a fresh SQLite file on a loopback port; the seed is fixed so CI is
//! repeatable.

use std::{
    fs,
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
};

use anyhow::{Context, bail};

use crate::cargo;

const ADMIN_PASSWORD: &str = "fuzz-admin-password";

pub(crate) fn fuzz(args: &[String]) -> anyhow::Result<()> {
    let examples: u32 = match args {
        [] => 25,
        [flag, n] if flag == "--examples" => n.parse().context("--examples takes a number")?,
        _ => bail!("usage: cargo xtask fuzz [--examples N]"),
    };
    let schemathesis = ensure_schemathesis()?;
    cargo(&["build", "--quiet", "-p", "devicehub"])?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz");
    if root.exists() {
        fs::remove_dir_all(&root)?;
    }
    fs::create_dir_all(&root)?;
    let (mut server, addr) = start_server(&root)?;
    let result = run_schemathesis(&schemathesis, &addr, examples);
    let _ = server.kill();
    let _ = server.wait();
    result
}

/// The schemathesis command: on `PATH`, else in Python's scripts folder (a fresh install may
/// not be on `PATH` yet, e.g. before `pyenv rehash`). Installs it from PyPI when missing.
fn ensure_schemathesis() -> anyhow::Result<PathBuf> {
    if let Some(found) = find_schemathesis() {
        return Ok(found);
    }
    eprintln!("xtask: installing schemathesis from PyPI");
    let status = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "schemathesis"])
        .status()
        .context("python3 is needed to install schemathesis")?;
    if !status.success() {
        bail!("pip install schemathesis failed");
    }
    let _ = Command::new("pyenv").arg("rehash").status();
    find_schemathesis().context("schemathesis was installed but cannot be found")
}

fn find_schemathesis() -> Option<PathBuf> {
    let works = |program: &Path| {
        Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success())
    };
    let on_path = PathBuf::from("schemathesis");
    if works(&on_path) {
        return Some(on_path);
    }
    let scripts = Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_path('scripts'))"])
        .output()
        .ok()?;
    let candidate =
        PathBuf::from(String::from_utf8_lossy(&scripts.stdout).trim()).join("schemathesis");
    works(&candidate).then_some(candidate)
}

/// Starts `devicehub serve` on a free loopback port; returns it and its address.
fn start_server(root: &Path) -> anyhow::Result<(Child, String)> {
    let binary = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/devicehub");
    let mut server = Command::new(binary)
        .arg("serve")
        .env("DATABASE_URL", format!("sqlite://{}", root.join("fuzz.db").display()))
        .env("DEVICEHUB_BIND", "127.0.0.1:0")
        .env("DEVICEHUB_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("DEVICEHUB_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn,devicehub=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("start devicehub")?;
    let stdout = server.stdout.take().context("server stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let Some(line) = lines.next() else { bail!("devicehub exited before listening") };
        let line = line?;
        if line.contains("\"listening\"")
            && let Some(addr) =
                line.split("\"addr\":\"").nth(1).and_then(|rest| rest.split('"').next())
        {
            break addr.to_owned();
        }
    };
    let log = root.join("server.log");
    thread::spawn(move || {
        if let Ok(mut file) = fs::File::create(log) {
            for line in lines.map_while(Result::ok) {
                let _ = writeln!(file, "{line}");
            }
        }
    });
    Ok((server, addr))
}

/// Logs in as the admin (with Python's standard library, which schemathesis needs anyway).
fn login(addr: &str) -> anyhow::Result<String> {
    let script = format!(
        "import json, urllib.request\n\
         body = json.dumps({{'username': 'admin', 'password': '{ADMIN_PASSWORD}'}}).encode()\n\
         req = urllib.request.Request('http://{addr}/api/v1/auth/login', body, {{'content-type': 'application/json'}})\n\
         print(json.load(urllib.request.urlopen(req))['access_token'])"
    );
    let output = Command::new("python3").args(["-c", &script]).output().context("run python3")?;
    if !output.status.success() {
        bail!("login failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

fn run_schemathesis(schemathesis: &Path, addr: &str, examples: u32) -> anyhow::Result<()> {
    let token = login(addr)?;
    let status = Command::new(schemathesis)
        .args(["run", &format!("http://{addr}/openapi.json")])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--max-examples", &examples.to_string(), "--seed", "1"])
        // Logging out or revoking tokens would end the run's own session.
        .args(["--exclude-path", "/api/v1/auth/logout", "--exclude-path-regex", "tokens/\\{id\\}"])
        // The schema does not spell out every value rule (formats, lengths), so valid-looking
        // values may be refused with 422; every other check applies.
        .args(["--exclude-checks", "positive_data_acceptance"])
        .status()
        .context("run schemathesis")?;
    if !status.success() {
        bail!("schemathesis found failures (server log: target/fuzz/server.log)");
    }
    Ok(())
}
