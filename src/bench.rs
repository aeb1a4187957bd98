//! `nagare bench SCENARIO`: runs one benchmark scenario of `nagare-bench` and prints its table
//! and JSON line on stdout (progress goes to stderr).

use std::path::PathBuf;

use nagare_bench::append::AppendScenario;
use nagare_bench::commands::CommandsScenario;
use nagare_bench::run_scenario;

use crate::cli::BenchCommand;

pub(crate) async fn run(command: BenchCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        BenchCommand::Append(args) => {
            let scenario = AppendScenario {
                log_url: args.log,
                scratch_dir: args.scratch.scratch_dir,
                record_size: args.record_size,
                batch: args.batch,
                writers: args.writers,
                records: args.records,
            };
            run_scenario(&scenario, &mut out).await?;
        }
        BenchCommand::Commands(args) => {
            let scenario = CommandsScenario {
                server_exe: server_executable()?,
                scratch_dir: args.scratch.scratch_dir,
                clients: args.clients,
                duration: args.duration.0,
                rate: args.rate,
            };
            run_scenario(&scenario, &mut out).await?;
        }
    }
    Ok(())
}

/// The server is this same binary, so the benchmark measures exactly what is deployed.
fn server_executable() -> anyhow::Result<PathBuf> {
    std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot find this executable to start the server: {e}"))
}
