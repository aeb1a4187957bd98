//! `nagare bench SCENARIO`: runs one benchmark scenario of `nagare-bench` and prints its table
//! and JSON line on stdout (progress goes to stderr).

use std::path::PathBuf;

use nagare_bench::append::AppendScenario;
use nagare_bench::commands::CommandsScenario;
use nagare_bench::e2e::E2eScenario;
use nagare_bench::project::{ProjectKind, ProjectScenario};
use nagare_bench::run_scenario;

use crate::cli::BenchCommand;
use crate::cli::bench::{BenchProjectionArgs, ScratchArgs};

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
                log_url: args.log,
                clients: args.clients,
                duration: args.duration.0,
                rate: args.rate,
            };
            run_scenario(&scenario, &mut out).await?;
        }
        BenchCommand::E2e(args) => {
            let scenario = E2eScenario {
                server_exe: server_executable()?,
                scratch_dir: args.scratch.scratch_dir,
                log_url: args.log,
                rate: args.rate,
                duration: args.duration.0,
            };
            run_scenario(&scenario, &mut out).await?;
        }
        BenchCommand::Project(args) => {
            let scenario = projection(
                ProjectKind::Project,
                args.log,
                args.scratch,
                args.events,
                args.projections,
            );
            run_scenario(&scenario, &mut out).await?;
        }
        BenchCommand::Replay(args) => {
            let scenario = projection(
                ProjectKind::Replay,
                args.log,
                args.scratch,
                args.events,
                args.projections,
            );
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

fn projection(
    kind: ProjectKind,
    log_url: Option<String>,
    scratch: ScratchArgs,
    events: u64,
    projections: BenchProjectionArgs,
) -> ProjectScenario {
    ProjectScenario {
        kind,
        log_url,
        scratch_dir: scratch.scratch_dir,
        events,
        row_cache_bytes: projections.row_cache_mib << 20,
        workers: projections.projection_workers.map(usize::from),
    }
}
