//! The single writer of the embedded log, and its group commit.
//!
//! Every change to the log goes through one thread. It takes the first waiting request, then
//! everything else already queued (up to a bound), writes all of it as one fjall batch, fsyncs
//! the journal once, hands the records to each partition's in-memory tail, publishes the new
//! high watermarks and only then answers each caller. So an acknowledged append is always
//! durable, and a hundred concurrent single-record appends cost one fsync rather than a
//! hundred: throughput grows with the number of writers instead of collapsing. A failed commit
//! fails every request in its group and advances nothing.
//!
//! A request may leave its fsync to the next one ([`Durability::WithNextFsync`]): such requests
//! are handed to the operating system and not fsynced, unless the last fsync is a second old;
//! the writer fsyncs what is left when it stops ([`Fsyncs`]). Every fsync covers the whole
//! journal, earlier groups included, so no durable record follows one that is not. Each round
//! of the writer commits the requests that leave their fsync first and answers them, then
//! those that wait for one ([`Round`]): a command appended while the processor's last batch is
//! being fsynced is visible to the processor as soon as that fsync ends, instead of waiting
//! for the next one too (its append took half the time at full load, BENCHMARKS.md).

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use super::codec;
use super::topics::{TopicState, Topics};
use crate::embedded::{Fsyncs, storage_error};
use crate::log::{Offset, Position, TopicSpec, TopicStatus};
use crate::{Error, Result};

/// Bounds one group commit, so a flood of requests cannot build an unbounded batch.
const MAX_GROUP_RECORDS: usize = 100_000;
/// How many requests may wait for the writer before callers are held back.
const QUEUE_DEPTH: usize = 4096;

/// Where a caller waits for its positions.
pub(super) type AppendReply = oneshot::Sender<Result<Vec<Position>>>;

/// When an append is made durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Durability {
    /// Fsynced before the caller is answered.
    Fsynced,
    /// Fsynced with the next group that is (see the module docs).
    WithNextFsync,
}

/// A record ready to be written: its partition is chosen and its bytes are encoded (already in
/// the engine's buffer type) by the caller, so that work runs in parallel outside the writer.
#[derive(Debug)]
pub(super) struct PreparedRecord {
    pub(super) topic: Arc<TopicState>,
    pub(super) partition: u32,
    pub(super) bytes: fjall::Slice,
}

/// One append as the writer takes it: records, group commits, or both.
#[derive(Debug)]
pub(super) struct Append {
    pub(super) records: Vec<PreparedRecord>,
    /// Encoded committed-offset keys and the offsets to store under them.
    pub(super) commits: Vec<(Vec<u8>, Offset)>,
    pub(super) durability: Durability,
    /// Where the caller waits for its records' positions.
    pub(super) reply: AppendReply,
}

#[derive(Debug)]
pub(super) enum WriteRequest {
    Append(Append),
    EnsureTopic { spec: TopicSpec, reply: oneshot::Sender<Result<TopicStatus>> },
}

/// What the writer thread works on.
pub(super) struct WriterParts {
    pub(super) db: fjall::Database,
    pub(super) meta: fjall::Keyspace,
    pub(super) committed: fjall::Keyspace,
    pub(super) topics: Arc<Topics>,
}

/// The handle to the writer thread. Dropping it closes the queue and waits for the thread, so
/// the engine is closed (and its files unlocked) when the log is dropped.
#[derive(Debug)]
pub(super) struct Writer {
    queue: Option<mpsc::Sender<WriteRequest>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub(super) fn start(parts: WriterParts) -> Result<Self> {
        let (queue, requests) = mpsc::channel(QUEUE_DEPTH);
        let thread = std::thread::Builder::new()
            .name("nagare-log-writer".into())
            .spawn(move || run(parts, requests))?;
        Ok(Self { queue: Some(queue), thread: Some(thread) })
    }

    /// Queues a request; fails with `Closed` once the writer has stopped.
    pub(super) async fn submit(&self, request: WriteRequest) -> Result<()> {
        let queue = self.queue.as_ref().ok_or(Error::Closed)?;
        queue.send(request).await.map_err(|_| Error::Closed)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.queue.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the embedded log writer thread panicked");
        }
    }
}

fn run(parts: WriterParts, mut requests: mpsc::Receiver<WriteRequest>) {
    let mut fsyncs = Fsyncs::new();
    while let Some(first) = requests.blocking_recv() {
        let mut round = Round::default();
        let mut next = Some(first);
        while let Some(request) = next.take() {
            match request {
                WriteRequest::Append(append) => round.add(&parts, append),
                WriteRequest::EnsureTopic { spec, reply } => {
                    // Topic changes are rare: commit what is pending, then apply it alone.
                    std::mem::take(&mut round).commit(&mut fsyncs);
                    let outcome = ensure_topic(&parts, spec);
                    if matches!(outcome, Ok(TopicStatus::Created)) {
                        // Its declaration was fsynced, and so was everything before it.
                        fsyncs.fsynced();
                    }
                    let _ = reply.send(outcome);
                }
            }
            if round.records() < MAX_GROUP_RECORDS {
                next = requests.try_recv().ok();
            }
        }
        round.commit(&mut fsyncs);
    }
    fsyncs.finish(&parts.db, "embedded log");
}

/// One round of the writer: the requests that leave their fsync to the next one, committed
/// first and answered without waiting for an fsync, then those that wait for one.
#[derive(Default)]
struct Round {
    relaxed: Group,
    durable: Group,
}

