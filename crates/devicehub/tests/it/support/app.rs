//! A running `devicehub serve` process on a fresh database.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex, mpsc},
    thread,
    time::{Duration, Instant},
};

use reqwest::{
    Method, StatusCode,
    blocking::{Client, RequestBuilder, Response},
};
use serde_json::{Value, json};

use super::{Backend, TestDb};

/// The server binary under test, started as an operator would start it.
pub(crate) struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    pub(crate) db: TestDb,
    pub(crate) client: Client,
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
}

#[allow(dead_code)] // some helpers serve only some tests
impl TestApp {
    /// Starts the server on a fresh database of `backend`.
    pub(crate) fn start(backend: Backend) -> TestApp {
        Self::start_with(TestDb::fresh(backend), &[])
    }

    /// Starts the server on `db` with extra environment variables.
    pub(crate) fn start_with(db: TestDb, env: &[(&str, &str)]) -> TestApp {
        Self::start_on_url(db, None, env)
    }

    /// Starts the server with `DATABASE_URL=url` (e.g. through a proxy) while `db` owns the data.
    pub(crate) fn start_on_url(db: TestDb, url: Option<&str>, env: &[(&str, &str)]) -> TestApp {
        let mut command = server_command(url.unwrap_or(&db.url));
        command.envs(env.iter().copied());
        let mut child = command.spawn().expect("start devicehub");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = mpsc::channel();
        collect_lines(child.stdout.take().expect("stdout"), logs.clone(), Some(addr_tx));
        collect_lines(child.stderr.take().expect("stderr"), logs.clone(), None);
        let addr = match addr_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!("devicehub did not start; its output:\n{}", logs.lock().unwrap().join("\n"));
            }
        };
        // Idle pooled connections are dropped before the server's 5 s keep-alive closes them,
        // so a request never races the server closing its connection.
        let client = Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        TestApp { base: format!("http://{addr}"), db, client, child, logs }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path))
    }

    pub(crate) fn post(&self, path: &str) -> RequestBuilder {
        self.client.post(self.url(path))
    }

    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// `method path` with a bearer token and, when given, a JSON body.
    pub(crate) fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self.request(method, path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().expect("request")
    }

    /// Logs in; panics unless it succeeds. Returns the bearer token.
    pub(crate) fn login(&self, username: &str, password: &str) -> String {
        let response = self.call(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&json!({ "username": username, "password": password })),
        );
        assert_eq!(response.status(), StatusCode::OK, "login {username}");
        let body: Value = response.json().unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A token of the first administrator.
    pub(crate) fn admin_token(&self) -> String {
        self.login(ADMIN_USERNAME, ADMIN_PASSWORD)
    }

    /// Creates a user through the API (as `admin_token`) and logs them in.
    pub(crate) fn user(&self, admin_token: &str, username: &str) -> Person {
        let password = password_of(username);
        let response = self.call(
            Method::POST,
            "/api/v1/users",
            Some(admin_token),
            Some(&json!({ "username": username, "password": password })),
        );
        assert_eq!(response.status(), StatusCode::CREATED, "create {username}");
        let id = response.json::<Value>().unwrap()["id"].as_i64().unwrap();
        Person { id, name: username.to_owned(), token: self.login(username, &password) }
    }

    /// The first line the server printed that holds `needle`, waiting up to 5 s for it.
    pub(crate) fn wait_for_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(line) = self.logs().into_iter().find(|l| l.contains(needle)) {
                return line;
            }
            assert!(Instant::now() < deadline, "no line with {needle:?} in {:#?}", self.logs());
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every line the server printed so far.
    pub(crate) fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`TERM`, `INT`, `KILL`).
    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Whether the process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits up to `limit` for the process to exit.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // A test that fails because its server went away says how it went: the exit status
        // (a signal, a panic's code) and the server's last words.
        if std::thread::panicking()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            let logs = self.logs.lock().map(|l| l.clone()).unwrap_or_default();
            let tail = &logs[logs.len().saturating_sub(20)..];
            eprintln!(
                "devicehub (pid {}) had already exited: {status}; its last lines:\n{}",
                self.child.id(),
                tail.join("\n")
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `devicehub` with a clean environment: only what the test sets reaches the server.
pub(crate) fn devicehub() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_devicehub"));
    command.env_clear().env("RUST_LOG", "info").env("DEVICEHUB_LOG_FORMAT", "json");
    command
}

/// The first administrator every test server starts with.
pub(crate) const ADMIN_USERNAME: &str = "admin";
pub(crate) const ADMIN_PASSWORD: &str = "admin-password-for-tests";

fn server_command(database_url: &str) -> Command {
    let mut command = devicehub();
    command
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("DEVICEHUB_ADMIN_USERNAME", ADMIN_USERNAME)
        .env("DEVICEHUB_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("DEVICEHUB_BIND", "127.0.0.1:0")
        .env("DEVICEHUB_WORKERS", "2")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Reads lines from the server into `logs`; sends the address of the `listening` line.
fn collect_lines(
    stream: impl std::io::Read + Send + 'static,
    logs: Arc<Mutex<Vec<String>>>,
    addr_tx: Option<mpsc::Sender<String>>,
) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let (Some(tx), Some(addr)) = (&addr_tx, listening_addr(&line)) {
                let _ = tx.send(addr);
            }
            logs.lock().unwrap().push(line);
        }
    });
}

fn listening_addr(line: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    if value["fields"]["message"] != "listening" {
        return None;
    }
    value["fields"]["addr"].as_str().map(str::to_owned)
}

/// A user of a test, with a live token.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) token: String,
}

/// The password tests give `username`.
pub(crate) fn password_of(username: &str) -> String {
    format!("{username}-secret-pw")
}
