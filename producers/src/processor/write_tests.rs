//! The real command processor on the embedded log, seen through a wrapper that reports the
//! log as having no atomic appends (as Kafka without transactions) and can lose the write of a
//! batch's replies, as a crash between the two steps would.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use nagare_infra::{
    Cleanup, EventLog, GroupCommit, GroupConsumer, LogCapabilities, LogReader, Offset,
    OutgoingRecord, Position, Record, StoredRecord, TopicPartition, TopicSpec, TopicStatus,
    Watermarks,
};
use nagare_schemas::codec;
use nagare_schemas::commands::{Command, CreateCategory};
use nagare_schemas::events::AggregateType;
use nagare_schemas::metadata;
use nagare_schemas::replies::{CommandAccepted, CommandReply};
use nagare_schemas::topics::Topics;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::ProcessorConfig;

const PARTITIONS: u32 = 2;
const GATEWAY: &str = "gateway-test";
const PATIENCE: Duration = Duration::from_secs(20);

/// The embedded log, reporting `atomic_append` as configured, checking every reply against the
/// log at the moment it is appended, and failing the first `fail_reply_appends` appends that
/// carry replies.
#[derive(Debug)]
struct ObservedLog {
    inner: Arc<dyn EventLog>,
    atomic_append: bool,
    fail_reply_appends: AtomicUsize,
    topics: Topics,
    /// Every breach of the rules this wrapper checks, in words.
    breaches: Mutex<Vec<String>>,
    /// Appends that carried both events and replies.
    mixed_appends: AtomicUsize,
}

impl ObservedLog {
    fn breaches(&self) -> Vec<String> {
        self.breaches.lock().clone()
    }

    /// A reply may only name positions the log already holds.
    async fn check_replies(&self, records: &[OutgoingRecord]) {
        let named = records
            .iter()
            .filter(|r| r.topic == self.topics.replies())
            .filter_map(|r| r.record.value.as_deref().and_then(|v| codec::decode_reply(v).ok()));
        for reply in named {
            let CommandReply::Accepted(accepted) = reply else { continue };
            for position in &accepted.positions {
                let tp = TopicPartition::new(position.topic.clone(), position.partition as u32);
                let high = self.inner.watermarks(&tp).await.map(|w| w.high).unwrap_or(0);
                if high <= position.offset as u64 {
                    self.breaches.lock().push(format!(
                        "reply to {} names {tp}@{} before it is written (high {high})",
                        accepted.command_id, position.offset
                    ));
                }
            }
        }
    }
}

#[async_trait]
impl EventLog for ObservedLog {
    fn capabilities(&self) -> LogCapabilities {
        LogCapabilities { atomic_append: self.atomic_append, ..self.inner.capabilities() }
    }

    async fn ensure_topic(&self, spec: &TopicSpec) -> nagare_infra::Result<TopicStatus> {
        self.inner.ensure_topic(spec).await
    }

    async fn list_topics(&self) -> nagare_infra::Result<Vec<TopicSpec>> {
        self.inner.list_topics().await
    }

    async fn partition_count(&self, topic: &str) -> nagare_infra::Result<u32> {
        self.inner.partition_count(topic).await
    }

    async fn append(
        &self,
        records: Vec<OutgoingRecord>,
        commit: Option<GroupCommit>,
    ) -> nagare_infra::Result<Vec<Position>> {
        let replies = records.iter().any(|r| r.topic == self.topics.replies());
        let events = records.iter().any(|r| self.topics.aggregate_of(&r.topic).is_some());
        if replies && events {
            self.mixed_appends.fetch_add(1, Ordering::SeqCst);
        }
        if replies {
            if !self.atomic_append {
                self.check_replies(&records).await;
            }
            let fail = self
                .fail_reply_appends
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if fail {
                return Err(nagare_infra::Error::Closed);
            }
        }
        self.inner.append(records, commit).await
    }

    async fn read(
        &self,
        tp: &TopicPartition,
        from: Offset,
        max_records: usize,
    ) -> nagare_infra::Result<Vec<StoredRecord>> {
        self.inner.read(tp, from, max_records).await
    }

    async fn watermarks(&self, tp: &TopicPartition) -> nagare_infra::Result<Watermarks> {
        self.inner.watermarks(tp).await
    }

    async fn committed(
        &self,
        group: &str,
        tp: &TopicPartition,
    ) -> nagare_infra::Result<Option<Offset>> {
        self.inner.committed(group, tp).await
    }

    async fn commit(&self, commit: GroupCommit) -> nagare_infra::Result<()> {
        self.inner.commit(commit).await
    }

    async fn reader(
        &self,
        start: Vec<(TopicPartition, Offset)>,
    ) -> nagare_infra::Result<Box<dyn LogReader>> {
        self.inner.reader(start).await
    }

    async fn subscribe(
        &self,
        group: &str,
        topics: &[String],
    ) -> nagare_infra::Result<Box<dyn GroupConsumer>> {
        self.inner.subscribe(group, topics).await
    }
}

/// A processor running on an [`ObservedLog`] over an embedded log in a temporary directory.
struct Fixture {
    _dir: tempfile::TempDir,
    log: Arc<ObservedLog>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<crate::Result<()>>,
}

