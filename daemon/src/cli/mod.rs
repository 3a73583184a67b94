//! The `assetark` command line: `serve` runs the daemon; every other command is a client of
//! its control API over the Unix socket (`crate::api::client`), except `demo`, which runs a
//! whole daemon and a simulated site in-process.
//!
//! Exit codes: 0 ok, 1 error (the daemon's message on stderr), 2 usage (clap's own errors).
//! The socket comes from `--config FILE` (its `[control].socket`), else `--socket` /
//! `ASSETARK_SOCKET`.
//!
//! The parts: `args` (what a user may type), `commands` (dispatch; sites, schemas, backups),
//! `sites` (adding and removing sites), `restores` (restores), `schedules` (schedules and
//! `backups prune`), `tasks` (post-restore tasks), `follow` (`backup run --follow`, reusing the
//! SSE parser of `restores`), `wait` (`--wait`), `output` (text rendering), `util` (shared
//! helpers), `demo`. Only `commands` dispatches to `sites`, `restores`, `schedules`, `tasks` and
//! `follow`; the others use `util`, `output` and `wait`. Requests
//! and answers are the typed `crate::api::wire` structs; `--json` prints answers as sent.

mod args;
mod commands;
mod demo;
mod export;
mod follow;
pub mod log_format;
mod output;
mod restores;
mod schedules;
mod sites;
mod tasks;
mod util;
mod wait;

use std::process::ExitCode;

use clap::Parser;

pub use crate::api::client::{ClientError, ControlClient, Reply};
pub use args::*;
pub use util::Failure;

/// Entry point of the binary: parses arguments, runs the command, maps the outcome to an exit
/// code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap prints help/version (exit 0) and usage errors (exit 2) itself.
        Err(e) => e.exit(),
    };
    init_logging(&cli.command);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// The daemon logs at INFO (override with `RUST_LOG`); client commands only show warnings, so
/// their output stays the command's own.
fn init_logging(command: &Command) {
    let default = match command {
        Command::Serve => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only on a terminal: a daemon's stderr usually goes to a file or the journal.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // Values from requests are escaped and cut (issue 8 item 11).
        .fmt_fields(log_format::fields())
        .try_init();
}

/// Runs a parsed command line.
///
/// # Errors
///
/// A [`Failure`] with the message and exit code.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Serve => serve(&cli).await,
        Command::Demo(args) => demo::run(args, cli.json).await,
        _ => {
            let client = client(&cli)?;
            commands::run(&client, &cli).await
        }
    }
}

async fn serve(cli: &Cli) -> Result<(), Failure> {
    let Some(path) = &cli.config else {
        return Err(Failure::usage("serve needs --config FILE"));
    };
    let config = crate::config::Config::load(path)
        .map_err(|e| Failure::error(crate::error::error_chain(&e)))?;
    crate::daemon::serve(config, tokio_util::sync::CancellationToken::new())
        .await
        .map_err(|e| Failure::error(crate::error::error_chain(&e)))
}

/// The client of the control socket: from `--config` (its socket and request timeout), else
/// `--socket` / `ASSETARK_SOCKET`.
fn client(cli: &Cli) -> Result<ControlClient, Failure> {
    match (&cli.config, &cli.socket) {
        (Some(config), _) => crate::config::client_settings(config)
            .map(|s| ControlClient::with_timeout(s.socket, s.timeout))
            .map_err(|e| Failure::error(crate::error::error_chain(&e))),
        (None, Some(socket)) => Ok(ControlClient::new(socket.clone())),
        (None, None) => Err(Failure::usage(
            "no control socket: pass --config FILE or set ASSETARK_SOCKET",
        )),
    }
}
