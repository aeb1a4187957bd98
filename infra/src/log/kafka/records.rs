//! Turning what librdkafka delivers into [`StoredRecord`]s, and collecting batches.

use bytes::Bytes;
use futures::FutureExt;
use rdkafka::consumer::{ConsumerContext, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers, Message};

use super::errors::broker_error;
use crate::log::{Record, StoredRecord};
use crate::{Error, Result};

/// A delivered message as a stored record (a missing timestamp reads as 0, a header without a
/// value as empty).
pub(super) fn stored(message: &BorrowedMessage<'_>) -> StoredRecord {
    let headers = message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|header| {
                    (
                        header.key.to_owned(),
                        header.value.map(Bytes::copy_from_slice).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    StoredRecord {
        topic: message.topic().to_owned(),
        partition: u32::try_from(message.partition()).unwrap_or(0),
        offset: u64::try_from(message.offset()).unwrap_or(0),
        record: Record {
            key: message.key().map(Bytes::copy_from_slice),
            value: message.payload().map(Bytes::copy_from_slice),
            headers,
            timestamp_ms: message.timestamp().to_millis().unwrap_or(0),
        },
    }
}

/// What to do with a consumer error: a fatal one ends the consumer; others (a broker going
/// away, a leader moving) librdkafka recovers from by itself, so they are logged and skipped.
pub(super) fn consumer_error(what: &str, error: KafkaError) -> Result<()> {
    match error {
        KafkaError::MessageConsumptionFatal(_) => Err(broker_error(what, &error)),
        KafkaError::PartitionEOF(_) => Ok(()),
        _ => {
            tracing::warn!(consumer = what, error = %super::errors::meaning(&error), "Kafka consumer error");
            Ok(())
        }
    }
}

/// Adds to `batch` the records that are ready now (without waiting), up to `max_records`,
/// keeping only those `keep` accepts. Stops at an error or when nothing is ready.
pub(super) fn take_ready<C: ConsumerContext + 'static>(
    what: &str,
    consumer: &StreamConsumer<C>,
    batch: &mut Vec<StoredRecord>,
    max_records: usize,
    keep: impl Fn(&StoredRecord) -> bool,
) -> Result<()> {
    while batch.len() < max_records {
        match consumer.recv().now_or_never() {
            Some(Ok(message)) => {
                let record = stored(&message);
                if keep(&record) {
                    batch.push(record);
                }
            }
            Some(Err(error)) => return consumer_error(what, error),
            None => return Ok(()),
        }
    }
    Ok(())
}

/// `max_records` of 0 would make a batch that can never be filled.
pub(super) fn check_max(max_records: usize) -> Result<()> {
    if max_records == 0 {
        Err(Error::Invalid("a batch needs room for at least one record (max_records is 0)".into()))
    } else {
        Ok(())
    }
}
