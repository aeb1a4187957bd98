//! Runs one projection: joins its consumer group, resumes every assigned partition from the
//! checkpoint in the store (the truth, written with the rows), applies batches of events and
//! writes each batch's rows and checkpoints together, then commits the group offsets.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use nagare_infra::{Checkpoint, TopicPartition, WriteBatch};
use nagare_infra::{EventLog, GroupConsumer, GroupEvent, Offset, ReadStore, StoredRecord};
use tokio_util::sync::CancellationToken;

use super::staged::StagedWrites;
use super::{Outcome, Projection, envelope};
use crate::progress::Progress;
use crate::{Error, Result};

/// Wait before restarting a failed projection, doubled per consecutive failure up to the max.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(200);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(10);

/// One projection and everything it needs to run.
#[derive(Debug)]
pub(crate) struct Runner {
    pub(crate) projection: Projection,
    pub(crate) group: String,
    pub(crate) topics: Vec<String>,
    pub(crate) batch_size: usize,
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) store: Arc<dyn ReadStore>,
    pub(crate) progress: Progress,
}

impl Runner {
    /// Runs until `shutdown`, finishing the batch in hand. A failure (the store or the log
    /// unavailable, say) restarts the projection from its checkpoints after a growing pause, so
    /// nothing is applied twice and nothing is lost; only a closed log ends it with an error.
    pub(crate) async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let name = self.projection.name();
        let mut delay = FIRST_RETRY_DELAY;
        loop {
            let mut applied_any = false;
            let error = match self.consume(&shutdown, &mut applied_any).await {
                Ok(()) => return Ok(()),
                Err(error) => error,
            };
            if shutdown.is_cancelled() {
                tracing::warn!(projection = name, %error, "projection failed while stopping");
                return Ok(());
            }
            if matches!(error, Error::Infra(nagare_infra::Error::Closed)) {
                return Err(error);
            }
            if applied_any {
                delay = FIRST_RETRY_DELAY;
            }
            tracing::error!(projection = name, %error, retry_in = ?delay,
                "projection failed; restarting from its checkpoints");
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(MAX_RETRY_DELAY);
        }
    }

    async fn consume(&self, shutdown: &CancellationToken, applied_any: &mut bool) -> Result<()> {
        let mut consumer = self.log.subscribe(&self.group, &self.topics).await?;
        // Per assigned partition, the next offset to apply.
        let mut next_offsets = HashMap::new();
        loop {
            let event = tokio::select! {
                biased;
                () = shutdown.cancelled() => return Ok(()),
                event = consumer.next(self.batch_size.max(1)) => event?,
            };
            match event {
                GroupEvent::Assigned(partitions) => {
                    self.resume(consumer.as_mut(), &mut next_offsets, partitions).await?;
                }
                GroupEvent::Revoked(partitions) => {
                    for tp in partitions {
                        next_offsets.remove(&tp);
                    }
                }
                GroupEvent::Records(records) => {
                    self.apply_batch(consumer.as_mut(), &mut next_offsets, records).await?;
                    *applied_any = true;
                }
            }
        }
    }

    /// Seeks newly assigned partitions to the store's checkpoints (0 where there is none,
    /// whatever the group committed: the rows are only as far as the checkpoint says).
    async fn resume(
        &self,
        consumer: &mut dyn GroupConsumer,
        next_offsets: &mut HashMap<TopicPartition, Offset>,
        partitions: Vec<TopicPartition>,
    ) -> Result<()> {
        let name = self.projection.name();
        let checkpoints: HashMap<TopicPartition, Offset> = self
            .store
            .checkpoints(name)
            .await?
            .into_iter()
            .map(|checkpoint| (checkpoint.tp, checkpoint.next_offset))
            .collect();
        for tp in partitions {
            let offset = checkpoints.get(&tp).copied().unwrap_or(0);
            consumer.seek(&tp, offset).await?;
            tracing::debug!(projection = name, partition = %tp, offset, "resuming");
            self.progress.record(name, &tp, offset);
            next_offsets.insert(tp, offset);
        }
        Ok(())
    }

    /// Applies a batch of records and writes the rows with the checkpoints in one store write.
    async fn apply_batch(
        &self,
        consumer: &mut dyn GroupConsumer,
        next_offsets: &mut HashMap<TopicPartition, Offset>,
        records: Vec<StoredRecord>,
    ) -> Result<()> {
        let name = self.projection.name();
        let mut staged = StagedWrites::new(self.store.as_ref());
        let mut advanced = BTreeMap::new();
        let mut skipped = 0_u64;
        for record in records {
            let tp = record.topic_partition();
            // Records of a partition no longer (or not yet) ours, or already applied.
            let Some(next) = next_offsets.get(&tp).copied() else { continue };
            if record.offset < next {
                continue;
            }
            match envelope::open(&record) {
                Ok(envelope) => {
                    let outcome = self.projection.apply(&mut staged, &envelope).await?;
                    if matches!(outcome, Outcome::Orphan | Outcome::NotOurs) {
                        tracing::warn!(projection = name, partition = %tp, offset = record.offset,
                            event_type = envelope.event.event_type(), ?outcome,
                            "event not applicable to the read model; passed over");
                    }
                }
                Err(reason) => {
                    skipped += 1;
                    tracing::warn!(projection = name, partition = %tp, offset = record.offset,
                        %reason, "undecodable event; passed over");
                }
            }
            let after = record.offset.saturating_add(1);
            next_offsets.insert(tp.clone(), after);
            advanced.insert(tp, after);
        }
        if advanced.is_empty() {
            return Ok(());
        }
        let checkpoints = advanced
            .iter()
            .map(|(tp, next_offset)| Checkpoint {
                projection: name.to_owned(),
                tp: tp.clone(),
                next_offset: *next_offset,
            })
            .collect();
        self.store.write(WriteBatch { ops: staged.into_ops(), checkpoints }).await?;
        self.progress.record_batch(name, advanced.iter().map(|(tp, o)| (tp, *o)), skipped);
        // The group offsets only help tools that show lag; the checkpoint decides where to
        // resume, so a failed commit is worth a warning, not a restart.
        if let Err(error) = consumer.commit(advanced.into_iter().collect()).await {
            tracing::warn!(projection = name, %error, "could not commit group offsets");
        }
        Ok(())
    }
}
