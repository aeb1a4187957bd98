//! Nagare's read side: projections that consume the events topics as consumer groups and
//! write read models (tables designed for their queries) into the `ReadStore`, each batch
//! together with its checkpoint; and the read-model queries the gateway serves from.
//!
//! Three projections run, one per read-model family, each its own consumer group
//! (`{group_prefix}{name}`) on one events topic, with as many members in this process as
//! `ProjectionConfig::workers` says (each applies its share of the partitions):
//!
//! | projection   | topic            | tables |
//! |--------------|------------------|--------|
//! | `categories` | `events.category`| categories by id, listing of live categories |
//! | `products`   | `events.product` | products by id, by category, listing of live products, product count per category |
//! | `orders`     | `events.order`   | orders by id, by customer, by status, listing of all orders |
//!
//! A projection applies an event only when it is newer than the version its row records, so
//! replaying a topic from any offset is harmless; it resumes from the checkpoints stored with
//! its rows, not from the group's committed offsets.

mod progress;
mod projections;
pub mod read_models;
mod replica;

pub use progress::{Progress, ProjectionProgress};
pub use read_models::ReadModels;
pub use read_models::views::{
    CategoryView, OrderLineView, OrderStatus, OrderView, Page, PageRequest, ProductView,
};
pub use replica::{REPLICA_TABLE, projection_group_prefix, replica_id};

use std::sync::Arc;
use std::time::Duration;

use nagare_infra::{EventLog, LogCapabilities, ReadStore};
use nagare_schemas::topics::Topics;
use tokio_util::sync::CancellationToken;

use projections::{Projection, Runner};

/// Errors of the read side.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Infra(#[from] nagare_infra::Error),
    #[error("invalid cursor `{0}`")]
    BadCursor(String),
    #[error("the read models did not reach the requested positions within {0:?}")]
    Timeout(Duration),
    #[error("corrupt read-model row in `{table}`: {reason}")]
    CorruptRow { table: String, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How the projections run.
#[derive(Clone, Debug)]
pub struct ProjectionConfig {
    /// Prefix of the consumer-group ids (`{prefix}{projection name}`). With the embedded store
    /// every query-serving process uses its own prefix, so it keeps a full replica.
    pub group_prefix: String,
    /// Events applied per store batch at most.
    pub batch_size: usize,
    /// Bytes of recently read and written rows each projection keeps in memory, so that the
    /// next event of an entity does not read the store again (0 turns the cache off); its
    /// members share it out.
    pub row_cache_bytes: u64,
    /// Members of each projection's consumer group run in this process (at least 1). Each
    /// applies the events of its own partitions and writes its own batches, so a projection
    /// uses more than one core; a projection with fewer partitions leaves the rest idle.
    pub workers: usize,
}

impl ProjectionConfig {
    /// Events per store batch at most, by default. A batch holds what the log has ready, so
    /// under light load batches stay small (and fast to show); when a projection is behind
    /// (a rebuild, a burst) a large batch spreads one durable store write over thousands of
    /// events, which is what keeps a replay fast (BENCHMARKS.md, `replay`).
    pub const DEFAULT_BATCH_SIZE: usize = 4096;
    /// Row cache per projection, by default: the rows of a catalog of 200,000 products, shared
    /// out among the projection's members, each holding its partitions' share (BENCHMARKS.md,
    /// `replay`); only used as rows are touched.
    pub const DEFAULT_ROW_CACHE_BYTES: u64 = 128 * 1024 * 1024;

    /// Members per projection, by default, on a log with in-process consumer groups (the
    /// embedded log): with the default 8 partitions each member applies two, and a rebuild on
    /// two cores runs 1.3–1.4× as fast as with one member (BENCHMARKS.md, `replay`); more
    /// members only add batches.
    pub const DEFAULT_LOCAL_WORKERS: usize = 4;

    /// Members per projection, by default, on `log`: several where group members are cheap,
    /// one on Kafka, where every member is a broker client whose join rebalances the group
    /// (a deployment there scales a projection out by processes, or sets the count).
    pub fn default_workers(log: &LogCapabilities) -> usize {
        if log.local_groups { Self::DEFAULT_LOCAL_WORKERS } else { 1 }
    }
}

/// Creates the read-model tables and runs every projection until `shutdown` is cancelled;
/// returns once each has finished the batch in hand. A projection that fails restarts from
/// its checkpoints; only a closed log ends `run_projections` with an error (the others are
/// stopped first).
pub async fn run_projections(
    log: Arc<dyn EventLog>,
    store: Arc<dyn ReadStore>,
    topics: Topics,
    config: ProjectionConfig,
    progress: Progress,
    shutdown: CancellationToken,
) -> Result<()> {
    for projection in Projection::ALL {
        for table in projection.tables() {
            store.ensure_table(table).await?;
        }
    }
    let workers = config.workers.max(1);
    let runners: Vec<Runner> = Projection::ALL
        .into_iter()
        .flat_map(|projection| std::iter::repeat_n(projection, workers))
        .map(|projection| Runner {
            projection,
            group: format!("{}{}", config.group_prefix, projection.name()),
            topics: vec![topics.events(projection.aggregate())],
            batch_size: config.batch_size,
            row_cache_bytes: config.row_cache_bytes / workers as u64,
            log: Arc::clone(&log),
            store: Arc::clone(&store),
            progress: progress.clone(),
        })
        .collect();
    progress.register(
        Projection::ALL
            .iter()
            .map(|p| (p.name().to_owned(), vec![topics.events(p.aggregate())]))
            .collect(),
    );
    // Each member of each projection is a task of its own, so they run on every core (a
    // `JoinSet` aborts them if this future is dropped); one that ends with an error stops the
    // others, so the caller sees the failure.
    let stop = shutdown.child_token();
    let mut running = tokio::task::JoinSet::new();
    for runner in runners {
        let stop = stop.clone();
        running.spawn(async move {
            let result = runner.run(stop.clone()).await;
            if result.is_err() {
                stop.cancel();
            }
            result
        });
    }
    let mut outcome = Ok(());
    while let Some(finished) = running.join_next().await {
        // A projection task that panicked is a bug; it is reported like any other failure.
        let result = finished.unwrap_or_else(|panic| {
            stop.cancel();
            Err(Error::Infra(nagare_infra::Error::Storage(format!(
                "a projection panicked: {panic}"
            ))))
        });
        if outcome.is_ok() {
            outcome = result;
        }
    }
    outcome
}
