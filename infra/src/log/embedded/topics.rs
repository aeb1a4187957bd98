//! The in-memory registry of topics: each topic's declaration, its short numeric id used in
//! keyspace names, each partition's keyspace, and each partition's high watermark, kept in
//! memory so that watermark checks (done by every reader on every wake-up) never touch the
//! disk.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use super::codec;
use super::tail::Tail;
use super::wakeups::PartitionWaiters;
use crate::embedded::{KeyspaceTuning, L0_COMPACTION_TRIGGER, open_keyspace_tuned, storage_error};
use crate::log::{Offset, TopicPartition, TopicSpec};
use crate::{Error, Result};

/// How a partition's keyspace is tuned. Its tables are only ever read by range, so they carry
/// no bloom filters. Its memtable is small, since each partition has one (see
/// [`memtable_bytes`]). Its tables never overlap, so fjall moves each into place as it is
/// flushed and the compaction trigger hardly matters; fjall's default it is. Its tables are
/// LZ4-compressed: a record's headers repeat names and ids (an event's command, correlation
/// and causation ids are often one id three times), so a table of `commands` records takes a
/// quarter of the disk, and the server writes a fifth fewer bytes per command; decompressing
/// costs a replay nothing measurable (BENCHMARKS.md).
fn partition_tuning(topic_id: u32, partition: u32) -> KeyspaceTuning {
    KeyspaceTuning {
        memtable_bytes: memtable_bytes(topic_id, partition),
        l0_compaction_trigger: L0_COMPACTION_TRIGGER,
        point_reads: false,
        compressed: true,
    }
}

/// The memtable size of a partition: 2 to 6 MiB, 4 on average, so a busy log's memtables hold
/// about 4 MiB times the partitions being written (the journal bound, see `EmbeddedLog::open`,
/// flushes idle ones). The sizes differ from partition to partition because partitions
/// written at the same rate would otherwise seal their memtables together, and the burst of
/// flushes that followed showed in the commands' latency tail (p99 at 10,000 commands/s
/// 28–37 ms over five runs, 29–81 ms with 4 MiB everywhere, interleaved).
fn memtable_bytes(topic_id: u32, partition: u32) -> u64 {
    const STEPS: u32 = 17;
    let step = topic_id.wrapping_mul(7).wrapping_add(partition.wrapping_mul(5)) % STEPS;
    2 * 1024 * 1024 + u64::from(step) * (4 * 1024 * 1024 / u64::from(STEPS - 1))
}

/// A topic's declaration as stored: its id and spec.
pub(super) type Declaration = (u32, TopicSpec);

/// One topic as the log holds it.
pub(super) struct TopicState {
    pub(super) id: u32,
    pub(super) spec: TopicSpec,
    /// Each partition's records, keyed by offset.
    keyspaces: Vec<fjall::Keyspace>,
    /// The next offset of each partition. Only the writer advances it, after the records
    /// below it are durable, so a reader that sees a high watermark can read up to it.
    highs: Vec<AtomicU64>,
    /// Each partition's newest records, for readers at the tail.
    tails: Vec<Tail>,
    /// Each partition's readers, woken when it grows.
    waiters: Vec<PartitionWaiters>,
}

impl std::fmt::Debug for TopicState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicState")
            .field("id", &self.id)
            .field("spec", &self.spec)
            .field("highs", &self.highs)
            .finish_non_exhaustive()
    }
}

