//! `devicehub`: the HTTP server and the operator commands.
//!
//! This crate parses HTTP, authenticates, reads the active context and calls the domain
//! crates' providers. It holds no business rule. Errors of every domain become
//! problem+json in one place, [`http::problem`].

mod bootstrap;
mod cli;
mod commands;
mod http;
mod import;
mod logging;
mod routes;
mod server;
mod settings;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    logging::init(cli.log_format);
    match commands::run(cli.command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "devicehub failed");
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