impl Round {
    fn add(&mut self, parts: &WriterParts, append: Append) {
        // A relaxed request writing a partition the durable group writes joins that group, so
        // each partition's offsets are committed in the order they were given.
        let relaxed = append.durability == Durability::WithNextFsync
            && !append
                .records
                .iter()
                .any(|r| self.durable.partitions.contains_key(&(r.topic.id, r.partition)));
        if relaxed {
            self.relaxed.add(parts, append, None);
        } else {
            self.durable.add(parts, append, Some(&self.relaxed));
        }
    }

    fn records(&self) -> usize {
        self.relaxed.records + self.durable.records
    }

    fn commit(self, fsyncs: &mut Fsyncs) {
        match self.relaxed.commit(fsyncs) {
            Ok(()) => {
                let _ = self.durable.commit(fsyncs);
            }
            // The durable group's offsets may follow the failed ones: it fails too.
            Err(message) => self.durable.fail(&message),
        }
    }
}

/// What a group appends to one partition.
struct PartitionWrite {
    topic: Arc<TopicState>,
    /// The offset of the group's first record in the partition.
    first: Offset,
    /// The offset its next record gets.
    next: Offset,
    /// The records' bytes, for the partition's in-memory tail once they are durable.
    records: Vec<fjall::Slice>,
}

/// Requests gathered into one commit.
#[derive(Default)]
struct Group {
    /// The engine batch, filled as requests arrive (created with the first of them).
    batch: Option<fjall::OwnedWriteBatch>,
    /// Every partition this group writes to, by topic id and partition.
    partitions: HashMap<(u32, u32), PartitionWrite>,
    replies: Vec<(AppendReply, Vec<Position>)>,
    records: usize,
    /// Whether a request in the group asks to be durable before its answer.
    needs_fsync: bool,
}

impl Group {
    /// Adds an append to the group; a partition this group has not written yet continues
    /// after `after`'s records in it, if any, else after its high watermark.
    fn add(&mut self, parts: &WriterParts, append: Append, after: Option<&Group>) {
        let Append { records, commits, durability, reply } = append;
        // Every partition's keyspace is found before anything is added, so a request is taken
        // whole or not at all.
        let keyspaces = match records
            .iter()
            .map(|record| record.topic.keyspace(record.partition))
            .collect::<Result<Vec<_>>>()
        {
            Ok(keyspaces) => keyspaces,
            Err(error) => {
                let _ = reply.send(Err(error));
                return;
            }
        };
        self.needs_fsync |= durability == Durability::Fsynced;
        let batch = self.batch.get_or_insert_with(|| parts.db.batch());
        let mut positions = Vec::with_capacity(records.len());
        for (record, keyspace) in records.iter().zip(keyspaces) {
            let write =
                self.partitions.entry((record.topic.id, record.partition)).or_insert_with(|| {
                    let high = after
                        .and_then(|group| {
                            group.partitions.get(&(record.topic.id, record.partition))
                        })
                        .map(|write| write.next)
                        .unwrap_or_else(|| record.topic.high(record.partition).unwrap_or_default());
                    PartitionWrite {
                        topic: record.topic.clone(),
                        first: high,
                        next: high,
                        records: Vec::new(),
                    }
                });
            let offset = write.next;
            write.next += 1;
            // A clone shares the bytes: the tail and the memtable hold one buffer.
            write.records.push(record.bytes.clone());
            batch.insert(keyspace, &codec::record_key(offset)[..], record.bytes.clone());
            positions.push(Position {
                topic: record.topic.name().to_owned(),
                partition: record.partition,
                offset,
            });
        }
        for (key, offset) in commits {
            batch.insert(&parts.committed, key, &codec::encode_offset(offset)[..]);
        }
        self.records += positions.len();
        self.replies.push((reply, positions));
    }

    fn commit(mut self, fsyncs: &mut Fsyncs) -> std::result::Result<(), String> {
        let Some(batch) = self.batch.take() else { return Ok(()) };
        let mode = fsyncs.mode_for_commit(self.needs_fsync);
        match batch.durability(Some(mode)).commit() {
            Ok(()) => {
                fsyncs.committed(mode);
                for ((_, partition), write) in self.partitions {
                    // Held in the tail before the high watermark shows them to readers (and
                    // wakes the readers of this partition).
                    if let Some(tail) = write.topic.tail(partition) {
                        tail.extend(write.first, write.records);
                    }
                    write.topic.set_high(partition, write.next);
                }
                for (reply, positions) in self.replies {
                    let _ = reply.send(Ok(positions));
                }
                Ok(())
            }
            Err(error) => {
                let message = storage_error(error).to_string();
                tracing::error!(%message, "embedded log commit failed");
                self.fail(&message);
                Err(message)
            }
        }
    }

    /// Fails every request of the group without writing it.
    fn fail(self, message: &str) {
        for (reply, _) in self.replies {
            let _ = reply.send(Err(Error::Storage(message.to_owned())));
        }
    }
}

fn ensure_topic(parts: &WriterParts, spec: TopicSpec) -> Result<TopicStatus> {
    if let Some(existing) = parts.topics.find(&spec.name) {
        return Ok(TopicStatus::Existing { actual: existing.spec.clone() });
    }
    let id = parts.topics.next_id();
    // The partitions' keyspaces first: a crash between the two leaves empty keyspaces of an
    // undeclared id, which the next declaration with that id takes over as they are.
    let topic = TopicState::open(&parts.db, (id, spec.clone()))?;
    let mut batch = parts.db.batch().durability(Some(fjall::PersistMode::SyncAll));
    batch.insert(&parts.meta, spec.name.as_bytes(), codec::encode_topic(id, &spec));
    batch.commit().map_err(storage_error)?;
    parts.topics.insert(topic);
    Ok(TopicStatus::Created)
}
