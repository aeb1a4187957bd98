//! The `kafka://` [`EventLog`]: Apache Kafka (or any Kafka-protocol broker) through rdkafka and
//! its bundled librdkafka.
//!
//! URL: `kafka://HOST:PORT[,HOST:PORT…][?property=value&…]`; the properties are librdkafka
//! client properties given to every client (see `url`), e.g.
//! `kafka://broker-1:9092,broker-2:9092?security.protocol=SSL`.
//!
//! - **Opening** reads the cluster's metadata (failing with "cannot reach Kafka at URL" when
//!   nobody answers within 10 s), then probes what the cluster supports — an idempotent
//!   producer id, transactions, an enabled log cleaner — and logs and reports it through
//!   [`EventLog::capabilities`]. `atomic_append` is false: an append is not transactional.
//! - **Appends** place keyed records with Kafka's murmur2 (the same function as the embedded
//!   log, so positions agree across backends) and keyless ones round-robin, validate the whole
//!   batch against the cluster's metadata before producing any of it, produce through one
//!   idempotent, fully acknowledged producer and return once every record is acknowledged;
//!   only then are the batch's group offsets committed.
//! - **Groups**: each [`GroupConsumer`] is a member of a Kafka consumer group (see `group`
//!   for how rebalances meet the trait's contract). A group's commits go through this
//!   process's live member of that group when there is one (see `offsets`).
//! - **Reads** (`read`, `reader`) use assign-mode consumers that never join a group.
//!
//! Where a broker other than Apache Kafka differs, the workaround lives in `broker_quirks`.

mod blocking;
mod broker_quirks;
mod cluster;
mod config;
mod errors;
mod fetch;
mod group;
mod offsets;
mod probe;
mod producer;
mod reader;
mod records;
mod topics;
mod url;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;

use self::cluster::Cluster;
use self::config::client_config;
use self::errors::broker_error;
use self::fetch::ReadPool;
use self::group::{KafkaGroupMember, MemberClient};
use self::offsets::GroupOffsets;
use self::probe::Probed;
use self::producer::Appender;
use self::reader::KafkaReader;
use self::url::KafkaUrl;
use crate::log::{
    EventLog, GroupCommit, GroupConsumer, LogCapabilities, LogReader, Offset, OutgoingRecord,
    Position, StoredRecord, TopicPartition, TopicSpec, TopicStatus, Watermarks,
};
use crate::{Error, Result};

/// The Kafka log. Cheap to share behind an `Arc`; its clients stay connected until it and
/// every reader and group member made from it are dropped.
pub struct KafkaLog {
    url: KafkaUrl,
    cluster: Cluster,
    appender: Appender,
    offsets: GroupOffsets,
    reads: ReadPool,
    probed: Probed,
}

impl fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaLog")
            .field("bootstrap_servers", &self.url.bootstrap_servers)
            .field("probed", &self.probed)
            .finish_non_exhaustive()
    }
}

impl KafkaLog {
    /// Connects to the cluster named by a `kafka://` URL and probes its capabilities.
    pub async fn connect(url: &str) -> Result<Self> {
        let url = KafkaUrl::parse(url)?;
        let admin: AdminClient<DefaultClientContext> =
            client_config(&url, config::admin(&url)).create().map_err(|error| {
                broker_error(format!("creating a Kafka client for {}", url.url), &error)
            })?;
        let cluster = Cluster::new(admin);
        let brokers = probe::reach(&cluster, &url).await?;
        // Created before the probe so that it connects and gets its producer id meanwhile.
        let appender = Appender::new(
            &client_config(&url, config::producer(&url)),
            config::message_max_bytes(&url),
        )?;
        let probed = probe::capabilities(&cluster, &url, &brokers).await;
        let reads = ReadPool::new(client_config(&url, config::bounded_reader(&url)));
        let offsets = GroupOffsets::new(url.clone());
        Ok(Self { url, cluster, appender, offsets, reads, probed })
    }
}

impl Drop for KafkaLog {
    fn drop(&mut self) {
        self.reads.clear();
    }
}

#[async_trait]
impl EventLog for KafkaLog {
    fn capabilities(&self) -> LogCapabilities {
        let yes_no = |supported: bool| if supported { "yes" } else { "no" };
        LogCapabilities {
            description: format!(
                "Kafka at {} (idempotence: {}, transactions: {}, compaction: {})",
                self.url.bootstrap_servers,
                yes_no(self.probed.idempotence),
                yes_no(self.probed.transactions),
                yes_no(self.probed.compaction),
            ),
            atomic_append: false,
            compaction: self.probed.compaction,
            transactions: self.probed.transactions,
            idempotence: self.probed.idempotence,
            local_groups: false,
        }
    }

    async fn ensure_topic(&self, spec: &TopicSpec) -> Result<TopicStatus> {
        topics::ensure(&self.cluster, spec).await
    }

    async fn list_topics(&self) -> Result<Vec<TopicSpec>> {
        topics::list(&self.cluster).await
    }

    async fn partition_count(&self, topic: &str) -> Result<u32> {
        self.cluster.partition_count(topic).await
    }

    async fn append(
        &self,
        records: Vec<OutgoingRecord>,
        commit: Option<GroupCommit>,
    ) -> Result<Vec<Position>> {
        let placed = self.appender.place(&self.cluster, &records).await?;
        if let Some(commit) = &commit {
            if commit.group.is_empty() {
                return Err(Error::Invalid("a consumer group needs a name".into()));
            }
            for (tp, _) in &commit.offsets {
                self.cluster.check(tp).await?;
            }
        }
        let positions = if records.is_empty() {
            Vec::new()
        } else {
            self.appender.produce(&records, &placed).await?
        };
        // Offsets are stored only once the records they account for are durable.
        if let Some(commit) = commit {
            self.offsets.commit(commit).await?;
        }
        Ok(positions)
    }

    async fn read(
        &self,
        tp: &TopicPartition,
        from: Offset,
        max_records: usize,
    ) -> Result<Vec<StoredRecord>> {
        self.reads.read(&self.cluster, tp, from, max_records).await
    }

    async fn watermarks(&self, tp: &TopicPartition) -> Result<Watermarks> {
        self.cluster.watermarks(tp).await
    }

    async fn committed(&self, group: &str, tp: &TopicPartition) -> Result<Option<Offset>> {
        self.cluster.check(tp).await?;
        self.offsets.committed(group, tp).await
    }

    async fn commit(&self, commit: GroupCommit) -> Result<()> {
        for (tp, _) in &commit.offsets {
            self.cluster.check(tp).await?;
        }
        self.offsets.commit(commit).await
    }

    async fn reader(&self, start: Vec<(TopicPartition, Offset)>) -> Result<Box<dyn LogReader>> {
        for (tp, _) in &start {
            self.cluster.check(tp).await?;
        }
        let consumer = client_config(&self.url, config::tailing_reader(&self.url))
            .create()
            .map_err(|error| broker_error("creating a Kafka reader", &error))?;
        Ok(Box::new(KafkaReader::start(consumer, start)?))
    }

    async fn subscribe(&self, group: &str, topics: &[String]) -> Result<Box<dyn GroupConsumer>> {
        if group.is_empty() {
            return Err(Error::Invalid("a consumer group needs a name".into()));
        }
        for topic in topics {
            self.cluster.partition_count(topic).await?;
        }
        let config = client_config(&self.url, config::group_member(&self.url, group));
        let client = Arc::new(MemberClient::new(&config, group)?);
        let member = KafkaGroupMember::join(group, client.clone(), topics)?;
        self.offsets.register(group, &client);
        Ok(Box::new(member))
    }
}
