//! Runs one member of a projection's consumer group: joins the group, resumes every assigned
//! partition from the checkpoint in the store (the truth, written with the rows), applies
//! batches of events and writes each batch's rows and checkpoints together. A process may run
//! several members of one projection; each has its own partitions, batches and row cache.
//!
//! The group offsets follow the checkpoints at most once per [`COMMIT_INTERVAL`] (and whenever
//! partitions change hands or the member stops): they only show lag to operators, since a member
//! resumes from the checkpoints, and committing one per batch cost a durable log write each.
//!
//! When the member is behind (a replay, a burst), a full batch is written while the next one
//! is applied, one write at a time so checkpoints land in order; rows the member has recently
//! read or written are answered from its `RowCache` instead of the store.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use nagare_infra::{Checkpoint, TopicPartition, WriteBatch};
use nagare_infra::{EventLog, GroupConsumer, GroupEvent, Offset, ReadStore, StoredRecord};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::row_cache::RowCache;
use super::staged::{self, StagedRows, StagedWrites};
use super::{Outcome, Projection, envelope};
use crate::progress::Progress;
use crate::{Error, Result};

/// Wait before restarting a failed projection, doubled per consecutive failure up to the max.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(200);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(10);
/// How often a member commits its group offsets while it applies events (Kafka's own clients
/// default to five seconds).
const COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// One projection and everything it needs to run.
#[derive(Debug)]
pub(crate) struct Runner {
    pub(crate) projection: Projection,
    pub(crate) group: String,
    pub(crate) topics: Vec<String>,
    pub(crate) batch_size: usize,
    /// Bytes of recent rows the projection keeps in memory (see `RowCache`).
    pub(crate) row_cache_bytes: u64,
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) store: Arc<dyn ReadStore>,
    pub(crate) progress: Progress,
}

/// What a consumer-group session keeps from one batch to the next.
#[derive(Debug)]
struct Session {
    /// Per assigned partition, the next offset to apply.
    next_offsets: HashMap<TopicPartition, Offset>,
    cache: RowCache,
    writing: Option<Writing>,
    /// Offsets written to the store with their checkpoints but not yet committed to the group.
    uncommitted: BTreeMap<TopicPartition, Offset>,
    last_commit: Instant,
}

