use std::collections::BTreeMap;
use std::sync::LazyLock;

use nagare_infra::TopicPartition;
use nagare_schemas::commands::{CreateCategory, CreateProduct};
use nagare_schemas::events::AggregateType;

use super::*;
use crate::envelope::{DEADLETTER_REASON, header_u64};

const CATEGORY: &str = "0192f0c1-7a5e-7d2c-9b1e-00000000000c";
const PRODUCT: &str = "0192f0c1-7a5e-7d2c-9b1e-000000000001";
const GATEWAY: &str = "gateway-1";

fn topics() -> Topics {
    Topics::default()
}

/// No gateway in this process: every reply is a record.
static NO_HANDOFF: LazyLock<ReplyHandoff> = LazyLock::new(ReplyHandoff::default);

fn ctx<'a>(topics: &'a Topics, snapshot_every: Option<u64>) -> BatchContext<'a> {
    BatchContext { topics, group: "processors", partition: 3, snapshot_every, handoff: &NO_HANDOFF }
}

fn create_category(name: &str) -> Command {
    Command::CreateCategory(CreateCategory {
        category_id: CATEGORY.into(),
        name: name.into(),
        description: None,
    })
}

fn create_product() -> Command {
    Command::CreateProduct(CreateProduct {
        product_id: PRODUCT.into(),
        category_id: CATEGORY.into(),
        name: "Sencha".into(),
        description: None,
        price: 500,
        initial_stock: 5,
    })
}

fn stored(offset: Offset, command: &Command, command_id: &str) -> StoredRecord {
    raw(offset, command.aggregate_id(), Some(codec::encode_command(command)), Some(command_id))
}

fn raw(
    offset: Offset,
    key: &str,
    value: Option<Vec<u8>>,
    command_id: Option<&str>,
) -> StoredRecord {
    let mut headers = vec![header(metadata::REPLY_TO, GATEWAY)];
    if let Some(id) = command_id {
        headers.push(header(metadata::COMMAND_ID, id));
    }
    StoredRecord {
        topic: topics().commands(),
        partition: 3,
        offset,
        record: Record {
            key: Some(Bytes::copy_from_slice(key.as_bytes())),
            value: value.map(Bytes::from),
            headers,
            timestamp_ms: 0,
        },
    }
}

/// The written answers: acceptances first, then rejections (written after the commit).
fn replies(plan: &PlannedBatch) -> Vec<CommandReply> {
    plan.replies
        .iter()
        .chain(&plan.rejections)
        .filter(|r| r.topic == topics().replies())
        .filter_map(|r| r.record.value.as_deref().and_then(|v| codec::decode_reply(v).ok()))
        .collect()
}

fn records_on(plan: &PlannedBatch, topic: &str) -> Vec<OutgoingRecord> {
    let written = plan.records.iter().chain(&plan.replies).chain(&plan.rejections);
    written.filter(|r| r.topic == topic).cloned().collect()
}

#[test]
fn an_accepted_command_writes_its_event_reply_and_commit() {
    let topics = topics();
    let mut state = PartitionState::default();
    state.next_event_offsets.insert(topics.events(AggregateType::Category), 7);
    let plan = plan_batch(
        &ctx(&topics, None),
        &mut state,
        &mut Catalog::new(),
        &[stored(41, &create_category("Tea"), "cmd-1")],
    );

    let events = records_on(&plan, &topics.events(AggregateType::Category));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].partition, Some(3));
    assert_eq!(events[0].record.key.as_deref(), Some(CATEGORY.as_bytes()));
    let event = &events[0].record;
    assert_eq!(header_str(event, metadata::EVENT_TYPE), Some("CategoryCreated"));
    assert_eq!(header_str(event, metadata::AGGREGATE_TYPE), Some("Category"));
    assert_eq!(header_str(event, metadata::AGGREGATE_ID), Some(CATEGORY));
    assert_eq!(header_u64(event, metadata::AGGREGATE_VERSION), Some(1));
    assert_eq!(header_str(event, metadata::COMMAND_ID), Some("cmd-1"));
    assert_eq!(header_str(event, metadata::CORRELATION_ID), Some("cmd-1"));
    assert_eq!(header_str(event, metadata::CAUSATION_ID), Some("cmd-1"));
    assert_eq!(plan.expected[0].offset, 7);

    let reply_records = records_on(&plan, &topics.replies());
    assert_eq!(reply_records[0].record.key.as_deref(), Some(GATEWAY.as_bytes()));
    let [CommandReply::Accepted(accepted)] = &replies(&plan)[..] else { panic!("{plan:?}") };
    assert_eq!((accepted.version, accepted.duplicate), (1, false));
    assert_eq!(accepted.positions, vec![to_log_position(&plan.expected[0])]);
    let commit = plan.commit.as_ref().map(|c| c.offsets.clone());
    assert_eq!(commit, Some(vec![(TopicPartition::new(topics.commands(), 3), 42)]));
}

