//! The command bus on the embedded log, answered by hand where the processor would answer.

mod support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nagare_gateway::{CommandBus, Error};
use nagare_infra::{EventLog, OutgoingRecord, Record, TopicPartition, partitioner};
use nagare_schemas::commands::{Command, DeleteCategory};
use nagare_schemas::replies::{CommandRejected, CommandReply, RejectionCode};
use nagare_schemas::reply_handoff::ReplyHandoff;
use nagare_schemas::{codec, metadata};
use support::{PARTITIONS, open_topics};
use tokio_util::sync::CancellationToken;

const CATEGORY: &str = "0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b";

fn delete_category() -> Command {
    Command::DeleteCategory(DeleteCategory { category_id: CATEGORY.into() })
}

fn rejection(command_id: &str) -> CommandReply {
    CommandReply::Rejected(CommandRejected {
        command_id: command_id.into(),
        aggregate_id: CATEGORY.into(),
        code: RejectionCode::NotFound,
        field: Some("id".into()),
        message: "no such category".into(),
    })
}

/// Writes a reply the way the command processor does: keyed by the `reply_to` instance id.
async fn reply(log: &Arc<dyn EventLog>, replies_topic: &str, reply_to: &str, reply: &CommandReply) {
    let record = OutgoingRecord {
        topic: replies_topic.into(),
        partition: None,
        record: Record {
            key: Some(Bytes::copy_from_slice(reply_to.as_bytes())),
            value: Some(Bytes::from(codec::encode_reply(reply))),
            headers: vec![(
                metadata::COMMAND_ID.into(),
                Bytes::copy_from_slice(reply.command_id().as_bytes()),
            )],
            timestamp_ms: 0,
        },
    };
    log.append(vec![record], None).await.expect("append reply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_reads_the_partition_its_instance_id_hashes_to() {
    let (log, topics, _dir) = open_topics().await;
    let bus = CommandBus::start(log.clone(), topics.clone(), CancellationToken::new())
        .await
        .expect("bus");
    let expected = partitioner::partition_for_key(bus.instance_id().as_bytes(), PARTITIONS);
    assert_eq!(bus.replies_partition(), &TopicPartition::new(topics.replies(), expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_is_sent_and_its_reply_returned() {
    let (log, topics, _dir) = open_topics().await;
    let bus = CommandBus::start(log.clone(), topics.clone(), CancellationToken::new())
        .await
        .expect("bus")
        .with_reply_timeout(Duration::from_secs(10));

    let sender = bus.clone();
    let sent =
        tokio::spawn(async move { sender.send(delete_category(), "cmd-1".into(), None).await });

    // Wait for the command, then answer it; a reply for another command comes first and is ignored.
    let commands = TopicPartition::new(
        topics.commands(),
        partitioner::partition_for_key(CATEGORY.as_bytes(), PARTITIONS),
    );
    let mut records = Vec::new();
    for _ in 0..100 {
        records = log.read(&commands, 0, 10).await.expect("read commands");
        if !records.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(records.len(), 1, "the command is on its aggregate's partition");
    let header = |name: &str| records[0].record.header(name).cloned();
    assert_eq!(header(metadata::REPLY_TO).as_deref(), Some(bus.instance_id().as_bytes()));
    assert_eq!(header(metadata::COMMAND_ID).as_deref(), Some(b"cmd-1".as_slice()));

    reply(&log, &topics.replies(), bus.instance_id(), &rejection("someone-else")).await;
    reply(&log, &topics.replies(), bus.instance_id(), &rejection("cmd-1")).await;
    let answer = sent.await.expect("task").expect("reply");
    assert_eq!(answer, rejection("cmd-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reply_in_time_is_a_timeout_that_says_retrying_is_safe() {
    let (log, topics, _dir) = open_topics().await;
    let bus = CommandBus::start(log, topics, CancellationToken::new())
        .await
        .expect("bus")
        .with_reply_timeout(Duration::from_millis(200));
    let error = bus.send(delete_category(), "cmd-2".into(), None).await.err();
    assert!(
        matches!(error, Some(Error::CommandTimeout { ref command_id, .. }) if command_id == "cmd-2")
    );
    let message = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("same commandId is safe"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_shutdown_waiting_sends_fail_as_stopped() {
    let (log, topics, _dir) = open_topics().await;
    let shutdown = CancellationToken::new();
    let bus = CommandBus::start(log, topics, shutdown.clone())
        .await
        .expect("bus")
        .with_reply_timeout(Duration::from_secs(30));
    let sender = bus.clone();
    let sent =
        tokio::spawn(async move { sender.send(delete_category(), "cmd-3".into(), None).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    shutdown.cancel();
    bus.stopped().await;
    let result = tokio::time::timeout(Duration::from_secs(5), sent).await;
    assert!(matches!(result, Ok(Ok(Err(Error::BusStopped)))), "{result:?}");
    assert!(!bus.is_listening());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_that_accepts_the_handoff_takes_its_replies_from_it() {
    let (log, topics, _dir) = open_topics().await;
    let handoff = ReplyHandoff::default();
    let bus = CommandBus::start(log, topics, CancellationToken::new())
        .await
        .expect("bus")
        .with_reply_timeout(Duration::from_secs(10));
    assert!(handoff.recipient(bus.instance_id()).is_none());
    bus.accept_handoff(&handoff);
    let recipient = handoff.recipient(bus.instance_id()).expect("the bus's route");

    let sender = bus.clone();
    let sent =
        tokio::spawn(async move { sender.send(delete_category(), "cmd-4".into(), None).await });
    // As the processor of this process would, once the command's events were durable; a reply
    // nobody waits for goes nowhere. (Handing over may race the send's registration: retry.)
    recipient.deliver(rejection("someone-else"));
    let answer = loop {
        recipient.deliver(rejection("cmd-4"));
        if sent.is_finished() {
            break sent.await.expect("task").expect("reply");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(answer, rejection("cmd-4"));

    // Without the bus its route is gone: replies to it would be written to the topic again.
    let instance_id = bus.instance_id().to_owned();
    drop(bus);
    assert!(handoff.recipient(&instance_id).is_none());
}
