//! The `EventLog` port: topics of partitions of records at offsets, Kafka's model.
//!
//! Everything above this module is written against these traits; the backends
//! (`embedded`, later `kafka`) only move bytes and know no domain.

use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;

use crate::Result;

#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(feature = "kafka")]
pub mod kafka;

/// A position in a partition. Offsets start at 0 and grow by one per record, as in Kafka.
pub type Offset = u64;

/// A partition of a topic.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: u32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: u32) -> Self {
        Self { topic: topic.into(), partition }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.topic, self.partition)
    }
}

/// One record as written: the key decides the partition, the value may be absent (a tombstone
/// on a compacted topic), headers carry metadata, the timestamp is milliseconds since the epoch.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Record {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Bytes)>,
    pub timestamp_ms: i64,
}

impl Record {
    /// The first header with this name.
    pub fn header(&self, name: &str) -> Option<&Bytes> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

/// A record to append. `partition: None` means "by key": murmur2 of the key modulo the
/// partition count, exactly as Kafka's Java default partitioner; keyless records go round-robin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingRecord {
    pub topic: String,
    pub partition: Option<u32>,
    pub record: Record,
}

/// A record as read back, with where it sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    pub topic: String,
    pub partition: u32,
    pub offset: Offset,
    pub record: Record,
}

impl StoredRecord {
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(self.topic.clone(), self.partition)
    }
}

/// Where an appended record was written.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    pub topic: String,
    pub partition: u32,
    pub offset: Offset,
}

/// How a topic discards old records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cleanup {
    /// Records older than the retention are deleted (`None`: kept forever).
    Delete { retention_ms: Option<i64> },
    /// Only the latest record per key is guaranteed to be kept.
    Compact,
}

/// The declaration of a topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: u32,
    pub cleanup: Cleanup,
}

/// What `ensure_topic` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopicStatus {
    Created,
    /// The topic existed; `actual` is what the log holds, which may differ from the request.
    Existing {
        actual: TopicSpec,
    },
}

/// The first offset still held (`low`) and the offset the next record will get (`high`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Watermarks {
    pub low: Offset,
    pub high: Offset,
}

/// Offsets for a consumer group to commit: each offset is the *next* one to read, as in Kafka.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupCommit {
    pub group: String,
    pub offsets: Vec<(TopicPartition, Offset)>,
}

/// What a backend can promise, reported at start-up and in readiness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogCapabilities {
    /// The backend's name and address, for logs and health output.
    pub description: String,
    /// `append` writes all its records and the group commit, or none of them.
    pub atomic_append: bool,
    /// Compacted topics are actually compacted.
    pub compaction: bool,
    /// Appends may be made atomic across topics and partitions with transactions (Kafka's
    /// KIP-98). When false, `append` writes each partition's records in order but a crash may
    /// leave some partitions written and others not.
    pub transactions: bool,
    /// A retried append never duplicates or reorders records of a partition.
    pub idempotence: bool,
    /// Consumer groups are coordinated inside this process: a member joins at once and costs
    /// a task, so one process may run several members of a group to use more than one core.
    /// On Kafka every member is a broker client, and each one joining rebalances the group.
    pub local_groups: bool,
}

