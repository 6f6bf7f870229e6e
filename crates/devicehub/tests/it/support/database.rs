//! Fresh databases for tests: a SQLite file in a temporary folder, or a new PostgreSQL schema
//! (dropped afterwards) reached through `search_path`, so tests never see each other's rows.
//!
//! PostgreSQL comes from `TEST_DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/postgres`
//! when it answers. `cargo xtask test` starts a throwaway cluster and sets `TEST_DATABASE_URL`
//! when neither is there. A PostgreSQL test never skips: without a server it fails and says why.

use std::{
    path::PathBuf,
    sync::{
        OnceLock,
        atomic::{AtomicU32, Ordering},
    },
};

use diesel::{Connection, PgConnection, connection::SimpleConnection};

const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database; removed when dropped.
#[derive(Debug)]
pub(crate) struct TestDb {
    pub(crate) backend: Backend,
    /// The `DATABASE_URL` a server should use.
    pub(crate) url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Folder(#[allow(dead_code)] tempfile::TempDir),
    Schema {
        admin_url: String,
        schema: String,
    },
    /// Another handle owns the database.
    Nothing,
}

impl TestDb {
    pub(crate) fn fresh(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let path: PathBuf = dir.path().join("devicehub.db");
                TestDb {
                    backend,
                    url: format!("sqlite://{}", path.display()),
                    cleanup: Cleanup::Folder(dir),
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let schema = unique_name("dh_test");
                admin_connection(&admin_url)
                    .batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create test schema");
                TestDb {
                    backend,
                    url: with_search_path(&admin_url, &schema),
                    cleanup: Cleanup::Schema { admin_url, schema },
                }
            }
        }
    }

    /// The PostgreSQL schema of this database (`None` on SQLite).
    pub(crate) fn schema(&self) -> Option<&str> {
        match &self.cleanup {
            Cleanup::Schema { schema, .. } => Some(schema),
            Cleanup::Folder(_) | Cleanup::Nothing => None,
        }
    }

    /// A second handle on the same database, for another server process; it removes nothing.
    pub(crate) fn shared(&self) -> TestDb {
        Self::owned_elsewhere(self.backend, self.url.clone())
    }

    /// A handle on a database something else removes (e.g. a test's own cluster).
    pub(crate) fn owned_elsewhere(backend: Backend, url: String) -> TestDb {
        TestDb { backend, url, cleanup: Cleanup::Nothing }
    }

    /// A direct connection to this database, for assertions on what the server stored.
    pub(crate) fn connect(&self) -> foundation::Db {
        let url: foundation::DatabaseUrl = self.url.parse().expect("test database url");
        foundation::Db::connect(&url, &foundation::PoolOptions::default()).expect("connect")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Schema { admin_url, schema } = &self.cleanup
            && let Ok(mut conn) = PgConnection::establish(admin_url)
        {
            let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// The PostgreSQL server tests use, checked once per test process.
pub(crate) fn postgres_admin_url() -> String {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    URL.get_or_init(find_postgres).clone().unwrap_or_else(|why| panic!("{why}"))
}

fn find_postgres() -> Result<String, String> {
    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        return PgConnection::establish(&url)
            .map(|_| url)
            .map_err(|e| format!("TEST_DATABASE_URL does not answer: {e}"));
    }
    PgConnection::establish(LOCAL_POSTGRES).map(|_| LOCAL_POSTGRES.to_owned()).map_err(|e| {
        format!(
            "PostgreSQL tests need a server: TEST_DATABASE_URL is not set and {LOCAL_POSTGRES} \
             does not answer ({e}). Run `cargo xtask test`, which starts a throwaway cluster \
             with initdb/pg_ctl, or set TEST_DATABASE_URL."
        )
    })
}

fn admin_connection(admin_url: &str) -> PgConnection {
    PgConnection::establish(admin_url).expect("connect to the PostgreSQL test server")
}

/// `url` with `search_path` set to `schema` for every connection made with it.
pub(crate) fn with_search_path(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-csearch_path%3D{schema}")
}

/// A name no other test (in this or another process) uses at the same time.
pub(crate) fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// The `host:port` of a PostgreSQL URL and the URL with that part replaced by `addr`.
pub(crate) fn reroute(url: &str, addr: std::net::SocketAddr) -> (std::net::SocketAddr, String) {
    use std::net::ToSocketAddrs;
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (user, host_port) = match authority.rsplit_once('@') {
        Some((user, host_port)) => (format!("{user}@"), host_port),
        None => (String::new(), authority),
    };
    let host_port =
        if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
    let upstream = host_port.to_socket_addrs().expect("resolve").next().expect("an address");
    (upstream, format!("{scheme}://{user}{addr}{tail}"))
}

impl TestDb {
    /// Runs `SELECT COUNT(*) …`-style SQL whose one row has one column `n`.
    pub(crate) fn count(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        use diesel::RunQueryDsl;
        let sql = sql.to_owned();
        let rows = self
            .connect()
            .read_blocking(move |conn| -> Result<Vec<Count>, foundation::DbError> {
                Ok(diesel::sql_query(sql).load(conn)?)
            })
            .expect("count query");
        rows[0].n
    }

    /// Runs statements directly on the database (test setup only).
    pub(crate) fn execute(&self, sql: &str) {
        let sql = sql.to_owned();
        self.connect()
            .read_blocking(move |conn| -> Result<(), foundation::DbError> {
                Ok(conn.batch_execute(&sql)?)
            })
            .expect("execute");
    }
}
