//! Nagare's topics on Kafka are readable by any client: after a gateway and a command processor
//! on `kafka://` handled a few mutations, a plain rdkafka consumer reads every record of their
//! topics and decodes every value with the `.avsc` files of `schemas/avro/` alone (Avro
//! single-object encoding, the writer schema found by the Rabin fingerprint of its canonical
//! form). Each keyed record sits in partition murmur2(key) mod N, and the headers carry what a
//! client routes by. The two roles run as separate processes, so the replies go through their
//! topic (a processor hands the replies for a gateway of its own process over in memory).

mod avro_reader;
mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use apache_avro::types::Value as AvroValue;
use avro_reader::murmur2::partition_for_key;
use avro_reader::schema_files::{WriterSchema, WriterSchemas, field, text};
use avro_reader::topic_records::{TopicRecord, read_all, topics_with_prefix};
use common::cluster::{Node, SharedLog};
use common::{Backend, DataDir, Server, command_id, repo_root, shop};
use nagare_testkit::Broker;
use serde_json::json;

/// A header on every event, as a client routing by header finds it.
const EVENT_HEADERS: [&str; 6] = [
    "event_type",
    "aggregate_type",
    "aggregate_id",
    "aggregate_version",
    "command_id",
    "correlation_id",
];
const COMMAND_HEADERS: [&str; 5] =
    ["command_type", "command_id", "correlation_id", "aggregate_type", "aggregate_id"];

/// Categories, products, stock, a price change, a deletion, an order, a duplicate and a refusal.
async fn drive_mutations(server: &Server) -> String {
    let tea = shop::create_category(server, "Tea").await;
    let sencha = shop::create_product(server, &tea, "Sencha", 1200, 10).await;
    let cup = shop::create_product(server, &tea, "Chipped cup", 100, 1).await;
    let stock_key = command_id();
    let add_stock = shop::add_stock_query();
    let variables = json!({ "id": sencha, "quantity": 3, "commandId": stock_key,
                            "consistency": "STRONG" });
    server.data(&add_stock, variables.clone()).await;
    let again = server.data(&add_stock, variables).await;
    assert_eq!(again["addStock"]["duplicate"], true, "{again:#}");
    let variables = json!({ "id": sencha, "price": 1300, "consistency": "STRONG" });
    server.data(&shop::change_price_query(), variables).await;
    server.data(&shop::delete_product_query(), json!({ "id": cup, "consistency": "STRONG" })).await;
    // Refused by the command processor, which alone knows the product is gone.
    let refused = server.graphql(&add_stock, json!({ "id": cup, "quantity": 1 })).await;
    assert!(refused["errors"].is_array(), "{refused:#}");
    shop::place_order(server, &shop::customer_id(), &[(&sencha, 2)]).await;
    stock_key
}

