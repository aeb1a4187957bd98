//! The plain rdkafka baselines on the same broker: a producer with the durability settings of
//! Nagare's own (idempotent, `acks=all`, the same batching and compression) and an assign-mode
//! consumer reading partitions from the start. On `kafka://` every figure is reported as a
//! ratio to these, so it says what Nagare adds on top of the client, whatever the broker.

use std::collections::VecDeque;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::Offset as KafkaOffset;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use tokio::time::Instant;

use crate::latency::LatencyRecorder;
use crate::measurement::Measurement;
use crate::process::ProcessUsage;
use crate::progress::Progress;

/// Deliveries awaited at most at once; beyond it the producer waits for the oldest.
const MAX_IN_FLIGHT: usize = 50_000;
/// Round trips timed for the latency baseline.
const ROUND_TRIPS: u64 = 200;
/// A consumer that sees no record for this long has read everything there is.
const CONSUME_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Clients of one broker, from a `kafka://HOST:PORT[,…][?property=value&…]` URL.
#[derive(Debug, Clone)]
pub(crate) struct KafkaBaseline {
    bootstrap_servers: String,
    /// The URL's client properties, applied last as the Kafka log applies them.
    properties: Vec<(String, String)>,
}

impl KafkaBaseline {
    pub(crate) fn from_url(url: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("kafka://")
            .ok_or_else(|| anyhow::anyhow!("`{url}` is not a kafka:// URL"))?;
        let (hosts, query) = rest.split_once('?').unwrap_or((rest, ""));
        let properties = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                pair.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .ok_or_else(|| anyhow::anyhow!("`{pair}` in `{url}` is not property=value"))
            })
            .collect::<anyhow::Result<_>>()?;
        let bootstrap_servers = hosts.trim_end_matches('/').to_owned();
        Ok(Self { bootstrap_servers, properties })
    }

    fn config(&self, own: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        for (key, value) in own {
            config.set(*key, *value);
        }
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }

    /// Produces `records` records of `record_size` bytes round-robin over the topic's
    /// partitions and waits for every delivery.
    pub(crate) async fn produce(
        &self,
        topic: &str,
        partitions: u32,
        records: u64,
        record_size: usize,
    ) -> anyhow::Result<Measurement> {
        let producer: FutureProducer = self
            .config(&[
                ("enable.idempotence", "true"),
                ("acks", "all"),
                ("linger.ms", "5"),
                ("batch.num.messages", "10000"),
                ("compression.type", "lz4"),
                ("queue.buffering.max.messages", "100000"),
            ])
            .create()?;
        let value = vec![0xA5u8; record_size];
        let progress = Progress::start("plain rdkafka producer", Some(records));
        let usage_before = ProcessUsage::current()?;
        let started = Instant::now();
        let mut latency = LatencyRecorder::new();
        let mut in_flight: VecDeque<(Instant, DeliveryFuture)> = VecDeque::new();
        let mut errors = 0;
        for n in 0..records {
            let key = n.to_be_bytes();
            let partition = (n % u64::from(partitions.max(1))) as i32;
            loop {
                let record = FutureRecord::to(topic).key(&key[..]).payload(&value[..]);
                match producer.send_result(record.partition(partition)) {
                    Ok(delivery) => {
                        in_flight.push_back((Instant::now(), delivery));
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _))
                        if !in_flight.is_empty() =>
                    {
                        errors += await_oldest(&mut in_flight, &mut latency, &progress).await;
                    }
                    Err((error, _)) => return Err(error.into()),
                }
            }
            if in_flight.len() >= MAX_IN_FLIGHT {
                errors += await_oldest(&mut in_flight, &mut latency, &progress).await;
            }
        }
        while !in_flight.is_empty() {
            errors += await_oldest(&mut in_flight, &mut latency, &progress).await;
        }
        producer.flush(Duration::from_secs(30))?;
        Ok(Measurement {
            scenario: "append".into(),
            backend: "plain rdkafka".into(),
            operations: records - errors,
            errors,
            elapsed: started.elapsed(),
            latency: Some(latency),
            usage: Some(ProcessUsage::current()?.since(usage_before)),
        })
    }

    /// Reads every partition of `topics` from the start until `expected` records have come
    /// (or none has for a while), touching each value as a consumer would.
    pub(crate) async fn consume(
        &self,
        scenario: &str,
        topics: &[String],
        partitions: u32,
        expected: u64,
    ) -> anyhow::Result<Measurement> {
        let consumer: BaseConsumer = self
            .config(&[
                ("group.id", "nagare.bench-baseline"),
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
            ])
            .create()?;
        let mut assignment = TopicPartitionList::new();
        for topic in topics {
            for partition in 0..partitions {
                assignment.add_partition_offset(topic, partition as i32, KafkaOffset::Beginning)?;
            }
        }
        consumer.assign(&assignment)?;
        let progress = Progress::start("plain rdkafka consumer", Some(expected));
        let counter = progress.counter();
        let usage_before = ProcessUsage::current()?;
        let started = Instant::now();
        let (read, bytes) = tokio::task::spawn_blocking(move || {
            let (mut read, mut bytes) = (0u64, 0u64);
            let mut last_record = std::time::Instant::now();
            while read < expected && last_record.elapsed() < CONSUME_IDLE_TIMEOUT {
                match consumer.poll(Duration::from_millis(100)) {
                    Some(Ok(message)) => {
                        use rdkafka::Message;
                        bytes += message.payload().map_or(0, |p| p.len() as u64);
                        read += 1;
                        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        last_record = std::time::Instant::now();
                    }
                    Some(Err(error)) => tracing::warn!(%error, "baseline consumer error"),
                    None => {}
                }
            }
            (read, bytes)
        })
        .await?;
        tracing::debug!(read, bytes, "plain rdkafka consumer finished");
        Ok(Measurement {
            scenario: scenario.to_owned(),
            backend: "plain rdkafka consumer".into(),
            operations: read,
            errors: expected.saturating_sub(read),
            elapsed: started.elapsed(),
            latency: None,
            usage: Some(ProcessUsage::current()?.since(usage_before)),
        })
    }
}

