//! The command processor: one writer per command partition.
//!
//! It joins the consumer group `config.group` on the commands topic. On `Assigned(p)` it
//! rebuilds the aggregates of partition `p` from the snapshots and events topics (same partition
//! number: the topics share partition count and key hashing), reading each topic up to its high
//! watermark so a previous owner's last batch is seen, then reads commands from the group's
//! committed offset. On `Revoked(p)` it drops the state of `p`, and records of a partition it
//! does not own are never decided. Each batch of a partition is decided in memory ([`batch`])
//! and written by [`write`]: one atomic append of events, replies, dead letters, snapshots and
//! the command offset where the log allows it, else events before replies (and rejections
//! after the commit) — so many commands share one durable write, no reply names an event that
//! is not durable, and no rejection answers a command that could still be read again. If the write
//! fails, the in-memory state may be ahead of the log: the partition is rebuilt from the log and
//! re-read from the committed offset.
//!
//! Cross-aggregate rules ask the [`CatalogFeed`], caught up to the high watermarks before any
//! batch that needs it; its module documents the race that remains between partitions.

mod batch;
mod partition;
mod rebuild;
mod status;
mod write;

pub use partition::{AggregateEntry, AggregateKey, PartitionState};
pub use rebuild::rebuild_partition;
pub use status::{ProcessorPhase, ProcessorState, ProcessorStatus};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use nagare_infra::{EventLog, GroupConsumer, GroupEvent, StoredRecord, TopicPartition};
use nagare_schemas::topics::Topics;
use tokio_util::sync::CancellationToken;

use crate::catalog::CatalogFeed;
use crate::{Error, ProcessorConfig, Result};
use batch::{BatchContext, PlannedBatch, needs_catalog, plan_batch};
use write::{WriteOutcome, write_batch};

/// Retries of a failed rebuild or read wait this long at first, doubling up to the maximum.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub(crate) async fn run(
    log: Arc<dyn EventLog>,
    topics: Topics,
    config: ProcessorConfig,
    status: ProcessorStatus,
    shutdown: CancellationToken,
) -> Result<()> {
    check_topology(log.as_ref(), &topics).await?;
    let mut catalog = CatalogFeed::new(log.clone(), &topics).await?;
    let read = catalog.catch_up().await?;
    tracing::info!(events = read, "catalog loaded");
    status.set_phase(ProcessorPhase::JoiningGroup);
    let consumer = log.subscribe(&config.group, &[topics.commands()]).await?;
    let atomic_append = log.capabilities().atomic_append;
    tracing::info!(
        group = %config.group,
        atomic_append,
        "command processor joined its group; {}",
        if atomic_append {
            "each batch is one atomic append"
        } else {
            "each batch writes its events before its replies"
        }
    );
    let mut processor = Processor {
        log,
        topics,
        config,
        catalog,
        partitions: HashMap::new(),
        consumer,
        shutdown,
        atomic_append,
        status,
    };
    processor.run().await;
    Ok(())
}

/// The commands, events and snapshots topics must be partitioned alike: the processor that owns
/// command partition `p` writes partition `p` of the others.
async fn check_topology(log: &dyn EventLog, topics: &Topics) -> Result<()> {
    let commands = log.partition_count(&topics.commands()).await?;
    let mut alike = topics.all_events();
    alike.push(topics.snapshots());
    for topic in alike {
        let count = log.partition_count(&topic).await?;
        if count != commands {
            return Err(Error::Topology(format!(
                "topic `{topic}` has {count} partitions but `{}` has {commands}; they must match",
                topics.commands()
            )));
        }
    }
    log.partition_count(&topics.replies()).await?;
    log.partition_count(&topics.deadletter()).await?;
    Ok(())
}

#[derive(Debug)]
struct Processor {
    log: Arc<dyn EventLog>,
    topics: Topics,
    config: ProcessorConfig,
    catalog: CatalogFeed,
    partitions: HashMap<u32, PartitionState>,
    consumer: Box<dyn GroupConsumer>,
    shutdown: CancellationToken,
    /// The log's `atomic_append`: one append per batch, or events before replies.
    atomic_append: bool,
    /// What this processor reports to readiness probes.
    status: ProcessorStatus,
}

