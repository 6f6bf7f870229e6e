//! The database handle: a connection pool, a read entry point and a transactional write
//! entry point. Providers receive the connection ([`DbConn`]) or the transaction ([`Tx`]),
//! never the pool, so the caller decides what runs in one transaction.

use std::{
    ops::{Deref, DerefMut},
    time::Duration,
};

use diesel::{
    Connection, PgConnection, SqliteConnection,
    connection::{AnsiTransactionManager, SimpleConnection, TransactionManager},
    result::Error as DieselError,
};

use crate::{
    Backend, DatabaseUrl, DbError, StorageFailure,
    connect::{ConnectionSettings, Manager},
};

/// One database connection, SQLite or PostgreSQL. Queries written against it run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// A PostgreSQL connection.
    Pg(PgConnection),
    /// A SQLite connection (WAL, foreign keys on, busy timeout set).
    Sqlite(SqliteConnection),
}

impl std::fmt::Debug for DbConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DbConn::Pg(_) => "DbConn::Pg",
            DbConn::Sqlite(_) => "DbConn::Sqlite",
        })
    }
}

impl DbConn {
    /// The engine behind this connection.
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Pg(_) => Backend::Postgres,
            DbConn::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Proof that the holder runs inside a write transaction. Only [`Db::write`] makes one;
/// providers that change data take `&mut Tx`, so they cannot run outside a transaction.
#[derive(Debug)]
pub struct Tx<'c> {
    conn: &'c mut DbConn,
}

impl Deref for Tx<'_> {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        self.conn
    }
}

impl DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut DbConn {
        self.conn
    }
}

impl Tx<'_> {
    /// Runs `f` in a savepoint: when it fails, only its own statements are undone and the
    /// transaction goes on (on PostgreSQL a failed statement would otherwise poison it).
    pub fn savepoint<T>(
        &mut self,
        f: impl FnOnce(&mut DbConn) -> Result<T, DieselError>,
    ) -> Result<T, DieselError> {
        self.conn.transaction(f)
    }
}

/// Pool and connection settings.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_connections: u32,
    /// How long a request waits for a connection before it fails as unavailable.
    pub acquire_timeout: Duration,
    /// SQLite: how long a writer waits for the write lock.
    pub busy_timeout: Duration,
    /// PostgreSQL: longest a statement (or a wait for a lock) may run.
    pub statement_timeout: Duration,
    /// Development and benchmarks only (feature `sql-trace`): a file that receives every
    /// statement with its bound values.
    #[cfg(feature = "sql-trace")]
    pub sql_trace: Option<std::path::PathBuf>,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_millis(1500),
            busy_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            #[cfg(feature = "sql-trace")]
            sql_trace: None,
        }
    }
}

/// How many times a write transaction that lost a race (serialization failure, deadlock)
/// is run again before its error is returned.
const WRITE_RETRIES: u32 = 3;

/// The database handle. Cheap to clone; every clone shares one pool.
#[derive(Clone, Debug)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
}

impl Db {
    /// Opens a pool on `url`. For SQLite the file is created if missing and switched to WAL.
    ///
    /// Fails with [`DbError::Unavailable`] when no connection can be made within the acquire
    /// timeout.
    pub fn connect(url: &DatabaseUrl, options: &PoolOptions) -> Result<Db, DbError> {
        let settings = ConnectionSettings {
            url: url.clone(),
            busy_timeout: options.busy_timeout,
            statement_timeout: options.statement_timeout,
            #[cfg(feature = "sql-trace")]
            trace: match &options.sql_trace {
                Some(path) => Some(
                    crate::trace::TraceSink::open(path)
                        .map_err(|e| DbError::Unavailable(format!("SQL trace file: {e}")))?,
                ),
                None => None,
            },
        };
        if url.backend() == Backend::Sqlite {
            let mut first =
                settings.establish().map_err(|e| DbError::Unavailable(e.to_string()))?;
            first.batch_execute("PRAGMA journal_mode = WAL;")?;
        }
        let pool = r2d2::Pool::builder()
            .max_size(options.max_connections)
            .min_idle(Some(0))
            .connection_timeout(options.acquire_timeout)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build(Manager { settings })?;
        Ok(Db { pool, backend: url.backend() })
    }

    /// The engine behind this handle.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` on a pooled connection, outside any transaction (each statement commits on its
    /// own). For reads.
    pub fn read_blocking<T, E>(&self, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
    where
        E: From<DbError>,
    {
        let mut conn = self.pool.get().map_err(DbError::from)?;
        f(&mut conn)
    }

    /// Runs `f` inside one transaction: committed when `f` returns `Ok`, rolled back when it
    /// returns `Err`. On SQLite the transaction takes the write lock up front
    /// (`BEGIN IMMEDIATE`). A transaction that loses a race the database detects is run again
    /// from the start, a bounded number of times, so `f` must not have effects outside it.
    pub fn write_blocking<T, E>(
        &self,
        mut f: impl FnMut(&mut Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError> + StorageFailure,
    {
        let mut conn = self.pool.get().map_err(DbError::from)?;
        let mut attempt = 0;
        loop {
            match in_transaction(&mut conn, &mut f) {
                Err(err)
                    if attempt < WRITE_RETRIES
                        && err.storage_error().is_some_and(DbError::is_retryable) =>
                {
                    attempt += 1;
                    tracing::debug!(attempt, "write transaction lost a race; running it again");
                }
                result => return result,
            }
        }
    }

    /// [`Db::read_blocking`] on the blocking thread pool, for async callers.
    pub async fn read<T, E>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let db = self.clone();
        run_blocking(move || db.read_blocking(f)).await
    }

    /// [`Db::write_blocking`] on the blocking thread pool, for async callers.
    pub async fn write<T, E>(
        &self,
        f: impl FnMut(&mut Tx<'_>) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + StorageFailure + Send + 'static,
    {
        let db = self.clone();
        run_blocking(move || db.write_blocking(f)).await
    }

    /// Checks that the database answers a trivial query within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), DbError> {
        let pool = self.pool.clone();
        run_blocking(move || {
            let mut conn = pool.get_timeout(timeout)?;
            conn.batch_execute("SELECT 1")?;
            Ok(())
        })
        .await
    }
}

async fn run_blocking<T, E>(work: impl FnOnce() -> Result<T, E> + Send + 'static) -> Result<T, E>
where
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(join_error) => Err(DbError::Task(join_error.to_string()).into()),
    }
}

fn in_transaction<T, E>(
    conn: &mut DbConn,
    f: &mut impl FnMut(&mut Tx<'_>) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<DbError>,
{
    begin(conn).map_err(DbError::from)?;
    match f(&mut Tx { conn: &mut *conn }) {
        Ok(value) => {
            if let Err(commit_error) =
                <DbConn as Connection>::TransactionManager::commit_transaction(conn)
            {
                let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
                return Err(DbError::from(commit_error).into());
            }
            Ok(value)
        }
        Err(err) => match <DbConn as Connection>::TransactionManager::rollback_transaction(conn) {
            Ok(()) | Err(DieselError::BrokenTransactionManager) => Err(err),
            Err(rollback_error) => Err(DbError::from(rollback_error).into()),
        },
    }
}

/// SQLite: `BEGIN IMMEDIATE`, so the write lock is taken (or waited for, up to the busy
/// timeout) before the first read; a deferred transaction that upgrades later fails at once
/// instead of waiting. PostgreSQL: a plain `BEGIN` (READ COMMITTED).
fn begin(conn: &mut DbConn) -> Result<(), DieselError> {
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c),
    }
}
