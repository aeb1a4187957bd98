//! The real command processor on the embedded log, seen through a wrapper that reports the
//! log as having no atomic appends (as Kafka without transactions) and can fail the writes that
//! carry a batch's replies: losing them as a crash between the two steps would, or failing
//! batch writes while commands keep coming.

use std::collections::HashMap;
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
use nagare_schemas::commands::{AddStock, Command, CreateCategory, CreateProduct};
use nagare_schemas::events::AggregateType;
use nagare_schemas::metadata;
use nagare_schemas::replies::{CommandAccepted, CommandReply, RejectionCode};
use nagare_schemas::reply_handoff::{HandoffRegistration, ReplyHandoff};
use nagare_schemas::topics::Topics;
use nagare_schemas::values::EntityId;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::ProcessorConfig;

const PARTITIONS: u32 = 2;
const GATEWAY: &str = "gateway-test";
/// The processor's consumer group.
const GROUP: &str = "processors";
const PATIENCE: Duration = Duration::from_secs(20);

/// Which of the appends carrying replies fail, by their number (0 for the first).
type FailRule = fn(usize) -> bool;
const NEVER: FailRule = |_| false;
const FIRST: FailRule = |n| n == 0;
const EVERY_THIRD: FailRule = |n| n % 3 == 1;

/// The embedded log, reporting `atomic_append` as configured, checking every reply against the
/// log at the moment it is appended, and failing the appends carrying replies that
/// `fail_reply_append` picks.
#[derive(Debug)]
struct ObservedLog {
    inner: Arc<dyn EventLog>,
    atomic_append: bool,
    fail_reply_append: FailRule,
    /// Appends that carried replies, failed ones included.
    reply_appends: AtomicUsize,
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

    fn failed_reply_appends(&self) -> usize {
        let made = self.reply_appends.load(Ordering::SeqCst);
        (0..made).filter(|&n| (self.fail_reply_append)(n)).count()
    }

    /// A reply may only name positions the log already holds, and a rejection may only answer
    /// a command whose offset is committed.
    async fn check_replies(&self, records: &[OutgoingRecord]) {
        let named = records
            .iter()
            .filter(|r| r.topic == self.topics.replies())
            .filter_map(|r| r.record.value.as_deref().and_then(|v| codec::decode_reply(v).ok()));
        for reply in named {
            let mut breaches = unwritten_positions(self.inner.as_ref(), &reply).await;
            breaches.extend(uncommitted_command(self.inner.as_ref(), &self.topics, &reply).await);
            self.breaches.lock().extend(breaches);
        }
    }
}

/// For a rejection: its command, if the processor's committed offset does not cover it yet (a
/// crash would have it read and decided again), in words.
async fn uncommitted_command(
    log: &dyn EventLog,
    topics: &Topics,
    reply: &CommandReply,
) -> Vec<String> {
    let CommandReply::Rejected(rejected) = reply else { return Vec::new() };
    for partition in 0..PARTITIONS {
        let tp = TopicPartition::new(topics.commands(), partition);
        let commands = log.read(&tp, 0, 1_000).await.unwrap_or_default();
        let Some(command) = commands.iter().find(|c| {
            c.record.header(metadata::COMMAND_ID).map(|v| v.as_ref())
                == Some(rejected.command_id.as_bytes())
        }) else {
            continue;
        };
        let committed = log.committed(GROUP, &tp).await.ok().flatten().unwrap_or(0);
        if committed <= command.offset {
            return vec![format!(
                "rejection of {} answered before {tp}@{} was committed (committed {committed})",
                rejected.command_id, command.offset
            )];
        }
        return Vec::new();
    }
    vec![format!("rejection of {}, a command not in the log", rejected.command_id)]
}

