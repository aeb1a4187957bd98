//! The Kafka backend on this test process's broker (`nagare_testkit::Broker::shared()`): the
//! `EventLog` conformance suite, unchanged, then what only Kafka has — plain Kafka clients
//! reading what Nagare wrote, the capability probe, connection errors, commits routed through
//! live group members, and a bounded producer queue under a large append.
//!
//! Every test uses fresh topic and group names, so one broker serves them all.

use std::sync::Arc;

use nagare_infra::EventLog;
use nagare_infra::log::kafka::KafkaLog;
use nagare_testkit::Broker;

async fn connect() -> KafkaLog {
    let url = Broker::shared().url();
    KafkaLog::connect(&url)
        .await
        .unwrap_or_else(|error| panic!("the Kafka log at {url} opens: {error}"))
}

mod conformance {
    use super::*;

    nagare_infra::log_conformance!(async || -> Arc<dyn EventLog> {
        let log: Arc<dyn EventLog> = Arc::new(connect().await);
        log
    });
}

mod kafka {
    use std::collections::BTreeMap;
    use std::net::TcpListener;
    use std::time::Duration;

    use bytes::Bytes;
    use nagare_infra::conformance::log::{fresh_topic, record};
    use nagare_infra::conformance::log_groups::next_event;
    use nagare_infra::conformance::unique_name;
    use nagare_infra::partitioner::partition_for_key;
    use nagare_infra::{Error, GroupCommit, GroupEvent, OutgoingRecord, Record, TopicPartition};
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::{Headers, Message};
    use rdkafka::{ClientConfig, Offset, TopicPartitionList};

    use super::*;

    /// Everything a plain rdkafka consumer (no Nagare code) sees in a topic: per partition,
    /// (offset, key, value, headers, timestamp).
    type Seen = BTreeMap<i32, Vec<(i64, Vec<u8>, Vec<u8>, Vec<(String, Vec<u8>)>, Option<i64>)>>;

    fn read_with_plain_client(topic: &str, partitions: i32, expected: usize) -> Seen {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", Broker::shared().bootstrap_servers())
            .set("group.id", unique_name("plain"))
            .set("enable.auto.commit", "false")
            .create()
            .expect("a plain consumer");
        let mut list = TopicPartitionList::new();
        for partition in 0..partitions {
            list.add_partition_offset(topic, partition, Offset::Beginning).expect("partition");
        }
        consumer.assign(&list).expect("assign");
        let mut seen = Seen::new();
        let mut count = 0;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while count < expected && std::time::Instant::now() < deadline {
            let Some(message) = consumer.poll(Duration::from_millis(200)) else { continue };
            let message = message.expect("a message");
            let headers = message
                .headers()
                .map(|headers| {
                    headers
                        .iter()
                        .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                        .collect()
                })
                .unwrap_or_default();
            seen.entry(message.partition()).or_default().push((
                message.offset(),
                message.key().unwrap_or_default().to_vec(),
                message.payload().unwrap_or_default().to_vec(),
                headers,
                message.timestamp().to_millis(),
            ));
            count += 1;
        }
        seen
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_plain_kafka_client_reads_records_where_murmur2_puts_them() -> nagare_infra::Result<()>
    {
        let log = connect().await;
        let topic = fresh_topic(&log, 5).await?;
        let keys: Vec<String> = (0..40).map(|i| format!("order-{i}")).collect();
        let records = keys
            .iter()
            .enumerate()
            .map(|(i, key)| OutgoingRecord {
                topic: topic.clone(),
                partition: None,
                record: Record {
                    key: Some(Bytes::from(key.clone())),
                    value: Some(Bytes::from(format!("value-{i}"))),
                    headers: vec![
                        ("event-type".to_owned(), Bytes::from_static(b"OrderCreated")),
                        ("index".to_owned(), Bytes::from(i.to_string())),
                    ],
                    timestamp_ms: 1_700_000_000_000 + i as i64,
                },
            })
            .collect();
        let positions = log.append(records, None).await?;
        let seen = tokio::task::spawn_blocking({
            let topic = topic.clone();
            move || read_with_plain_client(&topic, 5, 40)
        })
        .await
        .map_err(|e| Error::Invalid(e.to_string()))?;
        assert_eq!(seen.values().map(Vec::len).sum::<usize>(), 40, "{seen:?}");
        for (partition, messages) in &seen {
            for (offset, key, value, headers, timestamp) in messages {
                let key_text = String::from_utf8_lossy(key).into_owned();
                let i: usize = key_text.trim_start_matches("order-").parse().expect("a key");
                assert_eq!(*partition as u32, partition_for_key(key, 5), "key {key_text}");
                assert_eq!(
                    (positions[i].partition, positions[i].offset),
                    (*partition as u32, *offset as u64)
                );
                assert_eq!(value, format!("value-{i}").as_bytes());
                assert_eq!(
                    headers,
                    &vec![
                        ("event-type".to_owned(), b"OrderCreated".to_vec()),
                        ("index".to_owned(), i.to_string().into_bytes()),
                    ]
                );
                assert_eq!(*timestamp, Some(1_700_000_000_000 + i as i64));
            }
        }
        Ok(())
    }

    /// Nisshi hands out producer ids but refuses transactional ids; Apache Kafka would report
    /// transactions too. The description names where the log is.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_probe_reports_what_the_test_broker_supports() {
        let log = connect().await;
        let capabilities = log.capabilities();
        assert!(capabilities.idempotence, "{capabilities:?}");
        assert!(!capabilities.transactions, "{capabilities:?}");
        assert!(!capabilities.atomic_append, "{capabilities:?}");
        assert!(
            capabilities.description.contains(&Broker::shared().bootstrap_servers()),
            "{capabilities:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreachable_cluster_is_named_in_the_error() {
        // A port that was free a moment ago: nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let url = format!("kafka://127.0.0.1:{port}");
        let Err(error) = KafkaLog::connect(&url).await else {
            panic!("connecting to {url} succeeded")
        };
        let message = error.to_string();
        assert!(message.contains(&format!("cannot reach Kafka at {url}")), "{message}");
    }

    /// Kafka accepts a group's commits only from its members while it has some: Nagare routes
    /// them through this process's live member.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commits_go_through_the_live_member_of_their_group() -> nagare_infra::Result<()> {
        let log: Arc<dyn EventLog> = Arc::new(connect().await);
        let commands = fresh_topic(log.as_ref(), 1).await?;
        let events = fresh_topic(log.as_ref(), 1).await?;
        let group = unique_name("processor");
        let tp = TopicPartition::new(commands.clone(), 0);
        log.append(vec![record(&commands, Some(0), Some("c"), "command")], None).await?;
        let mut member = log.subscribe(&group, std::slice::from_ref(&commands)).await?;
        assert!(matches!(next_event(&mut member).await?, GroupEvent::Assigned(_)));
        let GroupEvent::Records(batch) = next_event(&mut member).await? else {
            panic!("the member must get the command")
        };
        assert_eq!(batch.len(), 1);
        let commit = GroupCommit { group: group.clone(), offsets: vec![(tp.clone(), 1)] };
        let written =
            log.append(vec![record(&events, Some(0), Some("a"), "event")], Some(commit)).await?;
        assert_eq!(written.len(), 1);
        assert_eq!(log.committed(&group, &tp).await?, Some(1));
        Ok(())
    }

