//! The database handle: a connection pool, a read entry point and a transactional write
//! entry point. Providers receive the connection ([`DbConn`]) or the transaction ([`Tx`]),
//! never the pool, so the caller decides what runs in one transaction.

use std::{
    ops::{Deref, DerefMut},
    sync::Arc,
    time::Duration,
};

use diesel::{
    Connection, PgConnection, SqliteConnection,
    connection::{AnsiTransactionManager, SimpleConnection, TransactionManager},
    result::Error as DieselError,
};

use crate::{
    Backend, BlockingPool, DatabaseUrl, DbError, StorageFailure,
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
///
/// Async callers' work runs on a [`BlockingPool`] with one thread per pooled connection, so a
/// burst of requests waits in a queue rather than starting a thread each. Work that neither
/// starts nor gets a connection within the acquire timeout fails as unavailable.
#[derive(Clone, Debug)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    workers: Arc<BlockingPool>,
    acquire_timeout: Duration,
    /// SQLite: one writer at a time in this process. SQLite admits one writer anyway; waiting
    /// here hands the lock to the next writer the moment the last one commits, where SQLite's
    /// busy handler would poll with sleeps of up to 100 ms.
    writer: Arc<std::sync::Mutex<()>>,
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
            .test_on_check_out(false)
            .build(Manager { settings })?;
        let workers = BlockingPool::new("db", options.max_connections as usize)
            .map_err(|e| DbError::Task(format!("cannot start database threads: {e}")))?;
        Ok(Db {
            pool,
            backend: url.backend(),
            workers,
            acquire_timeout: options.acquire_timeout,
            writer: Arc::default(),
        })
    }

    /// The engine behind this handle.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` on a pooled connection, outside any transaction (each statement commits on its
    /// own). For reads.
    pub fn read_blocking<T, E>(&self, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
    where
        E: From<DbError> + StorageFailure,
    {
        self.read_within(self.acquire_timeout, f)
    }

    fn read_within<T, E>(
        &self,
        wait: Duration,
        f: impl FnOnce(&mut DbConn) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError> + StorageFailure,
    {
        let mut conn = self.checkout(wait)?;
        let result = f(&mut conn);
        forget_if_lost(&mut conn, result)
    }

    /// A pooled connection, waiting at most `wait` for one. A connection that broke (the
    /// server restarted, the network dropped) is noticed by its failing statement and
    /// discarded then (see [`forget_if_lost`]), instead of being tested with a round trip
    /// before every use.
    fn checkout(&self, wait: Duration) -> Result<r2d2::PooledConnection<Manager>, DbError> {
        Ok(self.pool.get_timeout(wait.max(Duration::from_millis(1)))?)
    }

    /// Runs `f` inside one transaction: committed when `f` returns `Ok`, rolled back when it
    /// returns `Err`. On SQLite the transaction takes the write lock up front
    /// (`BEGIN IMMEDIATE`). A transaction that loses a race the database detects is run again
    /// from the start, a bounded number of times, so `f` must not have effects outside it.
    pub fn write_blocking<T, E>(&self, f: impl FnMut(&mut Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<DbError> + StorageFailure,
    {
        self.write_within(self.acquire_timeout, f)
    }

    fn write_within<T, E>(
        &self,
        wait: Duration,
        f: impl FnMut(&mut Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError> + StorageFailure,
    {
        let mut conn = self.checkout(wait)?;
        let result = self.write_on(&mut conn, f);
        forget_if_lost(&mut conn, result)
    }

    /// One write transaction on `conn`, run again when it loses a race (see
    /// [`Db::write_blocking`]); SQLite writers of this process take turns first.
    fn write_on<T, E>(
        &self,
        conn: &mut DbConn,
        mut f: impl FnMut(&mut Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError> + StorageFailure,
    {
        let _turn = (self.backend == Backend::Sqlite)
            .then(|| self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let mut attempt = 0;
        loop {
            match in_transaction(conn, &mut f) {
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
        E: From<DbError> + StorageFailure + Send + 'static,
    {
        let db = self.clone();
        self.on_worker(move |wait| db.read_within(wait, f)).await
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
        self.on_worker(move |wait| db.write_within(wait, f)).await
    }

    /// Runs `first` on a pooled connection outside any transaction and, when it succeeds,
    /// `then` in one write transaction on the same connection (as [`Db::write_blocking`]): one
    /// trip to a database thread and one checkout for a request that must, say, authenticate
    /// before it writes. On SQLite `first` runs before the write lock is taken.
    ///
    /// Fails with `first`'s error (or a [`DbError`] when no connection can be had);
    /// otherwise gives `first`'s value with the outcome of `then`.
    pub async fn read_then_write<A, T, E, F>(
        &self,
        first: impl FnOnce(&mut DbConn) -> Result<A, F> + Send + 'static,
        mut then: impl FnMut(&mut Tx<'_>, &A) -> Result<T, E> + Send + 'static,
    ) -> Result<(A, Result<T, E>), F>
    where
        A: Send + 'static,
        T: Send + 'static,
        E: From<DbError> + StorageFailure + Send + 'static,
        F: From<DbError> + StorageFailure + Send + 'static,
    {
        let db = self.clone();
        self.on_worker(move |wait| {
            let mut conn = db.checkout(wait)?;
            let value = first(&mut conn);
            let value = forget_if_lost(&mut conn, value)?;
            let outcome = db.write_on(&mut conn, |tx| then(tx, &value));
            Ok((value, forget_if_lost(&mut conn, outcome)))
        })
        .await
    }

    /// Checks that the database answers a trivial query within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), DbError> {
        let db = self.clone();
        let started = std::time::Instant::now();
        let probe = move |_waited| {
            let mut conn = db.checkout(timeout.saturating_sub(started.elapsed()))?;
            let answered = conn.batch_execute("SELECT 1").map_err(DbError::from);
            forget_if_lost(&mut conn, answered)
        };
        match self.workers.run(Some(timeout), probe).await {
            Ok(result) => result,
            Err(err) => Err(DbError::from(err)),
        }
    }

    /// Runs `work` on a database thread; it gets the rest of the acquire timeout (after its
    /// wait in the queue) to obtain a connection.
    async fn on_worker<T, E>(
        &self,
        work: impl FnOnce(Duration) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let budget = self.acquire_timeout;
        let run = move |waited: Duration| work(budget.saturating_sub(waited));
        match self.workers.run(Some(budget), run).await {
            Ok(result) => result,
            Err(err) => Err(DbError::from(err).into()),
        }
    }
}

/// Passes `result` through; when it failed because the connection was lost, marks `conn`
/// broken first, so the pool drops it rather than hand it out again. diesel notices a lost
/// connection on most paths by itself, but not when preparing a new statement fails: without
/// this, a dead connection could fail request after request long after the database is back.
fn forget_if_lost<T, E: StorageFailure>(conn: &mut DbConn, result: Result<T, E>) -> Result<T, E> {
    if result.as_ref().is_err_and(StorageFailure::lost_connection) {
        <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn)
            .set_in_error();
    }
    result
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