/// A batch whose store write is under way.
#[derive(Debug)]
struct Writing {
    rows: StagedRows,
    advanced: Vec<(TopicPartition, Offset)>,
    write: JoinHandle<Result<()>>,
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
        let mut session = Session {
            next_offsets: HashMap::new(),
            cache: RowCache::new(self.row_cache_bytes),
            writing: None,
            uncommitted: BTreeMap::new(),
            last_commit: Instant::now(),
        };
        let outcome =
            self.consume_session(consumer.as_mut(), &mut session, shutdown, applied_any).await;
        // The batch in hand is finished either way: a write left running would race the
        // restart's reading of the checkpoints.
        let finished = self.finish_writing(consumer.as_mut(), &mut session).await;
        if finished.is_ok() {
            self.commit_offsets(consumer.as_mut(), &mut session).await;
        }
        outcome.and(finished)
    }

    async fn consume_session(
        &self,
        consumer: &mut dyn GroupConsumer,
        session: &mut Session,
        shutdown: &CancellationToken,
        applied_any: &mut bool,
    ) -> Result<()> {
        loop {
            let commit_due = session.last_commit + COMMIT_INTERVAL;
            let idle_commit = !session.uncommitted.is_empty() && session.writing.is_none();
            // `next` loses nothing when the commit's timer wins (`GroupConsumer::next`).
            let event = tokio::select! {
                biased;
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep_until(commit_due), if idle_commit => {
                    self.commit_offsets(consumer, session).await;
                    continue;
                }
                event = consumer.next(self.batch_size.max(1)) => event?,
            };
            match event {
                GroupEvent::Assigned(partitions) => {
                    self.finish_writing(consumer, session).await?;
                    self.commit_offsets(consumer, session).await;
                    session.cache.clear();
                    self.resume(consumer, &mut session.next_offsets, partitions).await?;
                }
                GroupEvent::Revoked(partitions) => {
                    // The revoked partitions' offsets are committed before they are released.
                    self.finish_writing(consumer, session).await?;
                    self.commit_offsets(consumer, session).await;
                    session.cache.clear();
                    for tp in partitions {
                        session.next_offsets.remove(&tp);
                    }
                }
                GroupEvent::Records(records) => {
                    self.apply_batch(consumer, session, records).await?;
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

    /// Applies a batch of records and starts writing its rows with the checkpoints in one
    /// store write. While a full batch is being written the next one is applied (its reads see
    /// the rows in flight); a batch that drained what the log had ready is written at once.
    async fn apply_batch(
        &self,
        consumer: &mut dyn GroupConsumer,
        session: &mut Session,
        records: Vec<StoredRecord>,
    ) -> Result<()> {
        let name = self.projection.name();
        let full = records.len() >= self.batch_size;
        let writing = session.writing.as_ref().map(|writing| &writing.rows);
        let mut staged =
            StagedWrites::new(self.store.as_ref(), writing, &mut session.cache, records.len());
        let mut advanced = BTreeMap::new();
        let mut skipped = 0_u64;
        let mut run: Option<PartitionRun> = None;
        for record in records {
            if !run.as_ref().is_some_and(|run| run.holds(&record)) {
                if let Some(done) = run.take() {
                    done.record(&mut session.next_offsets, &mut advanced);
                }
                run = Some(PartitionRun::start(&record, &session.next_offsets));
            }
            let Some(current) = run.as_mut() else { continue };
            let tp = &current.tp;
            // Records of a partition no longer (or not yet) ours, or already applied.
            let Some(next) = current.next else { continue };
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
            current.next = Some(record.offset.saturating_add(1));
            current.moved = true;
        }
        if let Some(done) = run {
            done.record(&mut session.next_offsets, &mut advanced);
        }
        if advanced.is_empty() {
            return Ok(());
        }
        let rows = staged.into_rows();
        // Checkpoints land in order: the previous batch is durable before this one is written.
        self.finish_writing(consumer, session).await?;
        session.writing = Some(self.start_writing(rows, advanced, skipped));
        // Lets the write task hand its batch to the store before this task applies the next
        // batch, which does not yield while its reads are answered from memory.
        tokio::task::yield_now().await;
        if !full {
            self.finish_writing(consumer, session).await?;
        }
        Ok(())
    }

    /// Writes a batch's rows with its checkpoints in a task of its own, and records the
    /// progress as soon as they are durable, so a reader waiting for these offsets does not
    /// wait for the next batch.
    fn start_writing(
        &self,
        rows: StagedRows,
        advanced: BTreeMap<TopicPartition, Offset>,
        skipped: u64,
    ) -> Writing {
        let name = self.projection.name();
        let checkpoints = advanced
            .iter()
            .map(|(tp, next_offset)| Checkpoint {
                projection: name.to_owned(),
                tp: tp.clone(),
                next_offset: *next_offset,
            })
            .collect();
        let batch = WriteBatch { ops: staged::write_ops(&rows), checkpoints };
        let advanced: Vec<(TopicPartition, Offset)> = advanced.into_iter().collect();
        let (store, progress, written) =
            (Arc::clone(&self.store), self.progress.clone(), advanced.clone());
        let write = tokio::spawn(async move {
            store.write(batch).await?;
            progress.record_batch(name, written.iter().map(|(tp, o)| (tp, *o)), skipped);
            Ok(())
        });
        Writing { rows, advanced, write }
    }

    /// Waits for the batch being written, if any; its rows join the cache and its offsets are
    /// committed to the group once [`COMMIT_INTERVAL`] has passed since the last commit.
    async fn finish_writing(
        &self,
        consumer: &mut dyn GroupConsumer,
        session: &mut Session,
    ) -> Result<()> {
        let Some(writing) = session.writing.take() else { return Ok(()) };
        writing.write.await.map_err(|failed| {
            Error::Infra(nagare_infra::Error::Storage(format!(
                "a projection's store write did not finish: {failed}"
            )))
        })??;
        for ((table, key), row) in writing.rows {
            session.cache.insert(table, key, row);
        }
        session.uncommitted.extend(writing.advanced);
        if session.last_commit.elapsed() >= COMMIT_INTERVAL {
            self.commit_offsets(consumer, session).await;
        }
        Ok(())
    }

    /// Commits the offsets of the batches written since the last commit.
    async fn commit_offsets(&self, consumer: &mut dyn GroupConsumer, session: &mut Session) {
        session.last_commit = Instant::now();
        if session.uncommitted.is_empty() {
            return;
        }
        let offsets = std::mem::take(&mut session.uncommitted).into_iter().collect();
        // The group offsets only help tools that show lag; the checkpoint decides where to
        // resume, so a failed commit is worth a warning, not a restart.
        if let Err(error) = consumer.commit(offsets).await {
            tracing::warn!(projection = self.projection.name(), %error,
                "could not commit group offsets");
        }
    }
}

/// The partition of a run of records in a batch, and the next offset to apply in it. A batch
/// comes in runs of one partition's records, so its position is looked up and recorded once
/// per run rather than once per record.
struct PartitionRun {
    tp: TopicPartition,
    /// `None` while the partition is not assigned here.
    next: Option<Offset>,
    /// Whether `next` moved past any record of the run.
    moved: bool,
}

impl PartitionRun {
    fn start(record: &StoredRecord, next_offsets: &HashMap<TopicPartition, Offset>) -> Self {
        let tp = record.topic_partition();
        let next = next_offsets.get(&tp).copied();
        Self { tp, next, moved: false }
    }

    fn holds(&self, record: &StoredRecord) -> bool {
        self.tp.partition == record.partition && self.tp.topic == record.topic
    }

    fn record(
        self,
        next_offsets: &mut HashMap<TopicPartition, Offset>,
        advanced: &mut BTreeMap<TopicPartition, Offset>,
    ) {
        if let (true, Some(next)) = (self.moved, self.next) {
            next_offsets.insert(self.tp.clone(), next);
            advanced.insert(self.tp, next);
        }
    }
}
