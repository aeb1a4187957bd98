//! The `nagare` binary: wires the log, the store and the roles together.

mod allocator;
mod bench;
mod cli;
mod serve;
mod signals;
mod supervisor;
mod telemetry;
mod topics;
mod topology;
mod transfer;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::cli::{Cli, Command, LogFormat};

/// How long blocking work (file I/O of the embedded backends) may take to finish after the
/// roles have stopped, before the process exits anyway.
const RUNTIME_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log_format = cli.log_format;
    telemetry::init(log_format);
    allocator::without_transparent_huge_pages();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("nagare: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Topics(command) => topics::run(command).await,
            Command::Export(args) => transfer::export(args).await,
            Command::Import(args) => transfer::import(args).await,
            Command::Bench(command) => bench::run(command).await,
        }
    });
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Log collectors get the error as a record; people always get a plain line, also
            // with JSON logs or RUST_LOG=off.
            if log_format == LogFormat::Json {
                tracing::error!("{error:#}");
            }
            eprintln!("nagare: {error:#}");
            ExitCode::FAILURE
        }
    }
}
