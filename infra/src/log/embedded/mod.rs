//! The embedded `EventLog`: durable on local disk, in one process, with Kafka's partitioning
//! and offsets, so a log moves between this backend and Kafka without changing a position.
//!
//! Layout of a log directory: `LOCK` (held while the log is open; a second process fails with
//! [`Error::Locked`]) and `engine/`, a fjall database (see [`crate::embedded`] for why fjall)
//! with the keyspaces `topics` (declarations, and the mark of the layout), one
//! `records:<topic id>:<partition>` per partition (its records, keyed by offset; see `codec`
//! for why one per partition) and `committed` (consumer-group offsets). A log of the earlier
//! single-`records` layout is moved to this one when it is opened (`legacy`). The engine keeps
//! at most about [`JOURNAL_BYTES`] of journal: past it, partitions that are rarely written
//! are flushed, which bounds both the memory their memtables hold and the journal a restart
//! replays.
//!
//! Durability: every acknowledged `append` or `commit` has been fsynced (fjall journal,
//! `PersistMode::SyncAll`) before the call returns, and survives `kill -9` of the process.
//! Concurrent callers share fsyncs through the writer's group commit (see `writer`). An
//! `append_without_sync` is handed to the operating system (it survives `kill -9` too) and
//! fsynced with the next durable append, at the latest a second later or when the log closes.
//! Measured with `cargo run --release -p nagare-infra --example log_throughput` (100-byte
//! records; 2 cores shared with other builds, so figures vary by up to ±40% between runs):
//! one writer appending single records ~5,000 records/s (one fsync each); 64 such writers
//! together 100,000–120,000 records/s; 16 writers with batches of 100 250,000–370,000
//! records/s; 8 writers with batches of 1000 340,000–450,000 records/s.
//! An `append` is atomic: its records in every topic and its group commit are one batch.
//!
//! Not yet done: retention and compaction. Every record is kept, whatever the topic's
//! [`Cleanup`](crate::log::Cleanup) says; `capabilities().compaction` is `false` so callers
//! know. The low watermark is therefore always 0.
//!
//! Reads run on the calling task: they are served from each partition's newest records held in
//! memory (see `tail`), else from fjall's memtables and block cache, and take microseconds per
//! record, cheaper than a hop to a blocking thread.

mod codec;
mod cursors;
mod group;
mod legacy;
mod reader;
mod tail;
mod topics;
mod wakeups;
mod writer;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::oneshot;

use self::group::{Coordinator, GroupMember};
use self::reader::PartitionReader;
use self::topics::{TopicState, Topics};
use self::writer::{Append, Durability, PreparedRecord, WriteRequest, Writer, WriterParts};
use crate::embedded::{DirLock, open_database, open_keyspace, storage_error};
use crate::log::{
    EventLog, GroupCommit, GroupConsumer, LogCapabilities, LogReader, Offset, OutgoingRecord,
    Position, StoredRecord, TopicPartition, TopicSpec, TopicStatus, Watermarks,
};
use crate::partitioner::Partitioner;
use crate::{Error, Result};

/// The journal files the engine keeps before it flushes the partitions holding the oldest.
const JOURNAL_BYTES: u64 = 128 * 1024 * 1024;

/// The embedded log. Cheap to share behind an `Arc`; the files stay open (and locked) until
/// the log and every reader and group member made from it are dropped.
pub struct EmbeddedLog {
    shared: Arc<Shared>,
}

impl fmt::Debug for EmbeddedLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedLog").field("dir", &self.shared.dir).finish_non_exhaustive()
    }
}

impl EmbeddedLog {
    /// Opens (or creates) the log in `dir`. Blocking: it recovers the engine's journal and
    /// every partition's high watermark.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let lock = DirLock::acquire(dir)?;
        let db = open_database(&dir.join("engine"), JOURNAL_BYTES)?;
        let meta = open_keyspace(&db, "topics")?;
        let committed = open_keyspace(&db, "committed")?;
        let declarations = topics::load_declarations(&meta)?;
        legacy::upgrade(&db, &meta, &declarations)?;
        let topics = Arc::new(Topics::open(&db, declarations)?);
        let writer = Writer::start(WriterParts {
            db: db.clone(),
            meta,
            committed: committed.clone(),
            topics: topics.clone(),
        })?;
        let shared = Shared {
            writer,
            topics,
            committed,
            groups: Coordinator::default(),
            partitioner: Partitioner::new(),
            dir: dir.display().to_string(),
            _db: db,
            _lock: lock,
        };
        Ok(Self { shared: Arc::new(shared) })
    }
}

