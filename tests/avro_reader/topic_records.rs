//! Every record of a set of topics, read by a plain rdkafka consumer: assigned partitions from
//! the low to the high watermark, no consumer group, nothing committed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::Offset;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};

/// How long one metadata or watermark request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long reading everything may take.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// One record as any Kafka client sees it.
#[derive(Clone)]
pub(crate) struct TopicRecord {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) value: Option<Vec<u8>>,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
}

impl TopicRecord {
    /// The first header named `name`, as UTF-8.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let (_, value) = self.headers.iter().find(|(header, _)| header == name)?;
        std::str::from_utf8(value).ok()
    }

    pub(crate) fn key_text(&self) -> Option<&str> {
        self.key.as_deref().and_then(|key| std::str::from_utf8(key).ok())
    }
}

/// Readable in a failure message: text as text, a value by its length and first bytes.
impl std::fmt::Debug for TopicRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lossy = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let headers: Vec<(String, String)> =
            self.headers.iter().map(|(name, value)| (name.clone(), lossy(value))).collect();
        let value = self.value.as_deref().map(|value| {
            let start: Vec<String> = value.iter().take(12).map(|b| format!("{b:02x}")).collect();
            format!("{} bytes: {} …", value.len(), start.join(" "))
        });
        f.debug_struct("TopicRecord")
            .field("at", &format!("{}/{}@{}", self.topic, self.partition, self.offset))
            .field("key", &self.key.as_deref().map(lossy))
            .field("value", &value)
            .field("headers", &headers)
            .finish()
    }
}

/// The topics of a cluster whose names start with `prefix`, and their partition counts.
pub(crate) fn topics_with_prefix(
    bootstrap_servers: &str,
    prefix: &str,
) -> Result<BTreeMap<String, i32>, String> {
    let consumer = consumer(bootstrap_servers)?;
    let metadata = consumer
        .fetch_metadata(None, REQUEST_TIMEOUT)
        .map_err(|error| format!("metadata from {bootstrap_servers}: {error}"))?;
    Ok(metadata
        .topics()
        .iter()
        .filter(|topic| topic.name().starts_with(prefix))
        .map(|topic| (topic.name().to_owned(), topic.partitions().len() as i32))
        .collect())
}

/// Every record of `topics` (name and partition count), in partition and offset order.
pub(crate) fn read_all(
    bootstrap_servers: &str,
    topics: &BTreeMap<String, i32>,
) -> Result<Vec<TopicRecord>, String> {
    let consumer = consumer(bootstrap_servers)?;
    let mut assignment = TopicPartitionList::new();
    // The next offset still to read of each partition, and where it ends.
    let mut remaining: BTreeMap<(String, i32), (i64, i64)> = BTreeMap::new();
    for (topic, partitions) in topics {
        for partition in 0..*partitions {
            let (low, high) = consumer
                .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)
                .map_err(|error| format!("watermarks of {topic}/{partition}: {error}"))?;
            if low < high {
                assignment
                    .add_partition_offset(topic, partition, Offset::Offset(low))
                    .map_err(|error| format!("assigning {topic}/{partition}: {error}"))?;
                remaining.insert((topic.clone(), partition), (low, high));
            }
        }
    }
    if remaining.is_empty() {
        return Ok(Vec::new());
    }
    consumer.assign(&assignment).map_err(|error| format!("assign: {error}"))?;
    let mut records = Vec::new();
    let deadline = Instant::now() + READ_TIMEOUT;
    while remaining.values().any(|(next, high)| next < high) {
        if Instant::now() > deadline {
            return Err(format!("not everything was read within {READ_TIMEOUT:?}: {remaining:?}"));
        }
        let Some(polled) = consumer.poll(Duration::from_millis(200)) else {
            // Transaction markers take offsets but are never delivered: the consumer's position
            // moves past them.
            advance_to_positions(&consumer, &mut remaining)?;
            continue;
        };
        let message = polled.map_err(|error| format!("fetch: {error}"))?;
        let tp = (message.topic().to_owned(), message.partition());
        if let Some((next, _)) = remaining.get_mut(&tp) {
            *next = (*next).max(message.offset() + 1);
        }
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|header| (header.key.to_owned(), header.value.unwrap_or(&[]).to_vec()))
                    .collect()
            })
            .unwrap_or_default();
        records.push(TopicRecord {
            topic: tp.0,
            partition: tp.1,
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers,
        });
    }
    records
        .sort_by(|a, b| (&a.topic, a.partition, a.offset).cmp(&(&b.topic, b.partition, b.offset)));
    Ok(records)
}

fn advance_to_positions(
    consumer: &BaseConsumer,
    remaining: &mut BTreeMap<(String, i32), (i64, i64)>,
) -> Result<(), String> {
    let positions = consumer.position().map_err(|error| format!("positions: {error}"))?;
    for element in positions.elements() {
        let tp = (element.topic().to_owned(), element.partition());
        if let (Some((next, _)), Offset::Offset(position)) =
            (remaining.get_mut(&tp), element.offset())
        {
            *next = (*next).max(position);
        }
    }
    Ok(())
}

fn consumer(bootstrap_servers: &str) -> Result<BaseConsumer, String> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap_servers)
        // Required by the client, unused: partitions are assigned, nothing is committed.
        .set("group.id", "plain-avro-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("isolation.level", "read_committed")
        .create()
        .map_err(|error| format!("a consumer for {bootstrap_servers}: {error}"))
}
