//! The cluster as the backend sees it: one admin client (which also answers metadata and
//! watermark requests) and a cache of each topic's partition count, so that `append` can
//! validate a whole batch before producing any of it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;

use super::blocking::run_blocking;
use super::errors::broker_error;
use crate::log::{TopicPartition, Watermarks};
use crate::{Error, Result};

/// How long a metadata or watermark request may take.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A topic as the cluster's metadata shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct TopicMetadata {
    pub(super) name: String,
    pub(super) partitions: u32,
}

pub(super) type Admin = AdminClient<DefaultClientContext>;

#[derive(Debug)]
pub(super) struct Cluster {
    pub(super) admin: Arc<Admin>,
    /// Partition counts of topics seen in metadata. Kafka topics can gain partitions but never
    /// lose them, so a cached count is at worst too low, and a refresh fixes that.
    counts: RwLock<HashMap<String, u32>>,
}

impl Cluster {
    pub(super) fn new(admin: Admin) -> Self {
        Self { admin: Arc::new(admin), counts: RwLock::default() }
    }

    /// Topics in the cluster's metadata (one topic, or all when `topic` is `None`), with the
    /// ids of the brokers. A topic that does not exist (or has no leader yet) is left out.
    pub(super) async fn fetch(
        &self,
        topic: Option<&str>,
    ) -> Result<(Vec<TopicMetadata>, Vec<i32>)> {
        let admin = self.admin.clone();
        let wanted = topic.map(str::to_owned);
        let fetched = run_blocking(move || {
            let metadata = admin.inner().fetch_metadata(wanted.as_deref(), REQUEST_TIMEOUT)?;
            let topics: Vec<TopicMetadata> = metadata
                .topics()
                .iter()
                .filter(|t| t.error().is_none() && !t.partitions().is_empty())
                .map(|t| TopicMetadata {
                    name: t.name().to_owned(),
                    partitions: u32::try_from(t.partitions().len()).unwrap_or(u32::MAX),
                })
                .collect();
            let brokers: Vec<i32> = metadata.brokers().iter().map(|b| b.id()).collect();
            Ok::<_, KafkaError>((topics, brokers))
        })
        .await?;
        let (topics, brokers) = fetched.map_err(|error| match topic {
            Some(topic) => broker_error(format!("reading the metadata of `{topic}`"), &error),
            None => broker_error("reading the cluster metadata", &error),
        })?;
        let mut counts = self.counts.write();
        for topic in &topics {
            counts.insert(topic.name.clone(), topic.partitions);
        }
        Ok((topics, brokers))
    }

    /// The partition count of a topic, from the cache or else fresh metadata.
    pub(super) async fn partition_count(&self, topic: &str) -> Result<u32> {
        if let Some(count) = self.counts.read().get(topic) {
            return Ok(*count);
        }
        self.refresh(topic).await?.ok_or_else(|| Error::UnknownTopic(topic.to_owned()))
    }

    /// Fresh metadata for one topic: its partition count, or `None` if it does not exist.
    pub(super) async fn refresh(&self, topic: &str) -> Result<Option<u32>> {
        let (topics, _) = self.fetch(Some(topic)).await?;
        Ok(topics.into_iter().find(|t| t.name == topic).map(|t| t.partitions))
    }

    /// `UnknownTopic` or `UnknownPartition` unless the partition exists. A partition beyond
    /// the cached count refreshes the count once, in case partitions were added.
    pub(super) async fn check(&self, tp: &TopicPartition) -> Result<()> {
        let mut count = self.partition_count(&tp.topic).await?;
        if tp.partition >= count {
            count = self.refresh(&tp.topic).await?.unwrap_or(count);
        }
        if tp.partition < count {
            Ok(())
        } else {
            Err(Error::UnknownPartition { topic: tp.topic.clone(), partition: tp.partition, count })
        }
    }

    /// Remembers the partition count of a topic this client just created.
    pub(super) fn remember(&self, topic: &str, partitions: u32) {
        self.counts.write().insert(topic.to_owned(), partitions);
    }

    /// The low and high watermarks of a partition, as the partition's leader reports them.
    pub(super) async fn watermarks(&self, tp: &TopicPartition) -> Result<Watermarks> {
        self.check(tp).await?;
        let admin = self.admin.clone();
        let (topic, partition) = (tp.topic.clone(), to_kafka_partition(tp.partition)?);
        let (low, high) = run_blocking(move || {
            admin.inner().fetch_watermarks(&topic, partition, REQUEST_TIMEOUT)
        })
        .await?
        .map_err(|error| broker_error(format!("reading the watermarks of {tp}"), &error))?;
        Ok(Watermarks { low: to_offset(low), high: to_offset(high) })
    }
}

/// Kafka numbers partitions with a Java `int`.
pub(super) fn to_kafka_partition(partition: u32) -> Result<i32> {
    i32::try_from(partition).map_err(|_| {
        Error::Invalid(format!("partition {partition} is beyond Kafka's largest, {}", i32::MAX))
    })
}

/// A watermark from librdkafka (`-1` when unknown) as an offset.
pub(super) fn to_offset(offset: i64) -> u64 {
    u64::try_from(offset).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_beyond_a_java_int_are_refused() {
        assert_eq!(to_kafka_partition(7).ok(), Some(7));
        let error = to_kafka_partition(u32::MAX).map(|_| ()).map_err(|e| e.to_string());
        assert!(matches!(error, Err(message) if message.contains("2147483647")));
    }

    #[test]
    fn unknown_watermarks_read_as_zero() {
        assert_eq!(to_offset(-1), 0);
        assert_eq!(to_offset(42), 42);
    }
}
