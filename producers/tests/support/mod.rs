//! A command processor on a real embedded log in a temporary directory, driven the way the
//! gateway drives it: commands appended keyed by aggregate id, replies read from the replies topic.

#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use nagare_infra::{
    Cleanup, EventLog, OutgoingRecord, Position, Record, StoredRecord, TopicPartition, TopicSpec,
};
use nagare_producers::{ProcessorConfig, run_command_processor};
use nagare_schemas::codec;
use nagare_schemas::commands::Command;
use nagare_schemas::metadata;
use nagare_schemas::replies::{CommandAccepted, CommandRejected, CommandReply};
use nagare_schemas::topics::Topics;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const PARTITIONS: u32 = 4;
pub const GATEWAY: &str = "gateway-test";
const WAIT: Duration = Duration::from_secs(20);

pub fn topics() -> Topics {
    Topics::default()
}

/// Opens the log in `dir` and declares the topics as the binary does.
pub async fn open_log(dir: &Path) -> Arc<dyn EventLog> {
    let log = match nagare_infra::open_log(&format!("embedded://{}", dir.display())).await {
        Ok(log) => log,
        Err(error) => panic!("open log: {error}"),
    };
    let t = topics();
    let mut specs = vec![
        (t.commands(), PARTITIONS, Cleanup::Delete { retention_ms: None }),
        (t.snapshots(), PARTITIONS, Cleanup::Compact),
        (t.replies(), 2, Cleanup::Delete { retention_ms: None }),
        (t.deadletter(), 1, Cleanup::Delete { retention_ms: None }),
    ];
    for events in t.all_events() {
        specs.push((events, PARTITIONS, Cleanup::Delete { retention_ms: None }));
    }
    for (name, partitions, cleanup) in specs {
        let spec = TopicSpec { name, partitions, cleanup };
        if let Err(error) = log.ensure_topic(&spec).await {
            panic!("ensure topic: {error}");
        }
    }
    log
}

/// A running processor.
pub struct Running {
    shutdown: CancellationToken,
    task: JoinHandle<nagare_producers::Result<()>>,
}

pub fn start(log: &Arc<dyn EventLog>, snapshot_every: Option<u64>) -> Running {
    let shutdown = CancellationToken::new();
    let config = ProcessorConfig {
        group: "processors".into(),
        snapshot_every,
        batch_size: 64,
        reply_handoff: Default::default(),
    };
    let task = tokio::spawn(run_command_processor(log.clone(), topics(), config, shutdown.clone()));
    Running { shutdown, task }
}

impl Running {
    pub async fn stop(self) {
        self.shutdown.cancel();
        match tokio::time::timeout(WAIT, self.task).await {
            Ok(Ok(Ok(()))) => {}
            other => panic!("processor did not stop cleanly: {other:?}"),
        }
    }
}

/// Appends a command as the gateway does; returns where it was written.
pub async fn send(log: &Arc<dyn EventLog>, command: &Command, command_id: &str) -> Position {
    let value = codec::encode_command(command);
    send_raw(log, command.aggregate_id(), Some(value), command_id, command.command_type()).await
}

pub async fn send_raw(
    log: &Arc<dyn EventLog>,
    key: &str,
    value: Option<Vec<u8>>,
    command_id: &str,
    command_type: &str,
) -> Position {
    let header =
        |name: &str, value: &str| (name.to_owned(), Bytes::copy_from_slice(value.as_bytes()));
    let record = OutgoingRecord {
        topic: topics().commands(),
        partition: None,
        record: Record {
            key: Some(Bytes::copy_from_slice(key.as_bytes())),
            value: value.map(Bytes::from),
            headers: vec![
                header(metadata::COMMAND_TYPE, command_type),
                header(metadata::COMMAND_ID, command_id),
                header(metadata::REPLY_TO, GATEWAY),
                header(metadata::CORRELATION_ID, &format!("corr-{command_id}")),
            ],
            timestamp_ms: 0,
        },
    };
    match log.append(vec![record], None).await {
        Ok(mut positions) if positions.len() == 1 => positions.remove(0),
        other => panic!("append command: {other:?}"),
    }
}

/// Every record of every partition of a topic.
pub async fn read_topic(log: &Arc<dyn EventLog>, topic: &str) -> Vec<StoredRecord> {
    let count = log.partition_count(topic).await.unwrap_or(0);
    let mut all = Vec::new();
    for partition in 0..count {
        let tp = TopicPartition::new(topic, partition);
        let mut next = 0;
        loop {
            let records = log.read(&tp, next, 1_000).await.unwrap_or_default();
            let Some(last) = records.last() else { break };
            next = last.offset + 1;
            all.extend(records);
        }
    }
    all
}

/// Waits for `count` replies to a command id.
pub async fn replies_to(
    log: &Arc<dyn EventLog>,
    command_id: &str,
    count: usize,
) -> Vec<CommandReply> {
    let started = Instant::now();
    loop {
        let replies: Vec<CommandReply> = read_topic(log, &topics().replies())
            .await
            .into_iter()
            .filter(|r| {
                r.record.header(metadata::COMMAND_ID).map(|v| v.as_ref())
                    == Some(command_id.as_bytes())
            })
            .filter_map(|r| r.record.value.as_deref().and_then(|v| codec::decode_reply(v).ok()))
            .collect();
        if replies.len() >= count {
            return replies;
        }
        assert!(started.elapsed() < WAIT, "no reply to {command_id} after {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub async fn reply_to(log: &Arc<dyn EventLog>, command_id: &str) -> CommandReply {
    replies_to(log, command_id, 1).await.remove(0)
}

/// Sends a command and expects it accepted.
pub async fn accept(
    log: &Arc<dyn EventLog>,
    command: &Command,
    command_id: &str,
) -> CommandAccepted {
    send(log, command, command_id).await;
    match reply_to(log, command_id).await {
        CommandReply::Accepted(accepted) => accepted,
        CommandReply::Rejected(rejected) => panic!("{command_id} rejected: {rejected:?}"),
    }
}

/// Sends a command and expects it rejected.
pub async fn reject(
    log: &Arc<dyn EventLog>,
    command: &Command,
    command_id: &str,
) -> CommandRejected {
    send(log, command, command_id).await;
    match reply_to(log, command_id).await {
        CommandReply::Rejected(rejected) => rejected,
        CommandReply::Accepted(accepted) => panic!("{command_id} accepted: {accepted:?}"),
    }
}

/// A fresh lowercase id, as the gateway makes them.
pub fn new_id() -> String {
    nagare_schemas::values::EntityId::new().to_string()
}
