//! A log that fails some of the processor's batch writes, to drive its recovery.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use nagare_infra::{
    EventLog, GroupCommit, GroupConsumer, LogCapabilities, LogReader, Offset, OutgoingRecord,
    Position, Result, StoredRecord, TopicPartition, TopicSpec, TopicStatus, Watermarks,
};

/// Delegates to `inner`, except that every `every`-th append carrying a group commit (the
/// processor's batch writes; the gateway's commands carry none) fails without writing anything.
#[derive(Debug)]
pub struct FlakyLog {
    inner: Arc<dyn EventLog>,
    every: usize,
    batch_writes: AtomicUsize,
    failed: AtomicUsize,
}

impl FlakyLog {
    pub fn new(inner: Arc<dyn EventLog>, every: usize) -> Arc<Self> {
        Arc::new(Self {
            inner,
            every,
            batch_writes: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
        })
    }

    /// How many batch writes were failed.
    pub fn failed(&self) -> usize {
        self.failed.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl EventLog for FlakyLog {
    fn capabilities(&self) -> LogCapabilities {
        self.inner.capabilities()
    }

    async fn ensure_topic(&self, spec: &TopicSpec) -> Result<TopicStatus> {
        self.inner.ensure_topic(spec).await
    }

    async fn list_topics(&self) -> Result<Vec<TopicSpec>> {
        self.inner.list_topics().await
    }

    async fn partition_count(&self, topic: &str) -> Result<u32> {
        self.inner.partition_count(topic).await
    }

    async fn append(
        &self,
        records: Vec<OutgoingRecord>,
        commit: Option<GroupCommit>,
    ) -> Result<Vec<Position>> {
        if commit.is_some() && self.batch_writes.fetch_add(1, Ordering::Relaxed) % self.every == 1 {
            self.failed.fetch_add(1, Ordering::Relaxed);
            return Err(nagare_infra::Error::Storage("injected failure".into()));
        }
        self.inner.append(records, commit).await
    }

    async fn read(
        &self,
        tp: &TopicPartition,
        from: Offset,
        max_records: usize,
    ) -> Result<Vec<StoredRecord>> {
        self.inner.read(tp, from, max_records).await
    }

    async fn watermarks(&self, tp: &TopicPartition) -> Result<Watermarks> {
        self.inner.watermarks(tp).await
    }

    async fn committed(&self, group: &str, tp: &TopicPartition) -> Result<Option<Offset>> {
        self.inner.committed(group, tp).await
    }

    async fn commit(&self, commit: GroupCommit) -> Result<()> {
        self.inner.commit(commit).await
    }

    async fn reader(&self, start: Vec<(TopicPartition, Offset)>) -> Result<Box<dyn LogReader>> {
        self.inner.reader(start).await
    }

    async fn subscribe(&self, group: &str, topics: &[String]) -> Result<Box<dyn GroupConsumer>> {
        self.inner.subscribe(group, topics).await
    }
}