#[tokio::test]
async fn any_kafka_client_reads_the_topics_with_the_avsc_files_alone() {
    let dir = DataDir::on(Backend::Kafka);
    let log = SharedLog {
        url: dir.log_url(),
        topic_prefix: dir.topic_prefix().to_owned(),
        partitions: 4,
    };
    let processor =
        Node::start_with("processor", "commands", &log, &["--snapshot-every", "1"]).await;
    let server =
        Server::start(&dir, &["--roles", "gateway,projections", "--partitions", "4"]).await;
    let stock_key = drive_mutations(&server).await;
    assert!(server.terminate(Duration::from_secs(30)).await.success());
    // Every mutation had its reply, so everything the processor writes for them is written.
    drop(processor);

    let schemas = WriterSchemas::load(&repo_root().join("schemas/avro")).expect("the .avsc files");
    assert!(schemas.len() >= 30, "only {} schema files", schemas.len());
    let bootstrap = Broker::shared().bootstrap_servers();
    let prefix = dir.topic_prefix().to_owned();
    let (topics, records) = tokio::task::spawn_blocking(move || {
        let topics = topics_with_prefix(&bootstrap, &prefix)?;
        let records = read_all(&bootstrap, &topics)?;
        Ok::<_, String>((topics, records))
    })
    .await
    .expect("the reading thread")
    .unwrap_or_else(|error| panic!("reading the topics failed: {error}"));

    let topic_names = dir.topics();
    let expected: BTreeSet<String> = [
        topic_names.commands(),
        topic_names.replies(),
        topic_names.snapshots(),
        topic_names.deadletter(),
    ]
    .into_iter()
    .chain(topic_names.all_events())
    .collect();
    assert_eq!(topics.keys().cloned().collect::<BTreeSet<_>>(), expected);

    let mut names_seen = BTreeSet::new();
    let mut events_by_position = HashMap::new();
    let mut replies = Vec::new();
    for record in &records {
        check_partition(record, &topics, &topic_names.snapshots());
        let topic = record.topic.strip_prefix(dir.topic_prefix()).unwrap_or(&record.topic);
        if topic == "snapshots" {
            // Snapshots are Nagare's internal state (JSON by design), not a published format.
            assert!(record.value.as_deref().is_some_and(is_json), "{record:?}");
            continue;
        }
        let value = record.value.as_deref().unwrap_or_else(|| panic!("no value: {record:?}"));
        let (writer, decoded) = schemas.decode(value).unwrap_or_else(|error| {
            panic!("{}/{}@{}: {error}", topic, record.partition, record.offset)
        });
        names_seen.insert(writer.name().to_owned());
        match topic {
            "commands" => check_command(record, writer),
            "replies" => {
                check_reply(record, writer, &decoded);
                replies.push(decoded);
            }
            "deadletter" => panic!("a command was dead-lettered: {record:?}"),
            events => {
                check_event(record, writer, &decoded, events);
                let position = (record.topic.clone(), record.partition, record.offset);
                events_by_position.insert(position, record.clone());
            }
        }
    }
    check_versions_follow_offsets(&records, dir.topic_prefix());
    check_replies_point_at_their_events(&replies, &events_by_position, &stock_key);
    for name in [
        "CreateCategory",
        "CreateProduct",
        "AddStock",
        "ChangeProductPrice",
        "DeleteProduct",
        "PlaceOrder",
        "CategoryCreated",
        "ProductCreated",
        "StockAdded",
        "ProductPriceChanged",
        "ProductDeleted",
        "OrderCreated",
        "CommandAccepted",
        "CommandRejected",
    ] {
        assert!(names_seen.contains(name), "no {name} among {names_seen:?}");
    }
    let snapshots = records.iter().filter(|r| r.topic == topic_names.snapshots()).count();
    assert!(snapshots > 0, "--snapshot-every 1 wrote no snapshot");
    eprintln!(
        "decoded {} records of {} topics with {} schema files",
        records.len(),
        topics.len(),
        schemas.len()
    );
}

fn is_json(value: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(value).is_ok_and(|v| v.is_object())
}

/// Keyed records sit in partition murmur2(key) mod N. The one exception is by design: each
/// snapshots partition holds a marker of its own, placed by partition, under a key that is not
/// an aggregate id (those are UUIDs).
fn check_partition(record: &TopicRecord, topics: &BTreeMap<String, i32>, snapshots: &str) {
    let Some(key) = &record.key else { return };
    let aggregate_key = record.key_text().is_some_and(|k| uuid::Uuid::parse_str(k).is_ok());
    if record.topic == snapshots && !aggregate_key {
        return;
    }
    let partitions = topics.get(&record.topic).copied().unwrap_or(0);
    let expected = partition_for_key(key, partitions as u32);
    assert_eq!(record.partition as u32, expected, "{record:?}");
}

fn headers_present(record: &TopicRecord, names: &[&str]) {
    for name in names {
        let value = record.header(name);
        assert!(value.is_some_and(|v| !v.is_empty()), "no `{name}` header on {record:?}");
    }
}

fn check_command(record: &TopicRecord, writer: &WriterSchema) {
    assert_eq!(writer.namespace(), "nagare.commands", "{record:?}");
    headers_present(record, &COMMAND_HEADERS);
    assert_eq!(record.header("command_type"), Some(writer.name()), "{record:?}");
    assert_eq!(record.header("aggregate_id"), record.key_text(), "{record:?}");
}