impl KafkaBaseline {
    /// One record at a time produced (durably, as Nagare's producer does) and read back by a
    /// consumer waiting at the end of the partition: the latency of one hop through the broker.
    /// A command through Nagare makes two such hops (command to processor, reply to gateway)
    /// and a durable write of its events between them.
    pub(crate) async fn round_trips(
        &self,
        scenario: &str,
        topic: &str,
        count: u64,
    ) -> anyhow::Result<Measurement> {
        let producer: FutureProducer = self
            .config(&[("enable.idempotence", "true"), ("acks", "all"), ("linger.ms", "5")])
            .create()?;
        let consumer: BaseConsumer = self
            .config(&[("group.id", "nagare.bench-baseline"), ("enable.auto.commit", "false")])
            .create()?;
        let mut assignment = TopicPartitionList::new();
        assignment.add_partition_offset(topic, 0, KafkaOffset::End)?;
        consumer.assign(&assignment)?;
        let consumer = std::sync::Arc::new(consumer);
        let progress = Progress::start("plain rdkafka round trips", Some(count));
        let started = Instant::now();
        let mut latency = LatencyRecorder::new();
        let mut errors = 0;
        for n in 0..count {
            let key = n.to_be_bytes();
            let sent = Instant::now();
            let record = FutureRecord::to(topic).key(&key[..]).payload(&b"round trip"[..]);
            if producer.send(record.partition(0), Duration::from_secs(10)).await.is_err() {
                errors += 1;
                continue;
            }
            let reader = consumer.clone();
            let arrived = tokio::task::spawn_blocking(move || {
                use rdkafka::Message;
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                while std::time::Instant::now() < deadline {
                    if let Some(Ok(message)) = reader.poll(Duration::from_millis(100))
                        && message.key() == Some(&key[..])
                    {
                        return true;
                    }
                }
                false
            })
            .await?;
            if arrived {
                latency.record(sent.elapsed());
                progress.add(1);
            } else {
                errors += 1;
            }
        }
        Ok(Measurement {
            scenario: scenario.to_owned(),
            backend: "plain rdkafka round trip".into(),
            operations: count - errors,
            errors,
            elapsed: started.elapsed(),
            latency: Some(latency),
            usage: None,
        })
    }
}