/// The positions an accepted reply names that the log does not hold yet, in words.
async fn unwritten_positions(log: &dyn EventLog, reply: &CommandReply) -> Vec<String> {
    let CommandReply::Accepted(accepted) = reply else { return Vec::new() };
    let mut unwritten = Vec::new();
    for position in &accepted.positions {
        let tp = TopicPartition::new(position.topic.clone(), position.partition as u32);
        let high = log.watermarks(&tp).await.map(|w| w.high).unwrap_or(0);
        if high <= position.offset as u64 {
            unwritten.push(format!(
                "reply to {} names {tp}@{} before it is written (high {high})",
                accepted.command_id, position.offset
            ));
        }
    }
    unwritten
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
            if (self.fail_reply_append)(self.reply_appends.fetch_add(1, Ordering::SeqCst)) {
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

/// The replies handed over to `GATEWAY` as if it ran in the processor's process, each checked
/// at the moment it arrives: the events it names must already be in the log.
#[derive(Default)]
struct HandedOver {
    replies: Arc<Mutex<Vec<CommandReply>>>,
    breaches: Arc<Mutex<Vec<String>>>,
    registration: Mutex<Option<HandoffRegistration>>,
}

impl HandedOver {
    fn register(&self, handoff: &ReplyHandoff, log: Arc<dyn EventLog>, topics: Topics) {
        let (replies, breaches) = (Arc::clone(&self.replies), Arc::clone(&self.breaches));
        let registration = handoff.register(GATEWAY, move |reply| {
            // The embedded log answers at once; nothing here waits on the processor.
            let unwritten = futures::executor::block_on(async {
                let mut found = unwritten_positions(log.as_ref(), &reply).await;
                found.extend(uncommitted_command(log.as_ref(), &topics, &reply).await);
                found
            });
            breaches.lock().extend(unwritten);
            replies.lock().push(reply);
        });
        *self.registration.lock() = Some(registration);
    }

    async fn wait_for(&self, count: usize) -> Vec<CommandReply> {
        let started = Instant::now();
        while self.replies.lock().len() < count {
            assert!(started.elapsed() < PATIENCE, "{:?} handed over", self.replies.lock());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.replies.lock().clone()
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
    async fn start(
        atomic_append: bool,
        fail_reply_append: FailRule,
        snapshot_every: Option<u64>,
    ) -> Self {
        Self::start_with_handoff(atomic_append, fail_reply_append, snapshot_every, None).await
    }

    /// With `handoff`, the gateway `GATEWAY` is in the processor's process.
    async fn start_with_handoff(
        atomic_append: bool,
        fail_reply_append: FailRule,
        snapshot_every: Option<u64>,
        handoff: Option<&HandedOver>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let url = format!("embedded://{}", dir.path().display());
        let inner = nagare_infra::open_log(&url).await.unwrap_or_else(|e| panic!("{e}"));
        let topics = Topics::default();
        declare_topics(inner.as_ref(), &topics).await;
        let log = Arc::new(ObservedLog {
            inner,
            atomic_append,
            fail_reply_append,
            reply_appends: AtomicUsize::new(0),
            topics: topics.clone(),
            breaches: Mutex::new(Vec::new()),
            mixed_appends: AtomicUsize::new(0),
        });
        let reply_handoff = ReplyHandoff::default();
        if let Some(handed_over) = handoff {
            handed_over.register(&reply_handoff, Arc::clone(&log.inner), topics.clone());
        }
        let config =
            ProcessorConfig { group: GROUP.into(), snapshot_every, batch_size: 16, reply_handoff };
        let shutdown = CancellationToken::new();
        let dyn_log: Arc<dyn EventLog> = log.clone();
        let task =
            tokio::spawn(crate::run_command_processor(dyn_log, topics, config, shutdown.clone()));
        Self { _dir: dir, log, shutdown, task }
    }

    /// Stops the processor; the log stays readable.
    async fn stop(&mut self) {
        self.shutdown.cancel();
        match tokio::time::timeout(PATIENCE, &mut self.task).await {
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
        let answers = self.answers(command_id, |answers| acceptances(answers).len() >= count);
        acceptances(&answers.await)
    }

    /// Waits for the first answer to a command id in the replies topic.
    async fn answer(&self, command_id: &str) -> CommandReply {
        let mut answers = self.answers(command_id, |answers| !answers.is_empty()).await;
        answers.remove(0)
    }

    /// Waits until the answers to a command id in the replies topic are `enough`; returns them.
    async fn answers(
        &self,
        command_id: &str,
        enough: impl Fn(&[CommandReply]) -> bool,
    ) -> Vec<CommandReply> {
        let started = Instant::now();
        loop {
            let answers: Vec<CommandReply> = self
                .read_topic(&self.log.topics.replies())
                .await
                .into_iter()
                .filter(|r| {
                    r.record.header(metadata::COMMAND_ID).map(|v| v.as_ref())
                        == Some(command_id.as_bytes())
                })
                .filter_map(|r| r.record.value.as_deref().and_then(|v| codec::decode_reply(v).ok()))
                .collect();
            if enough(&answers) {
                return answers;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "not enough answers to {command_id}: {answers:?}"
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

/// The acceptances among answers.
fn acceptances(answers: &[CommandReply]) -> Vec<CommandAccepted> {
    let accepted = answers.iter().filter_map(|answer| match answer {
        CommandReply::Accepted(accepted) => Some(accepted.clone()),
        CommandReply::Rejected(_) => None,
    });
    accepted.collect()
}

fn id(seed: &str) -> String {
    EntityId::derived_from(seed).to_string()
}

fn create_category(n: usize) -> Command {
    Command::CreateCategory(CreateCategory {
        category_id: id(&format!("category-{n}")),
        name: format!("Tea {n}"),
        description: None,
    })
}

fn create_product(product_id: &str, category_id: &str) -> Command {
    Command::CreateProduct(CreateProduct {
        product_id: product_id.into(),
        category_id: category_id.into(),
        name: format!("Product {product_id}"),
        description: None,
        price: 100,
        initial_stock: 10,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_atomic_appends_replies_follow_their_durable_events() {
    let mut fixture = Fixture::start(false, NEVER, None).await;
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
    let mut fixture = Fixture::start(true, NEVER, None).await;
    fixture.send(&create_category(1), "c-1").await;
    fixture.accepted("c-1", 1).await;
    assert_eq!(fixture.log.mixed_appends.load(Ordering::SeqCst), 1);
    fixture.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_reply_write_leaves_the_effect_once_and_a_retry_is_a_duplicate() {
    let mut fixture = Fixture::start(false, FIRST, None).await;
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

/// Every third batch write fails while commands keep coming. The partitions of a failed batch
/// are rebuilt from the log and their commands read again from the committed offset: every
/// command is answered once, and each product's versions count every command once, without
/// a gap. With atomic appends a failed write leaves nothing; without, the write of a batch's
/// replies and commit fails after its events were written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_batch_writes_are_decided_again_and_every_command_applied_once() {
    failed_batch_writes_leave_every_command_applied_once(true).await;
    failed_batch_writes_leave_every_command_applied_once(false).await;
}

async fn failed_batch_writes_leave_every_command_applied_once(atomic_append: bool) {
    let mut fixture = Fixture::start(atomic_append, EVERY_THIRD, Some(10)).await;
    fixture.send(&create_category(0), "c-0").await;
    fixture.accepted("c-0", 1).await;
    let products: Vec<String> = (0..4).map(|n| id(&format!("product-{n}"))).collect();
    for (n, product) in products.iter().enumerate() {
        fixture.send(&create_product(product, &id("category-0")), &format!("p-{n}")).await;
        fixture.accepted(&format!("p-{n}"), 1).await;
    }
    let fixture_ref = &fixture;
    let senders = (0..8).map(|client| {
        let product = products[client % products.len()].clone();
        async move {
            for n in 0..25 {
                let add = Command::AddStock(AddStock { product_id: product.clone(), quantity: 1 });
                fixture_ref.send(&add, &format!("s-{client}-{n}")).await;
            }
        }
    });
    futures::future::join_all(senders).await;
    let mut versions: HashMap<String, Vec<i64>> = HashMap::new();
    for client in 0..8 {
        for n in 0..25 {
            match &fixture.accepted(&format!("s-{client}-{n}"), 1).await[..] {
                // Without atomic appends the answer of a batch whose replies were lost is the one
                // given when its commands are read again: from their receipts.
                [accepted] if !accepted.duplicate || !atomic_append => {
                    versions
                        .entry(accepted.aggregate_id.clone())
                        .or_default()
                        .push(accepted.version);
                }
                other => panic!("s-{client}-{n} answered {other:?}"),
            }
        }
    }
    // Stopped, so that no later reply can hide from the count.
    fixture.stop().await;
    let replies = fixture.read_topic(&fixture.log.topics.replies()).await;
    for client in 0..8 {
        for n in 0..25 {
            let command_id = format!("s-{client}-{n}");
            let answers = replies
                .iter()
                .filter(|r| {
                    r.record.header(metadata::COMMAND_ID).map(|v| v.as_ref())
                        == Some(command_id.as_bytes())
                })
                .count();
            assert_eq!(answers, 1, "{command_id} answered once");
        }
    }
    for product in &products {
        let mut seen = versions.remove(product).unwrap_or_default();
        seen.sort_unstable();
        // Version 1 is the product's creation; each of the 50 commands added one.
        assert_eq!(seen, (2..=51).collect::<Vec<i64>>(), "versions of {product}");
    }
    assert!(fixture.log.failed_reply_appends() > 0, "no batch write failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_to_a_gateway_of_this_process_are_handed_over_once_durable_and_not_written() {
    for atomic_append in [true, false] {
        let handed_over = HandedOver::default();
        let mut fixture =
            Fixture::start_with_handoff(atomic_append, NEVER, None, Some(&handed_over)).await;
        for n in 0..5 {
            fixture.send(&create_category(n), &format!("c-{n}")).await;
        }
        let replies = handed_over.wait_for(5).await;
        fixture.stop().await;
        let mut ids: Vec<&str> = replies.iter().map(CommandReply::command_id).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["c-0", "c-1", "c-2", "c-3", "c-4"], "atomic: {atomic_append}");
        assert!(replies.iter().all(|r| matches!(r, CommandReply::Accepted(_))), "{replies:?}");
        assert_eq!(handed_over.breaches.lock().clone(), Vec::<String>::new());
        assert!(fixture.read_topic(&fixture.log.topics.replies()).await.is_empty());
        assert_eq!(fixture.log.breaches(), Vec::<String>::new());
    }
}

/// A rejected command leaves no event to recognise it by, so if it were read again after a
/// crash it would be decided again: its rejection is answered, written or handed over, only
/// once the command offset is committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_atomic_appends_a_rejection_is_answered_once_its_command_is_committed() {
    for in_process in [false, true] {
        let handed_over = HandedOver::default();
        let gateway = in_process.then_some(&handed_over);
        let mut fixture = Fixture::start_with_handoff(false, NEVER, None, gateway).await;
        let unknown = AddStock { product_id: id("no-such-product"), quantity: 1 };
        fixture.send(&create_category(0), "c-0").await;
        fixture.send(&Command::AddStock(unknown), "s-0").await;
        fixture.send(&create_category(1), "c-1").await;
        let rejection = if in_process {
            let replies = handed_over.wait_for(3).await;
            replies.into_iter().find(|r| r.command_id() == "s-0")
        } else {
            Some(fixture.answer("s-0").await)
        };
        fixture.stop().await;
        match rejection {
            Some(CommandReply::Rejected(rejected)) => {
                assert_eq!(rejected.code, RejectionCode::NotFound, "{rejected:?}");
            }
            other => panic!("s-0 answered {other:?} (in process: {in_process})"),
        }
        assert_eq!(fixture.log.breaches(), Vec::<String>::new(), "in process: {in_process}");
        assert_eq!(handed_over.breaches.lock().clone(), Vec::<String>::new());
    }
}