impl Fixture {
    async fn start(atomic_append: bool, fail_reply_appends: usize) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let url = format!("embedded://{}", dir.path().display());
        let inner = nagare_infra::open_log(&url).await.unwrap_or_else(|e| panic!("{e}"));
        let topics = Topics::default();
        declare_topics(inner.as_ref(), &topics).await;
        let log = Arc::new(ObservedLog {
            inner,
            atomic_append,
            fail_reply_appends: AtomicUsize::new(fail_reply_appends),
            topics: topics.clone(),
            breaches: Mutex::new(Vec::new()),
            mixed_appends: AtomicUsize::new(0),
        });
        let config =
            ProcessorConfig { group: "processors".into(), snapshot_every: None, batch_size: 16 };
        let shutdown = CancellationToken::new();
        let dyn_log: Arc<dyn EventLog> = log.clone();
        let task =
            tokio::spawn(crate::run_command_processor(dyn_log, topics, config, shutdown.clone()));
        Self { _dir: dir, log, shutdown, task }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        match tokio::time::timeout(PATIENCE, self.task).await {
            Ok(Ok(Ok(()))) => {}
            other => panic!("processor did not stop cleanly: {other:?}"),
        }
    }

    /// Appends a command as the gateway does.
    async fn send(&self, command: &Command, command_id: &str) {
        let header =
            |name: &str, value: &str| (name.to_owned(), Bytes::copy_from_slice(value.as_bytes()));
        let record = OutgoingRecord {
            topic: self.log.topics.commands(),
            partition: None,
            record: Record {
                key: Some(Bytes::copy_from_slice(command.aggregate_id().as_bytes())),
                value: Some(Bytes::from(codec::encode_command(command))),
                headers: vec![
                    header(metadata::COMMAND_TYPE, command.command_type()),
                    header(metadata::COMMAND_ID, command_id),
                    header(metadata::REPLY_TO, GATEWAY),
                ],
                timestamp_ms: 0,
            },
        };
        if let Err(error) = self.log.inner.append(vec![record], None).await {
            panic!("append command: {error}");
        }
    }

    /// Waits for the `count`-th acceptance of a command id; returns every acceptance so far.
    async fn accepted(&self, command_id: &str, count: usize) -> Vec<CommandAccepted> {
        let started = Instant::now();
        loop {
            let accepted: Vec<CommandAccepted> = self
                .read_topic(&self.log.topics.replies())
                .await
                .into_iter()
                .filter(|r| {
                    r.record.header(metadata::COMMAND_ID).map(|v| v.as_ref())
                        == Some(command_id.as_bytes())
                })
                .filter_map(|r| match r.record.value.as_deref().map(codec::decode_reply) {
                    Some(Ok(CommandReply::Accepted(accepted))) => Some(accepted),
                    _ => None,
                })
                .collect();
            if accepted.len() >= count {
                return accepted;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "no {count} acceptances of {command_id}: {accepted:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn read_topic(&self, topic: &str) -> Vec<StoredRecord> {
        let mut all = Vec::new();
        let count = self.log.inner.partition_count(topic).await.unwrap_or(0);
        for partition in 0..count {
            let tp = TopicPartition::new(topic, partition);
            let mut next = 0;
            while let Ok(records) = self.log.inner.read(&tp, next, 1_000).await {
                let Some(last) = records.last() else { break };
                next = last.offset + 1;
                all.extend(records);
            }
        }
        all
    }
}

async fn declare_topics(log: &dyn EventLog, topics: &Topics) {
    let mut specs = vec![
        (topics.commands(), PARTITIONS, Cleanup::Delete { retention_ms: None }),
        (topics.snapshots(), PARTITIONS, Cleanup::Compact),
        (topics.replies(), 1, Cleanup::Delete { retention_ms: None }),
        (topics.deadletter(), 1, Cleanup::Delete { retention_ms: None }),
    ];
    for events in topics.all_events() {
        specs.push((events, PARTITIONS, Cleanup::Delete { retention_ms: None }));
    }
    for (name, partitions, cleanup) in specs {
        if let Err(error) = log.ensure_topic(&TopicSpec { name, partitions, cleanup }).await {
            panic!("ensure topic: {error}");
        }
    }
}

fn create_category(n: usize) -> Command {
    Command::CreateCategory(CreateCategory {
        category_id: nagare_schemas::values::EntityId::derived_from(&format!("category-{n}"))
            .to_string(),
        name: format!("Tea {n}"),
        description: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_atomic_appends_replies_follow_their_durable_events() {
    let fixture = Fixture::start(false, 0).await;
    for n in 0..12 {
        fixture.send(&create_category(n), &format!("c-{n}")).await;
    }
    for n in 0..12 {
        let accepted = fixture.accepted(&format!("c-{n}"), 1).await;
        assert!(!accepted[0].duplicate);
    }
    assert_eq!(fixture.log.breaches(), Vec::<String>::new());
    assert_eq!(fixture.log.mixed_appends.load(Ordering::SeqCst), 0);
    fixture.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_atomic_appends_events_and_replies_share_one_append() {
    let fixture = Fixture::start(true, 0).await;
    fixture.send(&create_category(1), "c-1").await;
    fixture.accepted("c-1", 1).await;
    assert_eq!(fixture.log.mixed_appends.load(Ordering::SeqCst), 1);
    fixture.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_reply_write_leaves_the_effect_once_and_a_retry_is_a_duplicate() {
    let fixture = Fixture::start(false, 1).await;
    let command = create_category(7);
    fixture.send(&command, "c-7").await;
    // The events were written, the reply was lost: the processor rebuilds the partition from
    // the events and answers the re-read command from its receipt.
    let first = fixture.accepted("c-7", 1).await;
    assert!(first[0].duplicate, "{first:?}");
    fixture.send(&command, "c-7").await;
    let both = fixture.accepted("c-7", 2).await;
    assert!(both[1].duplicate);
    assert_eq!((both[1].version, &both[1].positions), (first[0].version, &first[0].positions));
    let events = fixture.read_topic(&fixture.log.topics.events(AggregateType::Category)).await;
    assert_eq!(events.len(), 1, "applied exactly once");
    assert_eq!(fixture.log.breaches(), Vec::<String>::new());
    fixture.stop().await;
}