/// Round trips through the broker behind `url` on a fresh one-partition topic, as the baseline
/// of a scenario that sends commands on Kafka; also the ratio of the scenario's median latency
/// to theirs, added to `report`.
pub(crate) async fn with_round_trips(
    url: Option<&str>,
    mut report: crate::report::Report,
) -> anyhow::Result<crate::report::Report> {
    let Some(url) = url.filter(|url| url.starts_with("kafka://")) else { return Ok(report) };
    let topic = crate::scratch::unique_name("nagare.bench-round-trips-");
    let log = nagare_infra::open_log(url).await?;
    let cleanup = nagare_infra::Cleanup::Delete { retention_ms: None };
    log.ensure_topic(&nagare_infra::TopicSpec { name: topic.clone(), partitions: 1, cleanup })
        .await?;
    let scenario = report.measurements.first().map_or("round trips", |m| m.scenario.as_str());
    let trips = KafkaBaseline::from_url(url)?.round_trips(scenario, &topic, ROUND_TRIPS).await?;
    let median = |m: &Measurement| m.latency.as_ref().map_or(0, |l| l.quantile_us(0.5)) as f64;
    let ratio = report.measurements.first().map_or(0.0, median) / median(&trips).max(1.0);
    report.extras.push(("p50_ratio_to_plain_round_trip".into(), ratio));
    report.measurements.push(trips);
    Ok(report)
}

/// On `kafka://`, the plain consumer reading the same events as the projections, and the
/// projections' rate as a share of its rate, added to `report`.
pub(crate) async fn with_plain_consumer(
    url: &str,
    topics: &[String],
    partitions: u32,
    events: u64,
    mut report: crate::report::Report,
) -> anyhow::Result<crate::report::Report> {
    if !url.starts_with("kafka://") {
        return Ok(report);
    }
    let scenario = report.measurements.first().map_or("project", |m| m.scenario.as_str());
    let plain = KafkaBaseline::from_url(url)?.consume(scenario, topics, partitions, events).await?;
    let rate = report.measurements.first().map_or(0.0, Measurement::ops_per_second);
    let ratio = rate / plain.ops_per_second().max(f64::MIN_POSITIVE);
    report.extras.push(("ratio_to_plain_rdkafka".into(), ratio));
    report.measurements.push(plain);
    Ok(report)
}

/// Waits for the oldest delivery; 1 if it failed, else 0.
async fn await_oldest(
    in_flight: &mut VecDeque<(Instant, DeliveryFuture)>,
    latency: &mut LatencyRecorder,
    progress: &Progress,
) -> u64 {
    let Some((sent, delivery)) = in_flight.pop_front() else { return 0 };
    let delivered = matches!(delivery.await, Ok(Ok(_)));
    latency.record(sent.elapsed());
    if delivered {
        progress.add(1);
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_gives_the_servers_and_the_client_properties() {
        let baseline =
            KafkaBaseline::from_url("kafka://a:9092,b:9092/?fetch.wait.max.ms=10&acks=all")
                .unwrap();
        assert_eq!(baseline.bootstrap_servers, "a:9092,b:9092");
        assert_eq!(baseline.properties.len(), 2);
        assert_eq!(baseline.properties[0], ("fetch.wait.max.ms".into(), "10".into()));
        assert!(KafkaBaseline::from_url("embedded://x").is_err());
        assert!(KafkaBaseline::from_url("kafka://a:9092?novalue").is_err());
    }
}
