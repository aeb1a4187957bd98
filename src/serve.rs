//! `nagare serve`: opens the log and the store, declares the topics, starts the chosen roles and
//! stops them in order on SIGINT or SIGTERM.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use nagare_consumers::{Progress, ProjectionConfig, ReadModels};
use nagare_infra::{EventLog, ReadStore};
use nagare_producers::{ProcessorConfig, ProcessorStatus};
use nagare_schemas::reply_handoff::ReplyHandoff;
use nagare_schemas::topics::Topics;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::cli::{Role, ServeArgs};
use crate::signals;
use crate::supervisor::Supervisor;
use crate::topology;

/// Commands the processor decides per durable write at most.
const PROCESSOR_BATCH: usize = 256;
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
    // A process that only runs command processors reads and writes the log alone; opening
    // (and, when embedded, locking) a store there would stop several of them sharing a directory.
    let store = if roles.contains(&Role::Gateway) || roles.contains(&Role::Projections) {
        let store = nagare_infra::open_store(&args.store)
            .await
            .with_context(|| format!("cannot open the read store at {}", args.store))?;
        Some(store)
    } else {
        None
    };
    tracing::info!(
        log = %log.capabilities().description,
        store = %store.as_ref().map_or_else(|| "none (not needed by these roles)".to_owned(), |store| store.capabilities().description),
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
    let health_listener = match &args.health_listen {
        Some(_) if roles.contains(&Role::Gateway) => anyhow::bail!(
            "--health-listen is for a process without the gateway role; the gateway serves \
             /health/live and /health/ready on --listen ({})",
            args.listen
        ),
        Some(address) => Some(
            TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} (--health-listen)"))?,
        ),
        None => None,
    };
    let partitions = topology::ensure_topics(&*log, &topics, args.partitions).await?;
    tracing::info!(partitions, "topics ready");

    if args.admin_token.is_some() {
        tracing::info!("an admin token is set; this release serves no /admin routes yet");
    }
    let store_shared = store.as_ref().is_some_and(|store| store.capabilities().shared);
    let roles = effective_roles(roles, store_shared);
    let progress = if let Some(store) = store
        .as_ref()
        .filter(|_| roles.contains(&Role::Gateway) && !roles.contains(&Role::Projections))
    {
        // The projections run in other processes and write the shared store: read-your-writes
        // follows their checkpoints there.
        tracing::info!(
            "the gateway runs without the projections role on a shared store; \
             `consistency: STRONG` waits on the projections' checkpoints in the store"
        );
        Progress::following_store(store.clone(), &topics)
    } else {
        Progress::new()
    };

    let parts = Parts {
        log,
        store,
        topics,
        progress,
        processor: ProcessorStatus::new(),
        reply_handoff: ReplyHandoff::default(),
    };
    let mut supervisor = Supervisor::default();
    if let Some(store) = parts.store.as_ref().filter(|_| roles.contains(&Role::Projections)) {
        let group_prefix = nagare_consumers::projection_group_prefix(&**store, &parts.topics)
            .await
            .context("cannot name the projections' consumer groups")?;
        let workers = args.projection_workers.map_or_else(
            || ProjectionConfig::default_workers(&parts.log.capabilities()),
            usize::from,
        );
        tracing::info!(%group_prefix, store_shared, workers, "starting the projections");
        let config = ProjectionConfig {
            group_prefix,
            batch_size: ProjectionConfig::DEFAULT_BATCH_SIZE,
            row_cache_bytes: args.row_cache_mib << 20,
            workers,
        };
        start_projections(&mut supervisor, &parts, store.clone(), config);
    }
    if roles.contains(&Role::Commands) {
        start_processor(&mut supervisor, &parts, &args);
    }
    let health = if let Some((listener, store)) = listener.zip(parts.store.clone()) {
        let address = listener.local_addr().context("cannot read the listening address")?;
        start_gateway(&mut supervisor, &parts, store, listener, &roles);
        tracing::info!(%address, "listening on {address}");
        announce(&format!("nagare listening on http://{address}"));
        None
    } else {
        let names: Vec<String> = roles.iter().map(Role::to_string).collect();
        let mut line = format!("nagare running {}", names.join(","));
        let health = match health_listener {
            Some(listener) => {
                let address = listener.local_addr().context("cannot read the health address")?;
                line.push_str(&format!(", health on http://{address}"));
                Some(start_health(listener, &parts, &roles))
            }
            None => None,
        };
        announce(&line);
        health
    };
    let outcome = supervisor.run_until(stop_requested).await;
    if let Some((stop, server)) = health {
        stop.cancel();
        if let Ok(Err(error)) = server.await {
            tracing::warn!(%error, "the health endpoints stopped with an error");
        }
    }
    outcome
}