    /// More records than librdkafka's queue holds (100,000): the append waits for room and
    /// drops nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_append_larger_than_the_producer_queue_waits_for_room() -> nagare_infra::Result<()> {
        let log = connect().await;
        let topic = fresh_topic(&log, 2).await?;
        let count = 120_000;
        let batch: Vec<_> =
            (0..count).map(|i| record(&topic, Some(i % 2), None, "0123456789")).collect();
        let positions = log.append(batch, None).await?;
        assert_eq!(positions.len(), count as usize);
        for partition in 0..2u32 {
            let offsets: Vec<u64> =
                positions.iter().filter(|p| p.partition == partition).map(|p| p.offset).collect();
            let expected: Vec<u64> = (0..u64::from(count / 2)).collect();
            assert_eq!(offsets, expected, "partition {partition} in input order");
            let high = log.watermarks(&TopicPartition::new(topic.clone(), partition)).await?.high;
            assert_eq!(high, u64::from(count / 2));
        }
        Ok(())
    }

    /// A record librdkafka would refuse, or Kafka could not store, fails the whole append
    /// before anything of it is produced.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unproducible_record_fails_the_append_before_anything_is_written()
    -> nagare_infra::Result<()> {
        let log = connect().await;
        let topic = fresh_topic(&log, 1).await?;
        let tp = TopicPartition::new(topic.clone(), 0);
        let mut huge = record(&topic, Some(0), None, "");
        huge.record.value = Some(Bytes::from(vec![b'x'; 1_000_001]));
        let mut before_epoch = record(&topic, Some(0), None, "early");
        before_epoch.record.timestamp_ms = -5;
        for bad in [huge, before_epoch] {
            let batch = vec![record(&topic, Some(0), None, "good"), bad];
            let error = log.append(batch, None).await.err().map(|e| e.to_string());
            assert!(
                error.as_deref().is_some_and(|e| e.contains("record 1") && e.contains(&topic)),
                "{error:?}"
            );
        }
        assert_eq!(log.watermarks(&tp).await?.high, 0);
        Ok(())
    }

    /// A member that has been reading can move back: the seek reaches a partition librdkafka
    /// is already fetching.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_member_seeks_back_while_reading() -> nagare_infra::Result<()> {
        let log: Arc<dyn EventLog> = Arc::new(connect().await);
        let topic = fresh_topic(log.as_ref(), 1).await?;
        let tp = TopicPartition::new(topic.clone(), 0);
        let batch: Vec<_> = (0..4).map(|i| record(&topic, Some(0), None, &i.to_string())).collect();
        log.append(batch, None).await?;
        let mut member = log.subscribe(&unique_name("group"), std::slice::from_ref(&topic)).await?;
        assert!(matches!(next_event(&mut member).await?, GroupEvent::Assigned(_)));
        let mut offsets = Vec::new();
        while offsets.len() < 4 {
            let GroupEvent::Records(batch) = next_event(&mut member).await? else {
                panic!("expected records")
            };
            offsets.extend(batch.iter().map(|r| r.offset));
        }
        assert_eq!(offsets, vec![0, 1, 2, 3]);
        member.seek(&tp, 1).await?;
        let GroupEvent::Records(again) = next_event(&mut member).await? else {
            panic!("expected records after the seek")
        };
        assert_eq!(again.first().map(|r| r.offset), Some(1));
        let elsewhere = TopicPartition::new(topic, 1);
        assert!(matches!(member.seek(&elsewhere, 0).await, Err(Error::Invalid(_))));
        Ok(())
    }
}
