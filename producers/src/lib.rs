//! Nagare's write side: the Category, Product and Order aggregates (pure decide/apply logic,
//! tested given/when/then with no I/O), and the command processor that owns command partitions
//! as a consumer group, rebuilds their aggregates from snapshots and events, decides each
//! command once, and writes events, the reply and the command offset together (a reply for a
//! gateway of the same process is handed over in memory instead, once the events are durable).

pub mod aggregates;
pub mod catalog;
pub mod envelope;
mod processor;
pub mod receipts;
pub mod snapshot;
#[cfg(test)]
mod test_framework;

pub use processor::{
    AggregateEntry, AggregateKey, PartitionState, ProcessorPhase, ProcessorState, ProcessorStatus,
    rebuild_partition,
};

use std::sync::Arc;

use nagare_infra::EventLog;
use nagare_schemas::reply_handoff::ReplyHandoff;
use nagare_schemas::topics::Topics;
use tokio_util::sync::CancellationToken;

/// Errors of the write side.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Infra(#[from] nagare_infra::Error),
    #[error(transparent)]
    Codec(#[from] nagare_schemas::codec::CodecError),
    /// The topics are not laid out as the processor needs them.
    #[error("topic layout: {0}")]
    Topology(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How the command processor runs.
#[derive(Clone, Debug)]
pub struct ProcessorConfig {
    /// The consumer group of command processors.
    pub group: String,
    /// Once this many events have been written in a command partition since its last snapshot,
    /// snapshot every aggregate of the partition changed since then; `None`: never (see
    /// [`snapshot`]). Any interval, or none, rebuilds the same state.
    pub snapshot_every: Option<u64>,
    /// Commands decided per durable write at most.
    pub batch_size: usize,
    /// The gateways of this process: their replies are handed over in memory once durable,
    /// instead of written to the replies topic (empty: every reply is written).
    pub reply_handoff: ReplyHandoff,
}

/// Runs the command processor until `shutdown` is cancelled, then finishes the batch in hand.
pub async fn run_command_processor(
    log: Arc<dyn EventLog>,
    topics: Topics,
    config: ProcessorConfig,
    shutdown: CancellationToken,
) -> Result<()> {
    processor::run(log, topics, config, ProcessorStatus::new(), shutdown).await
}

/// [`run_command_processor`], reporting its start-up and partitions through `status` (for
/// readiness probes).
pub async fn run_command_processor_with_status(
    log: Arc<dyn EventLog>,
    topics: Topics,
    config: ProcessorConfig,
    status: ProcessorStatus,
    shutdown: CancellationToken,
) -> Result<()> {
    processor::run(log, topics, config, status, shutdown).await
}
