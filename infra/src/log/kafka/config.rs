//! The librdkafka settings of every client the Kafka backend creates, with the reason for each.
//!
//! Each builder returns a plain list of properties (easy to test), turned into an rdkafka
//! `ClientConfig` by [`client_config`]. Properties from the URL come last and win, except the
//! reserved ones the URL parser refuses (see `url::RESERVED`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rdkafka::ClientConfig;

use super::url::KafkaUrl;

/// How long a delivery may take before the append fails (librdkafka's default is 5 minutes,
/// far longer than any caller of `append` waits).
pub(super) const DELIVERY_TIMEOUT_MS: u32 = 30_000;
/// librdkafka's default `message.max.bytes`, the largest record it accepts unless the URL
/// sets another limit.
pub(super) const DEFAULT_MESSAGE_MAX_BYTES: usize = 1_000_000;
/// The group id of assign-mode consumers. librdkafka needs a group id to `assign` partitions;
/// these consumers never join the group nor commit to it.
pub(super) const ASSIGN_ONLY_GROUP: &str = "nagare.assign-only";

type Properties = Vec<(&'static str, String)>;

/// Settings every client shares.
fn common(url: &KafkaUrl) -> Properties {
    vec![
        ("bootstrap.servers", url.bootstrap_servers.clone()),
        ("client.id", "nagare".into()),
        // Metadata requests must never create topics as a side effect: topics are declared.
        ("allow.auto.create.topics", "false".into()),
    ]
}

/// The producer behind `append`.
pub(super) fn producer(url: &KafkaUrl) -> Properties {
    let mut properties = common(url);
    properties.extend([
        // Retries never duplicate or reorder the records of a partition.
        ("enable.idempotence", "true".into()),
        // A record is acknowledged once every in-sync replica has it (implied by idempotence,
        // stated for readers of this list).
        ("acks", "all".into()),
        // Java's default partitioner. Nagare places keyed records itself with the same
        // murmur2, so this only matters to records librdkafka would place (none today).
        ("partitioner", "murmur2_random".into()),
        // Up to 5 requests in flight per broker keep ordering under idempotence and keep the
        // pipe full.
        ("max.in.flight.requests.per.connection", "5".into()),
        // A few milliseconds of lingering fill batches under load and cost little latency.
        ("linger.ms", "5".into()),
        ("batch.num.messages", "10000".into()),
        ("compression.type", "lz4".into()),
        // The bounded in-flight queue: when it is full `append` waits for deliveries.
        ("queue.buffering.max.messages", "100000".into()),
        ("queue.buffering.max.kbytes", "65536".into()),
        ("delivery.timeout.ms", DELIVERY_TIMEOUT_MS.to_string()),
    ]);
    properties
}

/// A member of a consumer group.
pub(super) fn group_member(url: &KafkaUrl, group: &str) -> Properties {
    let mut properties = consumer(url, group);
    properties.extend([
        // Incremental rebalancing: only partitions that move are revoked, so a member keeps
        // (and need not rebuild) the state of the others, and `Revoked` names what it lost.
        ("partition.assignment.strategy", "cooperative-sticky".into()),
        // A member that dies is noticed within seconds (6 s is Kafka's minimum by default).
        ("session.timeout.ms", "6000".into()),
        ("heartbeat.interval.ms", "1500".into()),
        // Also the rebalance timeout: how long the group waits for members to rejoin. A member
        // rejoins from `next`, so this bounds the time a caller may spend between two calls.
        ("max.poll.interval.ms", "60000".into()),
    ]);
    properties
}

/// An assign-mode consumer behind a `LogReader`, which waits at the end of its partitions.
pub(super) fn tailing_reader(url: &KafkaUrl) -> Properties {
    consumer(url, ASSIGN_ONLY_GROUP)
}

/// One of the pooled assign-mode consumers behind `read`, which never waits for new records.
pub(super) fn bounded_reader(url: &KafkaUrl) -> Properties {
    let mut properties = consumer(url, ASSIGN_ONLY_GROUP);
    properties.extend([
        // A read stops at the end of the partition, which librdkafka reports.
        ("enable.partition.eof", "true".into()),
        // A pooled consumer is reused for the next read only once its last fetch returned;
        // at the end of a partition the broker would hold that fetch for up to this long.
        ("fetch.wait.max.ms", "10".into()),
    ]);
    properties
}

/// A consumer that is never subscribed, used to commit and read a group's offsets when this
/// process has no member of the group.
pub(super) fn offsets_only(url: &KafkaUrl, group: &str) -> Properties {
    consumer(url, group)
}

/// The admin client, which also answers metadata and watermark requests.
pub(super) fn admin(url: &KafkaUrl) -> Properties {
    common(url)
}

/// A short-lived idempotent producer whose statistics tell whether the broker handed out a
/// producer id.
pub(super) fn idempotence_probe(url: &KafkaUrl) -> Properties {
    let mut properties = common(url);
    properties
        .extend([("enable.idempotence", "true".into()), ("statistics.interval.ms", "100".into())]);
    properties
}

/// A short-lived transactional producer: `init_transactions` succeeds only where the broker
/// supports (and allows) transactions. The id is unique so probes never fence each other.
pub(super) fn transactions_probe(url: &KafkaUrl) -> Properties {
    static PROBES: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let count = PROBES.fetch_add(1, Ordering::Relaxed);
    let id = format!("nagare.capability-probe.{}.{nanos}.{count}", std::process::id());
    let mut properties = common(url);
    properties.extend([("transactional.id", id), ("transaction.timeout.ms", "10000".into())]);
    properties
}

fn consumer(url: &KafkaUrl, group: &str) -> Properties {
    let mut properties = common(url);
    properties.extend([
        ("group.id", group.to_owned()),
        // Offsets are committed explicitly, and only after the effect of a record is durable.
        ("enable.auto.commit", "false".into()),
        ("enable.auto.offset.store", "false".into()),
        // A group with no committed offset starts at the beginning: the log is the truth.
        ("auto.offset.reset", "earliest".into()),
    ]);
    properties
}

/// Properties librdkafka knows only for consumers: a URL's `fetch.wait.max.ms` (as the test
/// broker needs) is meant for Nagare's consumers, and librdkafka warns when a producer gets it.
/// Here and in [`PRODUCER_ONLY`], a name ending in `.` stands for every property it begins.
const CONSUMER_ONLY: [&str; 14] = [
    "fetch.",
    "queued.min.messages",
    "queued.max.messages.kbytes",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "max.poll.interval.ms",
    "auto.offset.reset",
    "auto.commit.interval.ms",
    "isolation.level",
    "check.crcs",
    "partition.assignment.strategy",
    "group.instance.id",
    "group.protocol",
    "enable.partition.eof",
];
/// Properties librdkafka knows only for producers.
const PRODUCER_ONLY: [&str; 12] = [
    "linger.ms",
    "queue.buffering.",
    "batch.num.messages",
    "batch.size",
    "compression.",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "message.send.max.retries",
    "retries",
    "sticky.partitioning.linger.ms",
    "transaction.timeout.ms",
    "request.timeout.ms",
];

/// Whether a URL property applies to a client: consumer properties go to consumers only,
/// producer properties to producers only, the rest to every client.
fn applies(key: &str, consumer: bool) -> bool {
    let matches = |names: &[&str]| {
        names.iter().any(|name| key == *name || (name.ends_with('.') && key.starts_with(name)))
    };
    if consumer { !matches(&PRODUCER_ONLY) } else { !matches(&CONSUMER_ONLY) }
}

/// The rdkafka configuration: Nagare's properties, then the URL's that apply to this kind of
/// client (a consumer is a client with a group id).
pub(super) fn client_config(url: &KafkaUrl, properties: Properties) -> ClientConfig {
    let consumer = properties.iter().any(|(key, _)| *key == "group.id");
    let mut config = ClientConfig::new();
    for (key, value) in properties {
        config.set(key, value);
    }
    for (key, value) in url.properties.iter().filter(|(key, _)| applies(key, consumer)) {
        config.set(key, value);
    }
    config
}

/// The largest record the producer accepts: `message.max.bytes` from the URL, else
/// librdkafka's default.
pub(super) fn message_max_bytes(url: &KafkaUrl) -> usize {
    url.property("message.max.bytes")
        .and_then(|value| value.parse().ok())
        .unwrap_or(DEFAULT_MESSAGE_MAX_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Result;

    fn value<'a>(properties: &'a Properties, key: &str) -> Option<&'a str> {
        properties.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn producer_is_idempotent_fully_acknowledged_and_bounded() -> Result<()> {
        let url = KafkaUrl::parse("kafka://a:9092,b:9092")?;
        let properties = producer(&url);
        assert_eq!(value(&properties, "bootstrap.servers"), Some("a:9092,b:9092"));
        assert_eq!(value(&properties, "enable.idempotence"), Some("true"));
        assert_eq!(value(&properties, "acks"), Some("all"));
        assert_eq!(value(&properties, "partitioner"), Some("murmur2_random"));
        assert_eq!(value(&properties, "queue.buffering.max.messages"), Some("100000"));
        assert_eq!(value(&properties, "allow.auto.create.topics"), Some("false"));
        Ok(())
    }

    #[test]
    fn group_members_store_offsets_only_explicitly() -> Result<()> {
        let url = KafkaUrl::parse("kafka://a:9092")?;
        let properties = group_member(&url, "nagare.command-processor");
        assert_eq!(value(&properties, "group.id"), Some("nagare.command-processor"));
        assert_eq!(value(&properties, "enable.auto.commit"), Some("false"));
        assert_eq!(value(&properties, "enable.auto.offset.store"), Some("false"));
        assert_eq!(value(&properties, "auto.offset.reset"), Some("earliest"));
        assert_eq!(value(&properties, "partition.assignment.strategy"), Some("cooperative-sticky"));
        Ok(())
    }

    #[test]
    fn only_bounded_reads_stop_at_the_end_of_a_partition() -> Result<()> {
        let url = KafkaUrl::parse("kafka://a:9092")?;
        assert_eq!(value(&bounded_reader(&url), "enable.partition.eof"), Some("true"));
        assert_eq!(value(&tailing_reader(&url), "enable.partition.eof"), None);
        assert_eq!(value(&tailing_reader(&url), "group.id"), Some(ASSIGN_ONLY_GROUP));
        assert_eq!(value(&bounded_reader(&url), "group.id"), Some(ASSIGN_ONLY_GROUP));
        Ok(())
    }

    #[test]
    fn url_properties_come_last_and_win() -> Result<()> {
        let url = KafkaUrl::parse("kafka://a:9092?linger.ms=50&client.id=shop")?;
        let config = client_config(&url, producer(&url));
        assert_eq!(config.get("linger.ms"), Some("50"));
        assert_eq!(config.get("client.id"), Some("shop"));
        assert_eq!(config.get("acks"), Some("all"));
        Ok(())
    }

    #[test]
    fn url_properties_go_to_the_clients_they_are_for() -> Result<()> {
        let url = KafkaUrl::parse(
            "kafka://a:9092?fetch.wait.max.ms=10&linger.ms=2&socket.timeout.ms=9000",
        )?;
        let producer = client_config(&url, producer(&url));
        assert_eq!(producer.get("fetch.wait.max.ms"), None);
        assert_eq!(producer.get("linger.ms"), Some("2"));
        assert_eq!(producer.get("socket.timeout.ms"), Some("9000"));
        let admin = client_config(&url, admin(&url));
        assert_eq!(admin.get("fetch.wait.max.ms"), None);
        let member = client_config(&url, group_member(&url, "g"));
        assert_eq!(member.get("fetch.wait.max.ms"), Some("10"));
        assert_eq!(member.get("linger.ms"), None);
        assert_eq!(member.get("socket.timeout.ms"), Some("9000"));
        let reader = client_config(&url, bounded_reader(&url));
        assert_eq!(reader.get("fetch.wait.max.ms"), Some("10"), "the URL wins over Nagare's 10");
        Ok(())
    }

    #[test]
    fn message_size_limit_follows_the_url() -> Result<()> {
        let default = KafkaUrl::parse("kafka://a:9092")?;
        assert_eq!(message_max_bytes(&default), DEFAULT_MESSAGE_MAX_BYTES);
        let custom = KafkaUrl::parse("kafka://a:9092?message.max.bytes=2000000")?;
        assert_eq!(message_max_bytes(&custom), 2_000_000);
        Ok(())
    }

    #[test]
    fn transaction_probes_get_distinct_ids() -> Result<()> {
        let url = KafkaUrl::parse("kafka://a:9092")?;
        let (one, two) = (transactions_probe(&url), transactions_probe(&url));
        assert_ne!(value(&one, "transactional.id"), value(&two, "transactional.id"));
        Ok(())
    }
}