#[test]
fn a_repeated_command_is_answered_from_its_receipt() {
    let topics = topics();
    let mut state = PartitionState::default();
    let command = create_category("Tea");
    let plan = plan_batch(
        &ctx(&topics, None),
        &mut state,
        &mut Catalog::new(),
        &[stored(0, &command, "cmd-1"), stored(1, &command, "cmd-1")],
    );
    assert_eq!((plan.accepted, plan.duplicates), (1, 1));
    assert_eq!(records_on(&plan, &topics.events(AggregateType::Category)).len(), 1);
    let [CommandReply::Accepted(first), CommandReply::Accepted(second)] = &replies(&plan)[..]
    else {
        panic!("{plan:?}")
    };
    assert!(second.duplicate);
    assert_eq!((first.version, &first.positions), (second.version, &second.positions));
}

#[test]
fn a_later_command_of_the_batch_sees_the_earlier_ones() {
    let topics = topics();
    let mut state = PartitionState::default();
    let plan = plan_batch(
        &ctx(&topics, None),
        &mut state,
        &mut Catalog::new(),
        &[
            stored(0, &create_category("Tea"), "cmd-1"),
            stored(1, &create_product(), "cmd-2"),
            stored(2, &create_category("Again"), "cmd-3"),
        ],
    );
    assert_eq!((plan.accepted, plan.rejected), (2, 1));
    let codes: Vec<_> = replies(&plan)
        .into_iter()
        .map(|r| match r {
            CommandReply::Accepted(_) => None,
            CommandReply::Rejected(r) => Some(r.code),
        })
        .collect();
    assert_eq!(codes, vec![None, None, Some(RejectionCode::Conflict)]);
    assert_eq!((plan.replies.len(), plan.rejections.len()), (2, 1), "rejections apart");
}

#[test]
fn poison_records_are_dead_lettered_and_the_batch_goes_on() {
    let topics = topics();
    let mut state = PartitionState::default();
    let plan = plan_batch(
        &ctx(&topics, None),
        &mut state,
        &mut Catalog::new(),
        &[
            raw(0, CATEGORY, Some(b"garbage".to_vec()), Some("bad-1")),
            raw(1, CATEGORY, Some(codec::encode_command(&create_category("Tea"))), None),
            stored(2, &create_category("Tea"), "cmd-ok"),
        ],
    );
    let dead = records_on(&plan, &topics.deadletter());
    assert_eq!(dead.len(), 2);
    assert!(dead.iter().all(|d| d.record.header(DEADLETTER_REASON).is_some()));
    assert_eq!(dead[0].record.value.as_deref(), Some(&b"garbage"[..]));
    let replies = replies(&plan);
    // The undecodable one is answered (its id was readable); the id-less one cannot be.
    assert_eq!(replies.len(), 2);
    assert!(matches!(&replies[0], CommandReply::Accepted(a) if a.command_id == "cmd-ok"));
    assert!(matches!(&replies[1], CommandReply::Rejected(r) if r.command_id == "bad-1"));
    assert_eq!(plan.commit.map(|c| c.offsets[0].1), Some(3));
}

