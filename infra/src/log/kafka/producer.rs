//! The write path of `append`: place every record (Kafka's murmur2 for keys, round-robin
//! without), validate the whole batch, hand it to librdkafka's idempotent producer, and wait
//! for every delivery report.
//!
//! librdkafka's queue is bounded (`queue.buffering.max.*`): when it is full, `append` waits
//! for deliveries to free room (woken by the delivery callback, no sleeping) and never drops
//! a record. Records of one partition keep their input order: they enter the queue in order,
//! and the idempotent producer keeps that order through retries.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, ProducerContext, ThreadedProducer};
use tokio::sync::{Notify, oneshot};

use super::cluster::{Cluster, to_kafka_partition};
use super::errors::broker_error;
use crate::log::{OutgoingRecord, Position, TopicPartition};
use crate::partitioner::Partitioner;
use crate::{Error, Result};

/// What librdkafka reports for one record: where it was written, or why not.
type Delivery = std::result::Result<(i32, i64), KafkaError>;

/// Receives delivery reports on the producer's polling thread.
#[derive(Debug)]
pub(super) struct DeliveryContext {
    /// Woken on every delivery, which frees room in librdkafka's queue.
    delivered: Arc<Notify>,
}

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Box<oneshot::Sender<Delivery>>;

    fn delivery(&self, result: &DeliveryResult<'_>, report: Self::DeliveryOpaque) {
        let delivery = match result {
            Ok(message) => Ok((message.partition(), message.offset())),
            Err((error, _)) => Err(error.clone()),
        };
        // The appender may have given up waiting (its future was dropped); nothing to tell.
        let _ = report.send(delivery);
        self.delivered.notify_waiters();
    }
}

/// The idempotent producer and the placement of records.
pub(super) struct Appender {
    producer: ThreadedProducer<DeliveryContext>,
    delivered: Arc<Notify>,
    partitioner: Partitioner,
    /// The largest record librdkafka accepts (`message.max.bytes`), checked before producing.
    max_record_bytes: usize,
}

impl fmt::Debug for Appender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Appender").field("max_record_bytes", &self.max_record_bytes).finish()
    }
}

impl Appender {
    pub(super) fn new(config: &rdkafka::ClientConfig, max_record_bytes: usize) -> Result<Self> {
        let delivered = Arc::new(Notify::new());
        let context = DeliveryContext { delivered: delivered.clone() };
        let producer = config
            .create_with_context(context)
            .map_err(|error| broker_error("creating the Kafka producer", &error))?;
        Ok(Self { producer, delivered, partitioner: Partitioner::new(), max_record_bytes })
    }

    /// The partition of every record, after checking the whole batch: topics and partitions
    /// exist, timestamps are not negative and sizes within the producer's limit.
    pub(super) async fn place(
        &self,
        cluster: &Cluster,
        records: &[OutgoingRecord],
    ) -> Result<Vec<u32>> {
        let mut counts: HashMap<&str, u32> = HashMap::new();
        let mut placed = Vec::with_capacity(records.len());
        for (index, outgoing) in records.iter().enumerate() {
            let topic = outgoing.topic.as_str();
            let count = match counts.get(topic) {
                Some(count) => *count,
                None => {
                    let count = cluster.partition_count(topic).await?;
                    counts.insert(topic, count);
                    count
                }
            };
            let partition = match outgoing.partition {
                Some(partition) => {
                    if partition >= count {
                        cluster.check(&TopicPartition::new(topic, partition)).await?;
                    }
                    partition
                }
                None => self.partitioner.partition(outgoing.record.key.as_deref(), count),
            };
            self.check_record(index, outgoing)?;
            placed.push(partition);
        }
        Ok(placed)
    }

    fn check_record(&self, index: usize, outgoing: &OutgoingRecord) -> Result<()> {
        let record = &outgoing.record;
        if record.timestamp_ms < 0 {
            return Err(Error::Invalid(format!(
                "record {index} for `{}` has the timestamp {} ms; Kafka needs 0 or later",
                outgoing.topic, record.timestamp_ms
            )));
        }
        let size = record.key.as_ref().map_or(0, |key| key.len())
            + record.value.as_ref().map_or(0, |value| value.len())
            + record.headers.iter().map(|(name, value)| name.len() + value.len()).sum::<usize>();
        if size > self.max_record_bytes {
            return Err(Error::Invalid(format!(
                "record {index} for `{}` is {size} bytes; the limit is {} bytes \
                 (message.max.bytes)",
                outgoing.topic, self.max_record_bytes
            )));
        }
        Ok(())
    }

    /// Produces every record to its placed partition and waits for all delivery reports.
    /// Returns the positions in input order, or the first delivery failure.
    pub(super) async fn produce(
        &self,
        records: &[OutgoingRecord],
        placed: &[u32],
    ) -> Result<Vec<Position>> {
        let mut reports = Vec::with_capacity(records.len());
        let mut first_error = None;
        for (outgoing, &partition) in records.iter().zip(placed) {
            match self.enqueue(outgoing, partition).await {
                Ok(report) => reports.push(report),
                Err(error) => {
                    // Records already queued are still delivered: wait for them below, so the
                    // caller learns the outcome of everything this append started.
                    first_error = Some(error);
                    break;
                }
            }
        }
        let mut positions = Vec::with_capacity(reports.len());
        for ((outgoing, &partition), report) in records.iter().zip(placed).zip(reports) {
            let tp = TopicPartition::new(outgoing.topic.clone(), partition);
            match report.await {
                Ok(Ok((_, offset))) => positions.push(Position {
                    topic: tp.topic,
                    partition,
                    offset: u64::try_from(offset).unwrap_or(0),
                }),
                Ok(Err(error)) => {
                    first_error.get_or_insert(broker_error(format!("appending to {tp}"), &error));
                }
                Err(_) => {
                    first_error.get_or_insert(Error::Closed);
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(positions),
        }
    }

    /// Hands one record to librdkafka, waiting for room while its queue is full.
    async fn enqueue(
        &self,
        outgoing: &OutgoingRecord,
        partition: u32,
    ) -> Result<oneshot::Receiver<Delivery>> {
        let record = &outgoing.record;
        let (report, delivered) = oneshot::channel();
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (name, value) in &record.headers {
            headers = headers.insert(Header { key: name.as_str(), value: Some(value.as_ref()) });
        }
        let mut base: BaseRecord<'_, [u8], [u8], _> =
            BaseRecord::with_opaque_to(&outgoing.topic, Box::new(report))
                .partition(to_kafka_partition(partition)?)
                .timestamp(record.timestamp_ms)
                .headers(headers);
        base.key = record.key.as_deref();
        base.payload = record.value.as_deref();
        loop {
            // Registered before the attempt, so a delivery between a full queue and the wait
            // is not missed.
            let room = self.delivered.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            match self.producer.send(base) {
                Ok(()) => return Ok(delivered),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    base = returned;
                    room.await;
                }
                Err((error, _)) => {
                    let tp = TopicPartition::new(outgoing.topic.clone(), partition);
                    return Err(broker_error(format!("appending to {tp}"), &error));
                }
            }
        }
    }
}
