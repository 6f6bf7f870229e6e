//! The command line: `devicehub serve`, `devicehub migrate …`. Every setting can also come
//! from the environment (contract §7); flags win over the environment.

use std::{net::SocketAddr, time::Duration};

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum, builder::BoolishValueParser};
use foundation::PoolOptions;

/// DeviceHub: registers IoT devices, lets people claim them, decides who may see or change
/// each device, and keeps an audit trail of every change.
#[derive(Debug, Parser)]
#[command(name = "devicehub", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Log format: `json` (one JSON object per line) or `text`; `auto` picks text on a terminal.
    #[arg(long, env = "DEVICEHUB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto, global = true)]
    pub(crate) log_format: LogFormat,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    Auto,
    Json,
    Text,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the HTTP API server (applies pending migrations first).
    Serve(ServeArgs),
    /// Operator tasks on the database (no server needed).
    Admin {
        #[command(subcommand)]
        action: AdminAction,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Device tasks on the database (no server needed).
    Devices {
        #[command(subcommand)]
        action: DevicesAction,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Apply, revert or list database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Revert the newest applied migration (or all of them with --all).
    Down {
        /// Revert every applied migration.
        #[arg(long)]
        all: bool,
    },
    /// List every migration and whether it is applied.
    Status,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct DatabaseArgs {
    /// `sqlite://PATH` (created on first start) or `postgres://USER@HOST:PORT/DB`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://devicehub.db",
        hide_env_values = true
    )]
    pub(crate) database_url: String,

    /// Most database connections open at once.
    #[arg(long, env = "DEVICEHUB_DB_MAX_CONNECTIONS", default_value_t = 10)]
    pub(crate) db_max_connections: u32,

    /// Milliseconds a request waits for a database connection before it answers 503.
    #[arg(long, env = "DEVICEHUB_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 1500)]
    pub(crate) db_acquire_timeout_ms: u64,

    /// PostgreSQL: milliseconds a statement or lock wait may take before it is cancelled.
    #[arg(long, env = "DEVICEHUB_DB_STATEMENT_TIMEOUT_MS", default_value_t = 30000)]
    pub(crate) db_statement_timeout_ms: u64,

    /// SQLite: milliseconds a writer waits for the write lock.
    #[arg(long, env = "DEVICEHUB_SQLITE_BUSY_TIMEOUT_MS", default_value_t = 5000)]
    pub(crate) sqlite_busy_timeout_ms: u64,

    /// Development and benchmarks only: append every SQL statement, with its bound values
    /// (hashes included), to this file.
    #[cfg(feature = "sql-trace")]
    #[arg(long, env = "DEVICEHUB_SQL_TRACE")]
    pub(crate) sql_trace: Option<std::path::PathBuf>,
}

impl DatabaseArgs {
    pub(crate) fn pool_options(&self) -> PoolOptions {
        PoolOptions {
            max_connections: self.db_max_connections.max(1),
            acquire_timeout: Duration::from_millis(self.db_acquire_timeout_ms),
            busy_timeout: Duration::from_millis(self.sqlite_busy_timeout_ms),
            statement_timeout: Duration::from_millis(self.db_statement_timeout_ms),
            #[cfg(feature = "sql-trace")]
            sql_trace: self.sql_trace.clone(),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    /// Address to listen on; port 0 picks a free port (the chosen address is logged).
    #[arg(long, env = "DEVICEHUB_BIND", default_value = "127.0.0.1:8080")]
    pub(crate) bind: SocketAddr,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "DEVICEHUB_WORKERS")]
    pub(crate) workers: Option<usize>,

    /// Seconds in-flight requests get to finish after SIGTERM or SIGINT.
    #[arg(long, env = "DEVICEHUB_SHUTDOWN_TIMEOUT_SECS", default_value_t = 30)]
    pub(crate) shutdown_timeout_secs: u64,

    /// Username of the administrator created when the database has no user yet.
    #[arg(long, env = "DEVICEHUB_ADMIN_USERNAME", default_value = "admin")]
    pub(crate) admin_username: String,

    /// Password of that administrator; without it one is generated and printed once.
    #[arg(long, env = "DEVICEHUB_ADMIN_PASSWORD", hide_env_values = true)]
    pub(crate) admin_password: Option<String>,

    /// Let anyone create an account with POST /api/v1/auth/register.
    #[arg(long, env = "DEVICEHUB_ALLOW_REGISTRATION", default_value = "false", value_parser = BoolishValueParser::new(), action = ArgAction::Set)]
    pub(crate) allow_registration: bool,

    /// Refuse claims of serials that were never registered by a manufacturer.
    #[arg(long, env = "DEVICEHUB_REQUIRE_REGISTRATION", default_value = "false", value_parser = BoolishValueParser::new(), action = ArgAction::Set)]
    pub(crate) require_registration: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DevicesAction {
    /// Register a factory file (CSV: cpu_serial,hardware_blueprint_version,claim_code) of
    /// devices, in batched transactions. An empty claim_code registers the device without one.
    Import {
        /// The CSV file.
        #[arg(long)]
        file: std::path::PathBuf,
        /// Data rows to pass over first (what a stopped import said it committed).
        #[arg(long, default_value_t = 0)]
        skip: u64,
        /// Rows per transaction.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        batch_size: u32,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AdminAction {
    /// Create a user (with global roles) directly in the database. The password is read from
    /// standard input with --password-stdin, else generated and printed once.
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// Global role to grant (admin, auditor); repeatable. Every user is a member.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Create a hardware blueprint (e.g. before importing a factory file).
    CreateBlueprint {
        #[arg(long)]
        name: String,
        /// Unique, 1–64 characters without whitespace, e.g. rpi4-b-1.2.
        #[arg(long)]
        version: String,
        #[arg(long)]
        description: Option<String>,
    },
}