/// The health endpoints of a process without the gateway; they run until the roles stop.
fn start_health(
    listener: TcpListener,
    parts: &Parts,
    roles: &BTreeSet<Role>,
) -> (CancellationToken, tokio::task::JoinHandle<nagare_gateway::Result<()>>) {
    let deps = nagare_gateway::HealthDeps {
        log: parts.log.clone(),
        topics: parts.topics.clone(),
        roles: roles.iter().map(Role::to_string).collect(),
        role_checks: processor_check(parts, roles).into_iter().collect(),
    };
    let stop = CancellationToken::new();
    let server = tokio::spawn(nagare_gateway::serve_health(listener, deps, stop.clone()));
    (stop, server)
}

/// The roles to run: those asked for, plus the projections for a gateway on a store of its own
/// (the embedded store), which would otherwise serve read models nobody keeps up to date.
fn effective_roles(mut roles: BTreeSet<Role>, store_shared: bool) -> BTreeSet<Role> {
    if roles.contains(&Role::Gateway) && !roles.contains(&Role::Projections) && !store_shared {
        tracing::info!(
            "starting the projections role too: this gateway's store belongs to this process \
             alone, so its read models are kept here"
        );
        roles.insert(Role::Projections);
    }
    roles
}

/// What the roles share.
#[derive(Debug)]
struct Parts {
    log: Arc<dyn EventLog>,
    /// Absent when no role of this process reads or writes the read models.
    store: Option<Arc<dyn ReadStore>>,
    topics: Topics,
    /// Fed by the projections of this process, or read from the store's checkpoints when they
    /// run elsewhere; the gateway waits on it for `consistency: STRONG`.
    progress: Progress,
    /// The command processor's start-up, which readiness includes when this process runs it.
    processor: ProcessorStatus,
    /// Where the command processor of this process hands the replies for this process's
    /// gateway, instead of writing them to the replies topic.
    reply_handoff: ReplyHandoff,
}

/// Prints the one line on stdout that scripts and tests wait for. A closed stdout is no reason
/// to stop serving, so a failure is only logged.
fn announce(line: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        tracing::warn!(%error, "cannot write the start-up line to stdout");
    }
}

/// `group_prefix` follows the store: a replica's own groups on a store of one process, one
/// deployment-wide group on a shared store (see `nagare_consumers::projection_group_prefix`).
fn start_projections(
    supervisor: &mut Supervisor,
    parts: &Parts,
    store: Arc<dyn ReadStore>,
    config: ProjectionConfig,
) {
    let log = parts.log.clone();
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
        reply_handoff: parts.reply_handoff.clone(),
    };
    tracing::info!(snapshot_every = %args.snapshot_every, "starting the command processor");
    let (log, topics, status) = (parts.log.clone(), parts.topics.clone(), parts.processor.clone());
    supervisor.spawn(Role::Commands, move |stop| async move {
        nagare_producers::run_command_processor_with_status(log, topics, config, status, stop)
            .await
            .map_err(anyhow::Error::from)
    });
}

fn start_gateway(
    supervisor: &mut Supervisor,
    parts: &Parts,
    store: Arc<dyn ReadStore>,
    listener: TcpListener,
    roles: &BTreeSet<Role>,
) {
    let deps = nagare_gateway::GatewayDeps {
        log: parts.log.clone(),
        read_models: ReadModels::new(store.clone()),
        store,
        progress: parts.progress.clone(),
        topics: parts.topics.clone(),
        role_checks: processor_check(parts, roles).into_iter().collect(),
        reply_handoff: parts.reply_handoff.clone(),
    };
    let config = nagare_gateway::GatewayConfig {
        command_timeout: COMMAND_TIMEOUT,
        consistency_timeout: CONSISTENCY_TIMEOUT,
        roles: roles.iter().map(Role::to_string).collect(),
    };
    supervisor.spawn(Role::Gateway, move |stop| async move {
        nagare_gateway::serve(listener, deps, config, stop).await.map_err(anyhow::Error::from)
    });
}

/// Readiness waits for this process's command processor, if it runs one: until it has joined
/// its group and rebuilt its partitions, commands sent here would wait for it.
fn processor_check(parts: &Parts, roles: &BTreeSet<Role>) -> Option<nagare_gateway::RoleCheck> {
    let status = parts.processor.clone();
    roles.contains(&Role::Commands).then(|| nagare_gateway::RoleCheck {
        name: Role::Commands.to_string(),
        probe: Arc::new(move || {
            let state = status.state();
            (state.is_ready(), state.describe())
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(roles: &[Role]) -> BTreeSet<Role> {
        roles.iter().copied().collect()
    }

    #[test]
    fn a_gateway_on_its_own_store_keeps_its_own_read_models() {
        let gateway = set(&[Role::Gateway]);
        assert_eq!(
            effective_roles(gateway.clone(), false),
            set(&[Role::Gateway, Role::Projections])
        );
        assert_eq!(effective_roles(gateway, true), set(&[Role::Gateway]));
        let commands = set(&[Role::Commands]);
        assert_eq!(effective_roles(commands.clone(), false), commands);
    }
}