/// What the log, its readers and its group members share. Field order is drop order: the
/// writer finishes first, the engine closes next, and the directory lock goes last.
pub(super) struct Shared {
    writer: Writer,
    topics: Arc<Topics>,
    committed: fjall::Keyspace,
    groups: Coordinator,
    partitioner: Partitioner,
    dir: String,
    _db: fjall::Database,
    _lock: DirLock,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl Shared {
    /// Records `[from, to)` of a partition; the caller keeps `to` at or below the high watermark.
    fn read_range(
        &self,
        topic: &TopicState,
        partition: u32,
        from: Offset,
        to: Offset,
    ) -> Result<Vec<StoredRecord>> {
        if from >= to {
            return Ok(Vec::new());
        }
        let stored = |offset: Offset, value: &[u8]| -> Result<StoredRecord> {
            Ok(StoredRecord {
                topic: topic.name().to_owned(),
                partition,
                offset,
                record: codec::decode_record(value)?,
            })
        };
        if let Some(held) = topic.tail(partition).and_then(|tail| tail.get(from, to)) {
            return held.iter().zip(from..).map(|(value, offset)| stored(offset, value)).collect();
        }
        let range = codec::record_key(from)..codec::record_key(to);
        let mut out = Vec::with_capacity(usize::try_from(to - from).unwrap_or(0).min(4096));
        for entry in topic.keyspace(partition)?.range(range) {
            let (key, value) = entry.into_inner().map_err(storage_error)?;
            out.push(stored(codec::offset_of_record_key(&key)?, &value)?);
        }
        Ok(out)
    }

    fn committed_offset(&self, group: &str, tp: &TopicPartition) -> Result<Option<Offset>> {
        let key = codec::committed_key(group, &tp.topic, tp.partition);
        match self.committed.get(key).map_err(storage_error)? {
            Some(bytes) => Ok(Some(codec::decode_offset(&bytes)?)),
            None => Ok(None),
        }
    }

    async fn append(
        &self,
        records: Vec<OutgoingRecord>,
        commit: Option<GroupCommit>,
        durability: Durability,
    ) -> Result<Vec<Position>> {
        let mut prepared = Vec::with_capacity(records.len());
        for outgoing in records {
            let topic = self.topics.get(&outgoing.topic)?;
            let partition = match outgoing.partition {
                Some(partition) => {
                    topic.check_partition(partition)?;
                    partition
                }
                None => self
                    .partitioner
                    .partition(outgoing.record.key.as_deref(), topic.partition_count()),
            };
            let bytes = fjall::Slice::from(codec::encode_record(&outgoing.record));
            prepared.push(PreparedRecord { topic, partition, bytes });
        }
        let mut commits = Vec::new();
        if let Some(commit) = commit {
            if commit.group.is_empty() {
                return Err(Error::Invalid("a consumer group needs a name".into()));
            }
            for (tp, offset) in commit.offsets {
                self.topics.partition(&tp)?;
                commits
                    .push((codec::committed_key(&commit.group, &tp.topic, tp.partition), offset));
            }
        }
        if prepared.is_empty() && commits.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.writer
            .submit(WriteRequest::Append(Append { records: prepared, commits, durability, reply }))
            .await?;
        answer.await.map_err(|_| Error::Closed)?
    }
}

#[async_trait]
impl EventLog for EmbeddedLog {
    fn capabilities(&self) -> LogCapabilities {
        LogCapabilities {
            description: format!(
                "embedded log at {} (fjall, fsync per group commit)",
                self.shared.dir
            ),
            atomic_append: true,
            compaction: false,
            // One write batch per append is already atomic; there is nothing to retry twice.
            transactions: true,
            idempotence: true,
            local_groups: true,
        }
    }

    async fn ensure_topic(&self, spec: &TopicSpec) -> Result<TopicStatus> {
        topics::validate_spec(spec)?;
        if let Some(existing) = self.shared.topics.find(&spec.name) {
            return Ok(TopicStatus::Existing { actual: existing.spec.clone() });
        }
        let (reply, answer) = oneshot::channel();
        self.shared.writer.submit(WriteRequest::EnsureTopic { spec: spec.clone(), reply }).await?;
        answer.await.map_err(|_| Error::Closed)?
    }

    async fn list_topics(&self) -> Result<Vec<TopicSpec>> {
        Ok(self.shared.topics.specs())
    }

    async fn partition_count(&self, topic: &str) -> Result<u32> {
        Ok(self.shared.topics.get(topic)?.partition_count())
    }

    async fn append(
        &self,
        records: Vec<OutgoingRecord>,
        commit: Option<GroupCommit>,
    ) -> Result<Vec<Position>> {
        self.shared.append(records, commit, Durability::Fsynced).await
    }

    async fn append_without_sync(&self, records: Vec<OutgoingRecord>) -> Result<Vec<Position>> {
        self.shared.append(records, None, Durability::WithNextFsync).await
    }

    async fn read(
        &self,
        tp: &TopicPartition,
        from: Offset,
        max_records: usize,
    ) -> Result<Vec<StoredRecord>> {
        let topic = self.shared.topics.partition(tp)?;
        let high = topic.high(tp.partition)?;
        if from > high {
            return Err(Error::OffsetOutOfRange { tp: tp.clone(), offset: from, low: 0, high });
        }
        let to = high.min(from.saturating_add(max_records as u64));
        self.shared.read_range(&topic, tp.partition, from, to)
    }

    async fn watermarks(&self, tp: &TopicPartition) -> Result<Watermarks> {
        let topic = self.shared.topics.partition(tp)?;
        Ok(Watermarks { low: 0, high: topic.high(tp.partition)? })
    }

    async fn committed(&self, group: &str, tp: &TopicPartition) -> Result<Option<Offset>> {
        self.shared.topics.partition(tp)?;
        self.shared.committed_offset(group, tp)
    }

    async fn commit(&self, commit: GroupCommit) -> Result<()> {
        self.shared.append(Vec::new(), Some(commit), Durability::Fsynced).await.map(|_| ())
    }

    async fn reader(&self, start: Vec<(TopicPartition, Offset)>) -> Result<Box<dyn LogReader>> {
        Ok(Box::new(PartitionReader::new(self.shared.clone(), start)?))
    }

    async fn subscribe(&self, group: &str, topics: &[String]) -> Result<Box<dyn GroupConsumer>> {
        Ok(Box::new(GroupMember::join(self.shared.clone(), group, topics)?))
    }
}
