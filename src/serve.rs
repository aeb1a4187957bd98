//! `nagare serve`: opens the log and the store, declares the topics, starts the chosen roles and
//! stops them in order on SIGINT or SIGTERM.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use nagare_consumers::{Progress, ProjectionConfig, ReadModels};
use nagare_infra::{EventLog, ReadStore};
use nagare_producers::ProcessorConfig;
use nagare_schemas::topics::Topics;
use tokio::net::TcpListener;

use crate::cli::{Role, ServeArgs};
use crate::signals;
use crate::supervisor::Supervisor;
use crate::topology;

/// Commands the processor decides per durable write at most.
const PROCESSOR_BATCH: usize = 256;
/// Events a projection applies per store batch at most.
const PROJECTION_BATCH: usize = 512;
/// How long a mutation waits for the processor's reply.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a `consistency: STRONG` mutation waits for the read models.
const CONSISTENCY_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let roles: BTreeSet<Role> = args.roles.iter().copied().collect();
    if roles.is_empty() {
        anyhow::bail!("--roles names no role; choose from gateway, commands, projections");
    }
    // Listen for signals before anything starts, so a stop request is never missed.
    let stop_requested = signals::stop_requested().await?;
    let topics = Topics::with_prefix(args.topic_prefix.clone());
    let log = nagare_infra::open_log(&args.log)
        .await
        .with_context(|| format!("cannot open the event log at {}", args.log))?;
    let store = nagare_infra::open_store(&args.store)
        .await
        .with_context(|| format!("cannot open the read store at {}", args.store))?;
    tracing::info!(
        log = %log.capabilities().description,
        store = %store.capabilities().description,
        "backends open"
    );
    // Bound before anything is written, and after the data directory is locked, so that a
    // second instance started with the same flags names the directory, not the port.
    let listener = if roles.contains(&Role::Gateway) {
        let bound = TcpListener::bind(&args.listen).await;
        Some(bound.with_context(|| format!("cannot listen on {}", args.listen))?)
    } else {
        None
    };
    let partitions = topology::ensure_topics(&*log, &topics, args.partitions).await?;
    tracing::info!(partitions, "topics ready");

    if args.admin_token.is_some() {
        tracing::info!("an admin token is set; this release serves no /admin routes yet");
    }
    if roles.contains(&Role::Gateway) && !roles.contains(&Role::Projections) {
        tracing::warn!(
            "the gateway runs without the projections role: queries serve the store as it is \
             and `consistency: STRONG` mutations time out"
        );
    }

    let parts = Parts { log, store, topics, progress: Progress::new() };
    let mut supervisor = Supervisor::default();
    if roles.contains(&Role::Projections) {
        start_projections(&mut supervisor, &parts);
    }
    if roles.contains(&Role::Commands) {
        start_processor(&mut supervisor, &parts, &args);
    }
    if let Some(listener) = listener {
        let address = listener.local_addr().context("cannot read the listening address")?;
        start_gateway(&mut supervisor, &parts, listener);
        tracing::info!(%address, "listening on {address}");
        announce(&format!("nagare listening on http://{address}"));
    } else {
        let names: Vec<String> = roles.iter().map(Role::to_string).collect();
        announce(&format!("nagare running {}", names.join(",")));
    }
    supervisor.run_until(stop_requested).await
}

/// What the roles share.
#[derive(Debug)]
struct Parts {
    log: Arc<dyn EventLog>,
    store: Arc<dyn ReadStore>,
    topics: Topics,
    /// Fed by the projections, read by the gateway for `consistency: STRONG`.
    progress: Progress,
}

/// Prints the one line on stdout that scripts and tests wait for. A closed stdout is no reason
/// to stop serving, so a failure is only logged.
fn announce(line: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        tracing::warn!(%error, "cannot write the start-up line to stdout");
    }
}

fn start_projections(supervisor: &mut Supervisor, parts: &Parts) {
    let config = ProjectionConfig {
        // With the embedded store every process keeps its own full replica of the read models,
        // so the group is this deployment's alone; its checkpoints live in the store.
        group_prefix: format!("{}projections.", parts.topics.prefix()),
        batch_size: PROJECTION_BATCH,
    };
    let (log, store) = (parts.log.clone(), parts.store.clone());
    let (topics, progress) = (parts.topics.clone(), parts.progress.clone());
    supervisor.spawn(Role::Projections, move |stop| async move {
        nagare_consumers::run_projections(log, store, topics, config, progress, stop)
            .await
            .map_err(anyhow::Error::from)
    });
}

fn start_processor(supervisor: &mut Supervisor, parts: &Parts, args: &ServeArgs) {
    let config = ProcessorConfig {
        group: format!("{}command-processor", parts.topics.prefix()),
        snapshot_every: args.snapshot_every.as_option(),
        batch_size: PROCESSOR_BATCH,
    };
    tracing::info!(snapshot_every = %args.snapshot_every, "starting the command processor");
    let (log, topics) = (parts.log.clone(), parts.topics.clone());
    supervisor.spawn(Role::Commands, move |stop| async move {
        nagare_producers::run_command_processor(log, topics, config, stop)
            .await
            .map_err(anyhow::Error::from)
    });
}

fn start_gateway(supervisor: &mut Supervisor, parts: &Parts, listener: TcpListener) {
    let deps = nagare_gateway::GatewayDeps {
        log: parts.log.clone(),
        store: parts.store.clone(),
        read_models: ReadModels::new(parts.store.clone()),
        progress: parts.progress.clone(),
        topics: parts.topics.clone(),
    };
    let config = nagare_gateway::GatewayConfig {
        command_timeout: COMMAND_TIMEOUT,
        consistency_timeout: CONSISTENCY_TIMEOUT,
    };
    supervisor.spawn(Role::Gateway, move |stop| async move {
        nagare_gateway::serve(listener, deps, config, stop).await.map_err(anyhow::Error::from)
    });
}