impl Processor {
    async fn run(&mut self) {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let event = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => break,
                event = self.consumer.next(self.config.batch_size.max(1)) => event,
            };
            match event {
                Ok(GroupEvent::Assigned(tps)) => {
                    tracing::info!(
                        partitions = ?partition_numbers(&tps),
                        owned = ?partition_numbers(&self.consumer.assignment()),
                        "command partitions assigned"
                    );
                    self.status.set_phase(ProcessorPhase::RebuildingPartitions);
                    let commands = self.topics.commands();
                    for tp in tps.iter().filter(|tp| tp.topic == commands) {
                        self.load_partition(tp).await;
                    }
                    self.status.set_owned(self.partitions.keys().copied().collect());
                    self.status.set_phase(ProcessorPhase::Deciding);
                }
                Ok(GroupEvent::Revoked(tps)) => {
                    tracing::info!(
                        partitions = ?partition_numbers(&tps),
                        owned = ?partition_numbers(&self.consumer.assignment()),
                        "command partitions revoked"
                    );
                    for tp in &tps {
                        self.partitions.remove(&tp.partition);
                    }
                    self.status.set_owned(self.partitions.keys().copied().collect());
                }
                Ok(GroupEvent::Records(records)) => self.handle_records(records).await,
                Err(nagare_infra::Error::Closed) => break,
                Err(error) => {
                    tracing::warn!(%error, "reading commands failed; retrying");
                    if !pause(&self.shutdown, &mut backoff).await {
                        break;
                    }
                    continue;
                }
            }
            backoff = FIRST_BACKOFF;
        }
        tracing::info!("command processor stopped");
    }

    /// Decides the commands of every partition in `records` and writes each partition's
    /// outcome. The writes of different partitions are independent, so they go to the log
    /// together (one group commit on the embedded log, overlapping round trips on Kafka)
    /// instead of one after another. A batch whose rules read the catalog is decided only
    /// once every batch decided before it is written, exactly as if they ran in turn.
    async fn handle_records(&mut self, records: Vec<StoredRecord>) {
        let mut decided = Vec::new();
        for (partition, commands) in by_partition(records) {
            if !self.owns(partition) {
                // Its new owner decides these; deciding them here would make two writers of
                // one partition.
                tracing::debug!(
                    partition,
                    commands = commands.len(),
                    "records of a partition this processor does not own passed over"
                );
                continue;
            }
            let reads_catalog = commands.iter().any(|c| needs_catalog(&c.record));
            if reads_catalog && !decided.is_empty() {
                self.write_decided(std::mem::take(&mut decided)).await;
            }
            if let Some(batch) = self.decide(partition, &commands, reads_catalog).await {
                decided.push(batch);
            }
        }
        self.write_decided(decided).await;
    }

    /// Decides one partition's commands: what to write, or `None` when the partition could
    /// not be made ready (it is rebuilt and its commands read again).
    async fn decide(
        &mut self,
        partition: u32,
        commands: &[StoredRecord],
        reads_catalog: bool,
    ) -> Option<Decided> {
        let tp = commands.first().map(StoredRecord::topic_partition)?;
        if !self.partitions.contains_key(&partition) && !self.load_partition(&tp).await {
            return None;
        }
        if reads_catalog && let Err(error) = self.catalog.catch_up().await {
            tracing::warn!(%error, %tp, "catalog catch-up failed; re-reading the batch");
            self.recover(&tp).await;
            return None;
        }
        let state = self.partitions.get_mut(&partition)?;
        let ctx = BatchContext {
            topics: &self.topics,
            group: &self.config.group,
            partition,
            snapshot_every: self.config.snapshot_every,
            handoff: &self.config.reply_handoff,
        };
        let plan = plan_batch(&ctx, state, self.catalog.catalog_mut(), commands);
        Some(Decided { tp, commands: commands.len(), plan })
    }

    /// Writes decided batches together, then handles each outcome in turn.
    async fn write_decided(&mut self, decided: Vec<Decided>) {
        if decided.is_empty() {
            return;
        }
        let (log, atomic) = (self.log.as_ref(), self.atomic_append);
        let mut written = Vec::with_capacity(decided.len());
        let mut plans = Vec::with_capacity(decided.len());
        for Decided { tp, commands, mut plan } in decided {
            let counts = (plan.accepted, plan.duplicates, plan.rejected, plan.dead_lettered);
            let events = std::mem::take(&mut plan.expected);
            written.push((tp, commands, counts, events));
            plans.push(plan);
        }
        let writes = plans
            .into_iter()
            .zip(&written)
            .map(|(plan, (_, _, _, events))| write_batch(log, atomic, plan, events));
        let outcomes = futures::future::join_all(writes).await;
        for ((tp, commands, counts, events), outcome) in written.into_iter().zip(outcomes) {
            match outcome {
                WriteOutcome::Written => {
                    // The catalog applied these events when they were decided.
                    self.catalog.skip_applied(&events);
                    let (accepted, duplicates, rejected, dead_lettered) = counts;
                    tracing::debug!(
                        %tp,
                        commands,
                        accepted,
                        duplicates,
                        rejected,
                        dead_lettered,
                        "batch written"
                    );
                }
                WriteOutcome::Misplaced { expected, actual } => {
                    tracing::error!(
                        %tp,
                        expected = ?expected.first(),
                        actual = ?actual.first(),
                        "events landed at unexpected offsets: another writer on this partition; rebuilding"
                    );
                    self.recover(&tp).await;
                }
                WriteOutcome::Failed(error) => {
                    tracing::warn!(%error, %tp, "append failed; rebuilding the partition from the log");
                    self.recover(&tp).await;
                }
            }
        }
    }

    /// Whether the group currently assigns this command partition to this processor.
    fn owns(&self, partition: u32) -> bool {
        let commands = self.topics.commands();
        self.consumer
            .assignment()
            .iter()
            .any(|tp| tp.partition == partition && tp.topic == commands)
    }

    /// Rebuilds a partition's state, retrying until it succeeds or shutdown. False on shutdown.
    async fn load_partition(&mut self, tp: &TopicPartition) -> bool {
        let mut backoff = FIRST_BACKOFF;
        loop {
            match rebuild_partition(self.log.as_ref(), &self.topics, tp.partition).await {
                Ok(state) => {
                    self.partitions.insert(tp.partition, state);
                    return true;
                }
                Err(error) => {
                    tracing::warn!(%error, %tp, "rebuilding the partition failed; retrying");
                    if !pause(&self.shutdown, &mut backoff).await {
                        return false;
                    }
                }
            }
        }
    }

    /// After a failed write the in-memory state (and the catalog, which saw the decided events)
    /// may be ahead of the log: rebuild both and re-read from the group's committed offset.
    async fn recover(&mut self, tp: &TopicPartition) {
        self.partitions.remove(&tp.partition);
        self.catalog.reset();
        let mut backoff = FIRST_BACKOFF;
        loop {
            let reposition = async {
                let committed = self.log.committed(&self.config.group, tp).await?.unwrap_or(0);
                self.consumer.seek(tp, committed).await?;
                Ok::<_, nagare_infra::Error>(committed)
            };
            match reposition.await {
                Ok(committed) => {
                    tracing::info!(%tp, committed, "re-reading commands from the committed offset");
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, %tp, "repositioning failed; retrying");
                    if !pause(&self.shutdown, &mut backoff).await {
                        return;
                    }
                }
            }
        }
        self.load_partition(tp).await;
    }
}

/// Waits out a backoff step; false if shutdown came first.
async fn pause(shutdown: &CancellationToken, backoff: &mut Duration) -> bool {
    let wait = *backoff;
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    tokio::select! {
        () = shutdown.cancelled() => false,
        () = tokio::time::sleep(wait) => true,
    }
}

fn partition_numbers(tps: &[TopicPartition]) -> Vec<u32> {
    tps.iter().map(|tp| tp.partition).collect()
}

/// Splits a batch by partition, keeping each partition's records in offset order.
/// One partition's decided commands, ready to be written.
#[derive(Debug)]
struct Decided {
    tp: TopicPartition,
    commands: usize,
    plan: PlannedBatch,
}

fn by_partition(records: Vec<StoredRecord>) -> Vec<(u32, Vec<StoredRecord>)> {
    let mut groups: Vec<(u32, Vec<StoredRecord>)> = Vec::new();
    for record in records {
        match groups.iter_mut().find(|(p, _)| *p == record.partition) {
            Some((_, group)) => group.push(record),
            None => groups.push((record.partition, vec![record])),
        }
    }
    groups
}