#[test]
fn a_command_keyed_by_another_id_is_dead_lettered() {
    let topics = topics();
    let command = create_category("Tea");
    let misrouted = raw(0, PRODUCT, Some(codec::encode_command(&command)), Some("cmd-1"));
    let plan = plan_batch(
        &ctx(&topics, None),
        &mut PartitionState::default(),
        &mut Catalog::new(),
        &[misrouted],
    );
    assert_eq!(plan.dead_lettered, 1);
    assert!(records_on(&plan, &topics.events(AggregateType::Category)).is_empty());
}

#[test]
fn the_replies_for_a_gateway_of_this_process_are_handed_over_not_written() {
    let topics = topics();
    let handoff = ReplyHandoff::default();
    let _registration = handoff.register(GATEWAY, |_| {});
    let mut elsewhere = stored(1, &create_category("Tea"), "cmd-2");
    for (name, value) in &mut elsewhere.record.headers {
        if name == metadata::REPLY_TO {
            *value = Bytes::from_static(b"gateway-in-another-process");
        }
    }
    let plan = plan_batch(
        &BatchContext { handoff: &handoff, ..ctx(&topics, None) },
        &mut PartitionState::default(),
        &mut Catalog::new(),
        &[stored(0, &create_category("Tea"), "cmd-1"), elsewhere],
    );
    let handed: Vec<&str> = plan.handed_over.iter().map(|(_, r)| r.command_id()).collect();
    assert_eq!(handed, ["cmd-1"]);
    let written: Vec<String> = replies(&plan).iter().map(|r| r.command_id().to_owned()).collect();
    assert_eq!(written, ["cmd-2"], "the other process's gateway reads its reply from the topic");
    assert_eq!((plan.accepted, plan.rejected), (1, 1), "the second create finds the category");
}

#[test]
fn no_reply_is_written_without_reply_to() {
    let topics = topics();
    let mut command = stored(0, &create_category("Tea"), "cmd-1");
    command.record.headers.retain(|(name, _)| name != metadata::REPLY_TO);
    let plan = plan_batch(
        &ctx(&topics, None),
        &mut PartitionState::default(),
        &mut Catalog::new(),
        &[command],
    );
    assert!(records_on(&plan, &topics.replies()).is_empty());
    assert_eq!(plan.accepted, 1);
}

#[test]
fn crossing_the_interval_snapshots_changed_aggregates_and_marks_the_batch_start() {
    let topics = topics();
    let mut state = PartitionState::default();
    let category_events = topics.events(AggregateType::Category);
    state.next_event_offsets.insert(category_events.clone(), 10);
    let plan = plan_batch(
        &ctx(&topics, Some(2)),
        &mut state,
        &mut Catalog::new(),
        &[stored(0, &create_category("Tea"), "cmd-1"), stored(1, &create_product(), "cmd-2")],
    );
    let snapshots: Vec<_> = records_on(&plan, &topics.snapshots())
        .iter()
        .filter_map(|r| r.record.value.as_deref().and_then(|v| SnapshotRecord::from_bytes(v).ok()))
        .flatten()
        .collect();
    assert_eq!(snapshots.len(), 3, "{snapshots:?}");
    assert!(records_on(&plan, &topics.snapshots()).iter().all(|r| r.partition == Some(3)));
    let Some(SnapshotRecord::Marker(marker)) = snapshots.last() else { panic!("{snapshots:?}") };
    assert_eq!(marker.events, BTreeMap::from([(category_events, 10)]));
    assert_eq!((state.events_since_marker, state.dirty.len()), (0, 0));

    let plan = plan_batch(
        &ctx(&topics, Some(2)),
        &mut state,
        &mut Catalog::new(),
        &[stored(2, &create_category("Tea"), "cmd-3")],
    );
    assert!(records_on(&plan, &topics.snapshots()).is_empty());
}
