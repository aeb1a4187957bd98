//! Nagare's read side: projections that consume the events topics as consumer groups and
//! write read models (tables designed for their queries) into the `ReadStore`, each batch
//! together with its checkpoint; and the read-model queries the gateway serves from.

pub mod read_models;

pub use read_models::ReadModels;
pub use read_models::views::{
    CategoryView, OrderLineView, OrderStatus, OrderView, Page, PageRequest, ProductView,
};

use std::time::Duration;

use nagare_infra::{EventLog, Position, ReadStore};
use nagare_schemas::topics::Topics;
use tokio_util::sync::CancellationToken;

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
}

/// How far the projections have got, shared between the projection tasks and the gateway
/// (read-your-writes: wait until the read models show a mutation's events).
#[derive(Clone, Debug)]
pub struct Progress {
    _private: (),
}

impl Progress {
    pub fn new() -> Self {
        unimplemented!("consumers progress")
    }

    /// Waits until every projection that consumes each position's topic has applied the event
    /// at that position; `Error::Timeout` after `timeout`.
    pub async fn wait_for(&self, positions: &[Position], timeout: Duration) -> Result<()> {
        let _ = (positions, timeout);
        unimplemented!("consumers progress")
    }
}

/// Creates the read-model tables and runs every projection until `shutdown` is cancelled.
pub async fn run_projections(
    log: std::sync::Arc<dyn EventLog>,
    store: std::sync::Arc<dyn ReadStore>,
    topics: Topics,
    config: ProjectionConfig,
    progress: Progress,
    shutdown: CancellationToken,
) -> Result<()> {
    let _ = (log, store, topics, config, progress, shutdown);
    unimplemented!("consumers projections")
}