impl TopicState {
    /// Opens (or creates) the keyspaces of a declared topic's partitions and recovers each
    /// one's high watermark from its last key; the in-memory tails start empty.
    pub(super) fn open(db: &fjall::Database, (id, spec): Declaration) -> Result<Self> {
        let keyspaces = (0..spec.partitions)
            .map(|partition| open_partition(db, id, partition))
            .collect::<Result<Vec<_>>>()?;
        let highs = keyspaces
            .iter()
            .map(|keyspace| {
                let high = match keyspace.last_key_value() {
                    Some(entry) => {
                        let key = entry.key().map_err(storage_error)?;
                        codec::offset_of_record_key(&key)?.saturating_add(1)
                    }
                    None => 0,
                };
                Ok(AtomicU64::new(high))
            })
            .collect::<Result<Vec<_>>>()?;
        let tails = highs.iter().map(|_| Tail::default()).collect();
        let waiters = highs.iter().map(|_| PartitionWaiters::default()).collect();
        Ok(Self { id, spec, keyspaces, highs, tails, waiters })
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

    /// Publishes a new high watermark once its records are durable, and wakes the partition's
    /// readers.
    pub(super) fn set_high(&self, partition: u32, high: Offset) {
        if let Some(slot) = self.highs.get(partition as usize) {
            slot.store(high, Ordering::Release);
        }
        if let Some(waiters) = self.waiters.get(partition as usize) {
            waiters.wake();
        }
    }

    /// The readers of a partition.
    pub(super) fn waiters(&self, partition: u32) -> Option<&PartitionWaiters> {
        self.waiters.get(partition as usize)
    }

    /// The keyspace of a partition's records, or `UnknownPartition`.
    pub(super) fn keyspace(&self, partition: u32) -> Result<&fjall::Keyspace> {
        self.keyspaces.get(partition as usize).ok_or_else(|| self.unknown_partition(partition))
    }

    /// The in-memory tail of a partition.
    pub(super) fn tail(&self, partition: u32) -> Option<&Tail> {
        self.tails.get(partition as usize)
    }

    pub(super) fn check_partition(&self, partition: u32) -> Result<()> {
        self.keyspace(partition).map(|_| ())
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
    /// Opens every declared topic (see [`TopicState::open`]).
    pub(super) fn open(db: &fjall::Database, declarations: Vec<Declaration>) -> Result<Self> {
        let mut by_name = HashMap::new();
        for declaration in declarations {
            let topic = TopicState::open(db, declaration)?;
            by_name.insert(topic.spec.name.clone(), Arc::new(topic));
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

    /// Registers a topic whose declaration is durable.
    pub(super) fn insert(&self, topic: TopicState) {
        self.by_name.write().insert(topic.spec.name.clone(), Arc::new(topic));
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

/// Opens (or creates) the keyspace of a partition's records.
pub(super) fn open_partition(
    db: &fjall::Database,
    topic_id: u32,
    partition: u32,
) -> Result<fjall::Keyspace> {
    let name = codec::partition_keyspace(topic_id, partition);
    open_keyspace_tuned(db, &name, partition_tuning(topic_id, partition))
}

/// The stored topic declarations, in the order of their names. The layout mark kept among
/// them is passed over.
pub(super) fn load_declarations(meta: &fjall::Keyspace) -> Result<Vec<Declaration>> {
    let mut declarations = Vec::new();
    for entry in meta.iter() {
        let (name, value) = entry.into_inner().map_err(storage_error)?;
        if &*name == codec::LAYOUT_KEY {
            continue;
        }
        let name = String::from_utf8(name.to_vec())
            .map_err(|_| Error::Storage("corrupt topic name in the embedded log".into()))?;
        declarations.push(codec::decode_topic(&name, &value)?);
    }
    Ok(declarations)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memtable_sizes_spread_between_2_and_6_mib() {
        let sizes: Vec<u64> = (0..8).map(|partition| memtable_bytes(3, partition)).collect();
        assert!(sizes.iter().all(|size| (2 << 20..=6 << 20).contains(size)), "{sizes:?}");
        let mut distinct = sizes.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), sizes.len(), "{sizes:?}");
        assert_ne!(memtable_bytes(0, 0), memtable_bytes(1, 0));
    }

    #[test]
    fn a_partitions_flushed_tables_are_compressed() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let db = crate::embedded::open_database(dir.path(), 64 << 20)?;
        let spec = TopicSpec {
            name: "events".into(),
            partitions: 1,
            cleanup: crate::log::Cleanup::Delete { retention_ms: None },
        };
        let topic = TopicState::open(&db, (7, spec))?;
        let keyspace = topic.keyspace(0)?;
        // Records shaped like the log's: repeated header names around a few distinct ids.
        let mut written = 0u64;
        for offset in 0..5_000u64 {
            let id = format!("01a24d93-cb59-7225-9fad-{offset:012}");
            let record = format!(
                "event_type StockAdded aggregate_type Product aggregate_id {id} \
                 command_id {id} correlation_id {id} causation_id {id} quantity {offset}"
            );
            written += record.len() as u64;
            keyspace.insert(codec::record_key(offset), record).map_err(storage_error)?;
        }
        keyspace.rotate_memtable_and_wait().map_err(storage_error)?;
        let on_disk = keyspace.disk_space();
        assert!(on_disk > 0, "the memtable was flushed to a table");
        assert!(on_disk * 3 < written, "{on_disk} bytes on disk for {written} written");
        Ok(())
    }
}
