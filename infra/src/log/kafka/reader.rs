//! A [`LogReader`] on an assign-mode consumer: explicitly chosen partitions, no group.
//!
//! `next_batch` waits on rdkafka's `StreamConsumer`, which is woken by librdkafka when its
//! queue becomes non-empty (no polling loop), then takes whatever else is ready.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::topic_partition_list::{Offset as KafkaOffset, TopicPartitionList};

use super::blocking::{drop_off_runtime, run_blocking};
use super::cluster::to_kafka_partition;
use super::errors::broker_error;
use super::records::{check_max, consumer_error, stored, take_ready};
use crate::log::{LogReader, Offset, StoredRecord, TopicPartition};
use crate::{Error, Result};

/// How long a seek may take to be acknowledged by librdkafka.
const SEEK_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) struct KafkaReader {
    /// Taken by `drop`, which closes the consumer off the runtime.
    consumer: Option<Arc<StreamConsumer>>,
    assigned: BTreeSet<TopicPartition>,
}

impl fmt::Debug for KafkaReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaReader").field("assigned", &self.assigned).finish_non_exhaustive()
    }
}

/// A Kafka offset for a log offset.
pub(super) fn to_kafka_offset(tp: &TopicPartition, offset: Offset) -> Result<KafkaOffset> {
    i64::try_from(offset)
        .map(KafkaOffset::Offset)
        .map_err(|_| Error::Invalid(format!("offset {offset} of {tp} is beyond Kafka's largest")))
}

impl KafkaReader {
    /// Assigns `consumer` the partitions, each from its offset. The partitions must exist.
    pub(super) fn start(
        consumer: StreamConsumer,
        start: Vec<(TopicPartition, Offset)>,
    ) -> Result<Self> {
        let mut list = TopicPartitionList::with_capacity(start.len());
        let mut assigned = BTreeSet::new();
        for (tp, offset) in start {
            list.add_partition_offset(
                &tp.topic,
                to_kafka_partition(tp.partition)?,
                to_kafka_offset(&tp, offset)?,
            )
            .map_err(|error| broker_error(format!("reading {tp}"), &error))?;
            assigned.insert(tp);
        }
        let reader = Self { consumer: Some(Arc::new(consumer)), assigned };
        reader
            .consumer()?
            .assign(&list)
            .map_err(|error| broker_error("assigning partitions to a reader", &error))?;
        Ok(reader)
    }

    fn consumer(&self) -> Result<Arc<StreamConsumer>> {
        self.consumer.clone().ok_or(Error::Closed)
    }
}

#[async_trait]
impl LogReader for KafkaReader {
    async fn next_batch(&mut self, max_records: usize) -> Result<Vec<StoredRecord>> {
        check_max(max_records)?;
        let consumer = self.consumer()?;
        let assigned = &self.assigned;
        loop {
            let first = match consumer.recv().await {
                Ok(message) => stored(&message),
                Err(error) => {
                    consumer_error("reader", error)?;
                    continue;
                }
            };
            let mut batch = Vec::new();
            if assigned.contains(&first.topic_partition()) {
                batch.push(first);
            }
            take_ready("reader", &consumer, &mut batch, max_records, |record| {
                assigned.contains(&record.topic_partition())
            })?;
            if !batch.is_empty() {
                return Ok(batch);
            }
        }
    }

    async fn seek(&mut self, tp: &TopicPartition, offset: Offset) -> Result<()> {
        if !self.assigned.contains(tp) {
            return Err(Error::Invalid(format!("{tp} is not one of this reader's partitions")));
        }
        let consumer = self.consumer()?;
        let (topic, partition) = (tp.topic.clone(), to_kafka_partition(tp.partition)?);
        let target = to_kafka_offset(tp, offset)?;
        run_blocking(move || consumer.seek(&topic, partition, target, SEEK_TIMEOUT))
            .await?
            .map_err(|error| broker_error(format!("seeking {tp} to offset {offset}"), &error))
    }
}

impl Drop for KafkaReader {
    fn drop(&mut self) {
        if let Some(consumer) = self.consumer.take() {
            drop_off_runtime(consumer);
        }
    }
}
