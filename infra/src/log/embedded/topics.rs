//! The in-memory registry of topics: each topic's declaration, its short numeric id used in
//! record keys, and each partition's high watermark, kept in memory so that watermark checks
//! (done by every reader on every wake-up) never touch the disk.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use super::codec;
use super::tail::Tail;
use crate::embedded::storage_error;
use crate::log::{Offset, TopicPartition, TopicSpec};
use crate::{Error, Result};

/// One topic as the log holds it.
#[derive(Debug)]
pub(super) struct TopicState {
    pub(super) id: u32,
    pub(super) spec: TopicSpec,
    /// The next offset of each partition. Only the writer advances it, after the records
    /// below it are durable, so a reader that sees a high watermark can read up to it.
    highs: Vec<AtomicU64>,
    /// Each partition's newest records, for readers at the tail.
    tails: Vec<Tail>,
}

impl TopicState {
    /// A topic whose partitions' high watermarks are `highs`, with empty in-memory tails.
    fn new(id: u32, spec: TopicSpec, highs: Vec<Offset>) -> Self {
        let tails = highs.iter().map(|_| Tail::default()).collect();
        let highs = highs.into_iter().map(AtomicU64::new).collect();
        Self { id, spec, highs, tails }
    }

    pub(super) fn name(&self) -> &str {
        &self.spec.name
    }

    pub(super) fn partition_count(&self) -> u32 {
        self.spec.partitions
    }

    /// The high watermark of a partition, or `UnknownPartition`.
    pub(super) fn high(&self, partition: u32) -> Result<Offset> {
        self.highs
            .get(partition as usize)
            .map(|high| high.load(Ordering::Acquire))
            .ok_or_else(|| self.unknown_partition(partition))
    }

    /// Publishes a new high watermark once its records are durable.
    pub(super) fn set_high(&self, partition: u32, high: Offset) {
        if let Some(slot) = self.highs.get(partition as usize) {
            slot.store(high, Ordering::Release);
        }
    }

    /// The in-memory tail of a partition.
    pub(super) fn tail(&self, partition: u32) -> Option<&Tail> {
        self.tails.get(partition as usize)
    }

    pub(super) fn check_partition(&self, partition: u32) -> Result<()> {
        if partition < self.spec.partitions {
            Ok(())
        } else {
            Err(self.unknown_partition(partition))
        }
    }

    fn unknown_partition(&self, partition: u32) -> Error {
        Error::UnknownPartition {
            topic: self.spec.name.clone(),
            partition,
            count: self.spec.partitions,
        }
    }
}

/// Every topic, by name.
#[derive(Debug, Default)]
pub(super) struct Topics {
    by_name: RwLock<HashMap<String, Arc<TopicState>>>,
}

impl Topics {
    /// Loads the declarations and recovers each partition's high watermark from its last key.
    pub(super) fn recover(meta: &fjall::Keyspace, records: &fjall::Keyspace) -> Result<Self> {
        let mut by_name = HashMap::new();
        for entry in meta.iter() {
            let (name, value) = entry.into_inner().map_err(storage_error)?;
            let name = String::from_utf8(name.to_vec())
                .map_err(|_| Error::Storage("corrupt topic name in the embedded log".into()))?;
            let (id, spec) = codec::decode_topic(&name, &value)?;
            let mut highs = Vec::with_capacity(spec.partitions as usize);
            for partition in 0..spec.partitions {
                let first = codec::record_key(id, partition, 0);
                let last = codec::record_key(id, partition, Offset::MAX);
                let high = match records.range(first..=last).next_back() {
                    Some(entry) => {
                        let key = entry.key().map_err(storage_error)?;
                        codec::offset_of_record_key(&key)?.saturating_add(1)
                    }
                    None => 0,
                };
                highs.push(high);
            }
            by_name.insert(name, Arc::new(TopicState::new(id, spec, highs)));
        }
        Ok(Self { by_name: RwLock::new(by_name) })
    }

    pub(super) fn get(&self, name: &str) -> Result<Arc<TopicState>> {
        self.by_name.read().get(name).cloned().ok_or_else(|| Error::UnknownTopic(name.to_owned()))
    }

    pub(super) fn find(&self, name: &str) -> Option<Arc<TopicState>> {
        self.by_name.read().get(name).cloned()
    }

    /// The id a new topic gets: one past the largest in use.
    pub(super) fn next_id(&self) -> u32 {
        self.by_name.read().values().map(|topic| topic.id.saturating_add(1)).max().unwrap_or(0)
    }

    /// Registers a topic whose declaration is already durable; it starts empty.
    pub(super) fn insert(&self, id: u32, spec: TopicSpec) {
        let highs = vec![0; spec.partitions as usize];
        let topic = Arc::new(TopicState::new(id, spec, highs));
        self.by_name.write().insert(topic.spec.name.clone(), topic);
    }

    pub(super) fn specs(&self) -> Vec<TopicSpec> {
        let mut specs: Vec<TopicSpec> =
            self.by_name.read().values().map(|topic| topic.spec.clone()).collect();
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        specs
    }

    /// The state of a partition, checking that it exists.
    pub(super) fn partition(&self, tp: &TopicPartition) -> Result<Arc<TopicState>> {
        let topic = self.get(&tp.topic)?;
        topic.check_partition(tp.partition)?;
        Ok(topic)
    }
}

/// Kafka's rules for topic names, so every embedded topic can also exist on Kafka.
pub(super) fn validate_spec(spec: &TopicSpec) -> Result<()> {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if spec.name.is_empty()
        || spec.name.len() > 249
        || spec.name == "."
        || spec.name == ".."
        || !spec.name.chars().all(legal)
    {
        return Err(Error::Invalid(format!(
            "topic name `{}` must be 1 to 249 characters of ASCII letters, digits, `.`, `_` and `-`",
            spec.name
        )));
    }
    if spec.partitions == 0 {
        return Err(Error::Invalid(format!("topic `{}` needs at least one partition", spec.name)));
    }
    Ok(())
}