fn check_reply(record: &TopicRecord, writer: &WriterSchema, decoded: &AvroValue) {
    assert_eq!(writer.namespace(), "nagare.replies", "{record:?}");
    let command = field(decoded, "command_id").and_then(text);
    assert_eq!(record.header("command_id"), command.as_deref(), "{record:?}");
}

fn check_event(record: &TopicRecord, writer: &WriterSchema, decoded: &AvroValue, topic: &str) {
    let aggregate = topic.strip_prefix("events.").unwrap_or_else(|| panic!("topic {topic}"));
    assert_eq!(writer.namespace(), format!("nagare.events.{aggregate}"), "{record:?}");
    headers_present(record, &EVENT_HEADERS);
    assert_eq!(record.header("event_type"), Some(writer.name()), "{record:?}");
    let aggregate_type = record.header("aggregate_type").unwrap_or_default();
    assert_eq!(aggregate_type.to_lowercase(), aggregate, "{record:?}");
    assert_eq!(record.header("aggregate_id"), record.key_text(), "{record:?}");
    let id = field(decoded, &format!("{aggregate}_id")).and_then(text);
    assert_eq!(id.as_deref(), record.key_text(), "the event's own id: {decoded:?}");
    let version = record.header("aggregate_version").and_then(|v| v.parse::<u64>().ok());
    assert!(version.is_some_and(|v| v >= 1), "{record:?}");
}

/// Each aggregate's events carry versions 1, 2, 3… in offset order.
fn check_versions_follow_offsets(records: &[TopicRecord], prefix: &str) {
    let mut last: HashMap<(String, String), u64> = HashMap::new();
    let events = records.iter().filter(|r| r.topic.starts_with(&format!("{prefix}events.")));
    for record in events {
        let id = record.header("aggregate_id").unwrap_or_default().to_owned();
        let version = record.header("aggregate_version").and_then(|v| v.parse::<u64>().ok());
        let previous = last.insert((record.topic.clone(), id), version.unwrap_or(0));
        assert_eq!(version, Some(previous.unwrap_or(0) + 1), "{record:?}");
    }
}

/// Every position in an accepted reply is an event of the reply's command; the repeated command
/// was answered twice with the same positions, once as a duplicate.
fn check_replies_point_at_their_events(
    replies: &[AvroValue],
    events: &HashMap<(String, i32, i64), TopicRecord>,
    stock_key: &str,
) {
    let mut stock_replies = Vec::new();
    for reply in replies {
        let Some(AvroValue::Array(positions)) = field(reply, "positions") else { continue };
        let command = field(reply, "command_id").and_then(text).unwrap_or_default();
        for position in positions {
            let topic = field(position, "topic").and_then(text).unwrap_or_default();
            let partition = match field(position, "partition") {
                Some(AvroValue::Int(partition)) => *partition,
                other => panic!("partition {other:?} in {reply:?}"),
            };
            let offset = match field(position, "offset") {
                Some(AvroValue::Long(offset)) => *offset,
                other => panic!("offset {other:?} in {reply:?}"),
            };
            let event = events.get(&(topic, partition, offset));
            let event = event.unwrap_or_else(|| panic!("no event at a position of {reply:?}"));
            assert_eq!(event.header("command_id"), Some(command.as_str()), "{reply:?}");
        }
        if command == stock_key {
            stock_replies.push((field(reply, "duplicate").cloned(), positions.clone()));
        }
    }
    assert_eq!(stock_replies.len(), 2, "{stock_replies:?}");
    assert_eq!(stock_replies[0].0, Some(AvroValue::Boolean(false)), "{stock_replies:?}");
    assert_eq!(stock_replies[1].0, Some(AvroValue::Boolean(true)), "{stock_replies:?}");
    assert_eq!(stock_replies[0].1, stock_replies[1].1, "{stock_replies:?}");
}
