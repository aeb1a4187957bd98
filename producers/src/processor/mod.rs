//! The command processor: one writer per command partition.
//!
//! It joins the consumer group `config.group` on the commands topic. On `Assigned(p)` it
//! rebuilds the aggregates of partition `p` from the snapshots and events topics (same partition
//! number: the topics share partition count and key hashing), then reads commands from the
//! group's committed offset. Each batch of a partition is decided in memory ([`batch`]) and
//! written with ONE `append` — events, replies, dead letters, snapshots and the command offset —
//! so many commands share one durable write. If that append fails, the in-memory state may be
//! ahead of the log: the partition is rebuilt from the log and re-read from the committed offset.
//!
//! Cross-aggregate rules ask the [`CatalogFeed`], caught up to the high watermarks before any
//! batch that needs it; its module documents the race that remains between partitions.

mod batch;
mod partition;
mod rebuild;

pub use partition::{AggregateEntry, AggregateKey, PartitionState};
pub use rebuild::rebuild_partition;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use nagare_infra::{EventLog, GroupConsumer, GroupEvent, StoredRecord, TopicPartition};
use nagare_schemas::topics::Topics;
use tokio_util::sync::CancellationToken;

use crate::catalog::CatalogFeed;
use crate::{Error, ProcessorConfig, Result};
use batch::{BatchContext, needs_catalog, plan_batch};

/// Retries of a failed rebuild or read wait this long at first, doubling up to the maximum.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub(crate) async fn run(
    log: Arc<dyn EventLog>,
    topics: Topics,
    config: ProcessorConfig,
    shutdown: CancellationToken,
) -> Result<()> {
    check_topology(log.as_ref(), &topics).await?;
    let mut catalog = CatalogFeed::new(log.clone(), &topics).await?;
    let read = catalog.catch_up().await?;
    tracing::info!(events = read, "catalog loaded");
    let consumer = log.subscribe(&config.group, &[topics.commands()]).await?;
    let mut processor =
        Processor { log, topics, config, catalog, partitions: HashMap::new(), consumer, shutdown };
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
                    tracing::info!(partitions = ?partition_numbers(&tps), "command partitions assigned");
                    let commands = self.topics.commands();
                    for tp in tps.iter().filter(|tp| tp.topic == commands) {
                        self.load_partition(tp).await;
                    }
                }
                Ok(GroupEvent::Revoked(tps)) => {
                    tracing::info!(partitions = ?partition_numbers(&tps), "command partitions revoked");
                    for tp in &tps {
                        self.partitions.remove(&tp.partition);
                    }
                }
                Ok(GroupEvent::Records(records)) => {
                    for (partition, commands) in by_partition(records) {
                        self.handle_batch(partition, &commands).await;
                    }
                }
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

    async fn handle_batch(&mut self, partition: u32, commands: &[StoredRecord]) {
        let Some(tp) = commands.first().map(StoredRecord::topic_partition) else { return };
        if !self.partitions.contains_key(&partition) && !self.load_partition(&tp).await {
            return;
        }
        if commands.iter().any(|c| needs_catalog(&c.record))
            && let Err(error) = self.catalog.catch_up().await
        {
            tracing::warn!(%error, %tp, "catalog catch-up failed; re-reading the batch");
            self.recover(&tp).await;
            return;
        }
        let Some(state) = self.partitions.get_mut(&partition) else { return };
        let ctx = BatchContext {
            topics: &self.topics,
            group: &self.config.group,
            partition,
            snapshot_every: self.config.snapshot_every,
        };
        let plan = plan_batch(&ctx, state, self.catalog.catalog_mut(), commands);
        let written = if plan.records.is_empty() {
            match plan.commit {
                Some(commit) => self.log.commit(commit).await.map(|()| Vec::new()),
                None => Ok(Vec::new()),
            }
        } else {
            self.log.append(plan.records, plan.commit).await
        };
        match written {
            Ok(positions) if positions.get(..plan.expected.len()) == Some(&plan.expected[..]) => {
                tracing::debug!(
                    %tp,
                    commands = commands.len(),
                    accepted = plan.accepted,
                    duplicates = plan.duplicates,
                    rejected = plan.rejected,
                    dead_lettered = plan.dead_lettered,
                    "batch written"
                );
            }
            Ok(_) => {
                // Replies already named the predicted positions; someone else writes here.
                tracing::error!(%tp, "events landed at unexpected offsets: another writer on this partition; rebuilding");
                self.recover(&tp).await;
            }
            Err(error) => {
                tracing::warn!(%error, %tp, "append failed; rebuilding the partition from the log");
                self.recover(&tp).await;
            }
        }
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