/// The log. Implementations are cheap to share behind an `Arc`.
#[async_trait]
pub trait EventLog: Send + Sync + fmt::Debug + 'static {
    fn capabilities(&self) -> LogCapabilities;

    /// Creates the topic if it is missing; reports the actual declaration if it exists.
    async fn ensure_topic(&self, spec: &TopicSpec) -> Result<TopicStatus>;

    /// Every topic the log holds.
    async fn list_topics(&self) -> Result<Vec<TopicSpec>>;

    /// The number of partitions of a topic (`Error::UnknownTopic` if it does not exist).
    async fn partition_count(&self, topic: &str) -> Result<u32>;

    /// Appends records, possibly to several topics, and optionally commits consumer-group
    /// offsets with them. Returns each record's position, in input order. When
    /// `capabilities().atomic_append` holds, either everything is durable or nothing is.
    /// Returning `Ok` means the records are durable (they survive a crash of the process).
    async fn append(
        &self,
        records: Vec<OutgoingRecord>,
        commit: Option<GroupCommit>,
    ) -> Result<Vec<Position>>;

    /// Appends records without waiting for them to be durable on their own: they become
    /// durable with the next durable append to this log, which cannot outlive them (the
    /// embedded log writes one journal in order, and an fsync covers all of it). Readers see
    /// them at once; if the machine fails (not only the process) before that next durable
    /// append, they are lost together with everything appended after them.
    ///
    /// Only for records whose every effect is a later durable append to this same log — the
    /// commands, which the processor answers with a durable append of their events and reply,
    /// so a command costs one fsync rather than two. A caller must not act on the returned
    /// positions outside the log. The default is an ordinary `append`, as on Kafka.
    async fn append_without_sync(&self, records: Vec<OutgoingRecord>) -> Result<Vec<Position>> {
        self.append(records, None).await
    }

    /// Reads up to `max_records` records of a partition starting at `from`, without waiting.
    async fn read(
        &self,
        tp: &TopicPartition,
        from: Offset,
        max_records: usize,
    ) -> Result<Vec<StoredRecord>>;

    async fn watermarks(&self, tp: &TopicPartition) -> Result<Watermarks>;

    /// The offset a group committed for a partition (the next offset to read), if any.
    async fn committed(&self, group: &str, tp: &TopicPartition) -> Result<Option<Offset>>;

    async fn commit(&self, commit: GroupCommit) -> Result<()>;

    /// A reader of explicitly chosen partitions (no group), starting at the given offsets.
    async fn reader(&self, start: Vec<(TopicPartition, Offset)>) -> Result<Box<dyn LogReader>>;

    /// Joins a consumer group on these topics. Partitions are shared among the group's members
    /// and move between them as members come and go.
    async fn subscribe(&self, group: &str, topics: &[String]) -> Result<Box<dyn GroupConsumer>>;
}

/// Reads assigned partitions, waiting for new records without polling.
#[async_trait]
pub trait LogReader: Send + fmt::Debug {
    /// Waits until a record is available on some partition, then returns a batch: records of
    /// one partition come in offset order; there is no order across partitions.
    async fn next_batch(&mut self, max_records: usize) -> Result<Vec<StoredRecord>>;

    /// Moves the read position of an assigned partition.
    async fn seek(&mut self, tp: &TopicPartition, offset: Offset) -> Result<()>;
}

/// What a group member sees, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupEvent {
    /// These partitions are now this member's. Reading starts at the group's committed offset
    /// (0 if none) unless the member seeks before its next call to `next`.
    Assigned(Vec<TopicPartition>),
    /// These partitions are no longer this member's: drop their state. The member has
    /// finished with them when it calls `next` again.
    Revoked(Vec<TopicPartition>),
    /// Records from assigned partitions (one partition's in offset order).
    Records(Vec<StoredRecord>),
}

/// A member of a consumer group. Dropping it leaves the group.
#[async_trait]
pub trait GroupConsumer: Send + fmt::Debug {
    /// Waits for the next assignment change or batch of records. Cancel-safe: dropped before
    /// it returns, it has consumed nothing, so callers may race it against a timer.
    async fn next(&mut self, max_records: usize) -> Result<GroupEvent>;

    /// Moves the read position of an assigned partition.
    async fn seek(&mut self, tp: &TopicPartition, offset: Offset) -> Result<()>;

    /// Commits offsets (each the next offset to read) for this member's group.
    async fn commit(&mut self, offsets: Vec<(TopicPartition, Offset)>) -> Result<()>;

    /// The partitions currently assigned to this member.
    fn assignment(&self) -> Vec<TopicPartition>;
}
