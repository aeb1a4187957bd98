//! `read`: a bounded read of one partition up to its high watermark, without waiting for
//! new records.
//!
//! Each read borrows an assign-mode consumer from a small pool (creating a client per read
//! would cost a connection and a metadata round trip), assigns it the partition at the start
//! offset, and takes records until it has enough, reaches the high watermark read before, or
//! librdkafka reports the end of the partition (`enable.partition.eof`, which also ends reads
//! whose last offsets hold no records, such as transaction markers).
//!
//! A consumer that has read one topic and is then assigned a partition of another does not ask
//! for the new topic's metadata at once: librdkafka finds the topic unknown at its next
//! once-a-second scan, so the first read of each further topic on a pooled consumer waited up
//! to a second for its leader (0.6–0.95 s measured on Nisshi, the same with a plain librdkafka
//! 2.16 client, which does this whatever the broker). So before a consumer reads a topic other
//! than its last, the pool fetches that topic's metadata through it: one round trip.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::topic_partition_list::TopicPartitionList;

use super::blocking::{drop_off_runtime, run_blocking};
use super::cluster::{Cluster, REQUEST_TIMEOUT, to_kafka_partition};
use super::errors::broker_error;
use super::reader::to_kafka_offset;
use super::records::{consumer_error, stored};
use crate::log::{Offset, StoredRecord, TopicPartition};
use crate::{Error, Result};

/// How many idle consumers the pool keeps; more concurrent reads create more, then drop them.
const MAX_IDLE: usize = 4;
/// A read that gets nothing from the partition's leader for this long fails.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) struct ReadPool {
    config: rdkafka::ClientConfig,
    idle: Mutex<Vec<PooledConsumer>>,
}

/// A consumer of the pool, with the topic whose metadata it was last given.
struct PooledConsumer {
    consumer: Arc<StreamConsumer>,
    topic: Option<String>,
}

impl fmt::Debug for ReadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadPool").field("idle", &self.idle.lock().len()).finish()
    }
}

/// A consumer borrowed from the pool; it goes back only after a read that left it clean.
struct Borrowed<'a> {
    pool: &'a ReadPool,
    consumer: Option<PooledConsumer>,
    clean: bool,
}

impl Drop for Borrowed<'_> {
    fn drop(&mut self) {
        let Some(consumer) = self.consumer.take() else { return };
        let mut idle = self.pool.idle.lock();
        if self.clean && idle.len() < MAX_IDLE {
            idle.push(consumer);
        } else {
            drop(idle);
            drop_off_runtime(consumer);
        }
    }
}

impl ReadPool {
    pub(super) fn new(config: rdkafka::ClientConfig) -> Self {
        Self { config, idle: Mutex::default() }
    }

    /// Stops the idle consumers (off the runtime).
    pub(super) fn clear(&self) {
        let idle = std::mem::take(&mut *self.idle.lock());
        if !idle.is_empty() {
            drop_off_runtime(idle);
        }
    }

    fn borrow(&self) -> Result<Borrowed<'_>> {
        let pooled = self.idle.lock().pop();
        let consumer = match pooled {
            Some(consumer) => consumer,
            None => PooledConsumer {
                consumer: Arc::new(self.config.create().map_err(|error| {
                    broker_error("creating a Kafka consumer for reads", &error)
                })?),
                topic: None,
            },
        };
        Ok(Borrowed { pool: self, consumer: Some(consumer), clean: false })
    }

    /// Up to `max_records` records of `tp` from `from`, never waiting for new ones.
    pub(super) async fn read(
        &self,
        cluster: &Cluster,
        tp: &TopicPartition,
        from: Offset,
        max_records: usize,
    ) -> Result<Vec<StoredRecord>> {
        let watermarks = cluster.watermarks(tp).await?;
        let (low, high) = (watermarks.low, watermarks.high);
        if from < low || from > high {
            return Err(Error::OffsetOutOfRange { tp: tp.clone(), offset: from, low, high });
        }
        let end = high.min(from.saturating_add(max_records as u64));
        if from >= end {
            return Ok(Vec::new());
        }
        let mut borrowed = self.borrow()?;
        let Some(pooled) = borrowed.consumer.as_mut() else { return Err(Error::Closed) };
        if pooled.topic.as_deref() != Some(tp.topic.as_str()) {
            learn_topic(&pooled.consumer, &tp.topic).await?;
            pooled.topic = Some(tp.topic.clone());
        }
        let consumer = pooled.consumer.as_ref();
        let partition = to_kafka_partition(tp.partition)?;
        let mut list = TopicPartitionList::with_capacity(1);
        list.add_partition_offset(&tp.topic, partition, to_kafka_offset(tp, from)?)
            .map_err(|error| broker_error(format!("reading {tp}"), &error))?;
        consumer.assign(&list).map_err(|error| broker_error(format!("reading {tp}"), &error))?;
        let collected =
            tokio::time::timeout(READ_TIMEOUT, collect(consumer, tp, partition, from, end))
                .await
                .map_err(|_| {
                    Error::Storage(format!(
                        "reading {tp} from offset {from} got no answer from Kafka within {} s",
                        READ_TIMEOUT.as_secs()
                    ))
                })??;
        consumer.unassign().map_err(|error| broker_error(format!("reading {tp}"), &error))?;
        borrowed.clean = true;
        Ok(collected)
    }
}

/// Fetches `topic`'s metadata through `consumer`, so that librdkafka knows the leader of its
/// partitions when one is assigned (see the module docs).
async fn learn_topic(consumer: &Arc<StreamConsumer>, topic: &str) -> Result<()> {
    let (consumer, name) = (consumer.clone(), topic.to_owned());
    run_blocking(move || consumer.fetch_metadata(Some(&name), REQUEST_TIMEOUT).map(drop))
        .await?
        .map_err(|error| broker_error(format!("reading the metadata of `{topic}`"), &error))
}

/// Records of `tp` in `[from, end)`, until `end` or the end of the partition.
async fn collect(
    consumer: &StreamConsumer,
    tp: &TopicPartition,
    partition: i32,
    from: Offset,
    end: Offset,
) -> Result<Vec<StoredRecord>> {
    let mut out = Vec::with_capacity(usize::try_from(end - from).unwrap_or(0).min(4096));
    loop {
        match consumer.recv().await {
            Ok(message) => {
                if message.topic() != tp.topic || message.partition() != partition {
                    continue;
                }
                let record = stored(&message);
                let offset = record.offset;
                if offset >= end {
                    return Ok(out);
                }
                if offset >= from {
                    out.push(record);
                }
                if offset + 1 >= end {
                    return Ok(out);
                }
            }
            Err(KafkaError::PartitionEOF(eof)) if eof == partition => return Ok(out),
            Err(error) => consumer_error("read", error)?,
        }
    }
}
