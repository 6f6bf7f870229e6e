//! Choosing the backend from `DATABASE_URL` and opening connections for the pool.

use std::{fmt, str::FromStr, time::Duration};

use diesel::{
    Connection, ConnectionError, PgConnection, SqliteConnection, connection::SimpleConnection,
    r2d2::R2D2Connection,
};

use crate::{DbConn, DbError};

/// Which database engine a [`DatabaseUrl`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// A parsed `DATABASE_URL`: `sqlite://PATH` or `postgres://…` (`postgresql://…`).
///
/// The backend is chosen from the scheme alone; any other scheme is refused, so a typo never
/// turns into a SQLite file named after a PostgreSQL URL.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    target: String,
}

impl DatabaseUrl {
    /// The engine this URL names.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite file path, or the PostgreSQL connection URL.
    pub fn target(&self) -> &str {
        &self.target
    }
}

// The URL may hold a password: never print it whole.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.backend {
            Backend::Sqlite => write!(f, "sqlite://{}", self.target),
            Backend::Postgres => f.write_str("postgres://…"),
        }
    }
}

impl FromStr for DatabaseUrl {
    type Err = DbError;

    fn from_str(url: &str) -> Result<Self, DbError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(DbError::UnsupportedUrl("sqlite:// without a path".into()));
            }
            return Ok(DatabaseUrl { backend: Backend::Sqlite, target: path.to_owned() });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl { backend: Backend::Postgres, target: url.to_owned() });
        }
        let scheme = url.split_once("://").map_or("(none)", |(scheme, _)| scheme);
        Err(DbError::UnsupportedUrl(scheme.to_owned()))
    }
}

/// Settings applied to every new connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionSettings {
    pub(crate) url: DatabaseUrl,
    pub(crate) busy_timeout: Duration,
    pub(crate) statement_timeout: Duration,
    #[cfg(feature = "sql-trace")]
    pub(crate) trace: Option<crate::trace::TraceSink>,
}

impl ConnectionSettings {
    pub(crate) fn establish(&self) -> Result<DbConn, ConnectionError> {
        match self.url.backend {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.url.target)?;
                // A 1 MiB page cache per connection (SQLite's default is 2 MiB): the OS page
                // cache holds the rest, and the server's memory stays bounded.
                let pragmas = format!(
                    "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                     PRAGMA cache_size = -1024;",
                    self.busy_timeout.as_millis()
                );
                conn.batch_execute(&pragmas).map_err(ConnectionError::CouldntSetupConfiguration)?;
                #[cfg(feature = "sql-trace")]
                if let Some(trace) = &self.trace {
                    conn.set_instrumentation(trace.instrumentation());
                }
                Ok(DbConn::Sqlite(conn))
            }
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&self.url.target)?;
                let settings = format!(
                    "SET statement_timeout = {}; SET lock_timeout = {};",
                    self.statement_timeout.as_millis(),
                    self.statement_timeout.as_millis()
                );
                conn.batch_execute(&settings)
                    .map_err(ConnectionError::CouldntSetupConfiguration)?;
                #[cfg(feature = "sql-trace")]
                if let Some(trace) = &self.trace {
                    conn.set_instrumentation(trace.instrumentation());
                }
                Ok(DbConn::Pg(conn))
            }
        }
    }
}

/// The r2d2 manager: opens connections of the backend the URL names, never another.
#[derive(Debug)]
pub(crate) struct Manager {
    pub(crate) settings: ConnectionSettings,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        self.settings.establish().map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_backend_by_scheme() {
        let url: DatabaseUrl = "sqlite://devicehub.db".parse().unwrap();
        assert_eq!((url.backend(), url.target()), (Backend::Sqlite, "devicehub.db"));
        let url: DatabaseUrl = "sqlite:///tmp/x.db".parse().unwrap();
        assert_eq!(url.target(), "/tmp/x.db");
        for pg in ["postgres://u@h/db", "postgresql://u:secret@h:5432/db"] {
            assert_eq!(pg.parse::<DatabaseUrl>().unwrap().backend(), Backend::Postgres);
        }
    }

    #[test]
    fn refuses_other_schemes_without_echoing_secrets() {
        for bad in ["mysql://root:secret@h/db", "devicehub.db", "sqlite://", "SQLITE://x"] {
            let err = bad.parse::<DatabaseUrl>().unwrap_err();
            assert!(matches!(err, DbError::UnsupportedUrl(_)), "{bad}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
    }

    #[test]
    fn debug_hides_postgres_password() {
        let url: DatabaseUrl = "postgres://u:hunter2@h/db".parse().unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
