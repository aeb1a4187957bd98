//! Deciding one batch of commands of one partition, in memory: the output is every record the
//! batch writes (events, dead letters and snapshots; the replies apart, since a reply may only
//! follow the events it names, see [`super::write`]), the replies to hand over in memory to
//! gateways of this process instead (see `nagare_schemas::reply_handoff`) and the command
//! offset to commit. The state is updated as commands are decided, so the next command of the
//! batch sees the previous one's events; if the write fails, the caller throws the state away.

use std::borrow::Cow;

use bytes::Bytes;
use nagare_infra::{GroupCommit, Offset, OutgoingRecord, Position, Record, StoredRecord};
use nagare_schemas::codec;
use nagare_schemas::commands::Command;
use nagare_schemas::events::Event;
use nagare_schemas::metadata;
use nagare_schemas::replies::{
    CommandAccepted, CommandRejected, CommandReply, LogPosition, RejectionCode,
};
use nagare_schemas::reply_handoff::{Recipient, ReplyHandoff};
use nagare_schemas::topics::Topics;

use super::partition::{AggregateEntry, PartitionState};
use crate::aggregates::Rejection;
use crate::catalog::Catalog;
use crate::envelope::{self, header, header_str, now_ms};
use crate::receipts::Receipt;
use crate::snapshot::{AggregateSnapshot, PartitionMarker, SnapshotRecord};

/// What the batch is decided for.
#[derive(Debug)]
pub(crate) struct BatchContext<'a> {
    pub(crate) topics: &'a Topics,
    pub(crate) group: &'a str,
    pub(crate) partition: u32,
    pub(crate) snapshot_every: Option<u64>,
    /// The gateways of this process, whose replies are handed over rather than written.
    pub(crate) handoff: &'a ReplyHandoff,
}

/// Everything one batch writes.
#[derive(Debug, Default)]
pub(crate) struct PlannedBatch {
    /// Events first, then dead letters and snapshots.
    pub(crate) records: Vec<OutgoingRecord>,
    /// The acceptances for waiting gateways of other processes; they name positions of
    /// `records`.
    pub(crate) replies: Vec<OutgoingRecord>,
    /// The rejections for waiting gateways of other processes, written only once the command
    /// offset is committed (see [`super::write`]).
    pub(crate) rejections: Vec<OutgoingRecord>,
    /// The answers to gateways of this process, handed over once `records` are durable.
    pub(crate) handed_over: Vec<(Recipient, CommandReply)>,
    /// Where the leading event records must land (the replies already name these positions).
    pub(crate) expected: Vec<Position>,
    pub(crate) commit: Option<GroupCommit>,
    pub(crate) accepted: usize,
    pub(crate) duplicates: usize,
    pub(crate) rejected: usize,
    pub(crate) dead_lettered: usize,
}

#[derive(Debug, Default)]
struct Output {
    events: Vec<OutgoingRecord>,
    expected: Vec<Position>,
    replies: Vec<OutgoingRecord>,
    rejections: Vec<OutgoingRecord>,
    handed_over: Vec<(Recipient, CommandReply)>,
    dead_letters: Vec<OutgoingRecord>,
}

/// The command types whose rules ask the catalog; a batch holding one catches the catalog up.
pub(crate) fn needs_catalog(record: &Record) -> bool {
    match header_str(record, metadata::COMMAND_TYPE) {
        Some(t) => matches!(t, "CreateProduct" | "UpdateProduct" | "DeleteCategory" | "PlaceOrder"),
        // Unknown until decoded: be safe.
        None => true,
    }
}

pub(crate) fn plan_batch(
    ctx: &BatchContext<'_>,
    state: &mut PartitionState,
    catalog: &mut Catalog,
    commands: &[StoredRecord],
) -> PlannedBatch {
    let start_offsets = state.next_event_offsets.clone();
    let mut out = Output::default();
    let mut plan = PlannedBatch::default();
    for stored in commands {
        match handle_command(ctx, state, catalog, stored, &mut out) {
            Outcome::Accepted => plan.accepted += 1,
            Outcome::Duplicate => plan.duplicates += 1,
            Outcome::Rejected => plan.rejected += 1,
            Outcome::DeadLettered => plan.dead_lettered += 1,
        }
    }
    let snapshots = snapshot_records(ctx, state, start_offsets);
    plan.expected = out.expected;
    plan.records = out.events;
    plan.replies = out.replies;
    plan.rejections = out.rejections;
    plan.handed_over = out.handed_over;
    plan.records.extend(out.dead_letters);
    plan.records.extend(snapshots);
    plan.commit = commands.last().map(|last| GroupCommit {
        group: ctx.group.to_owned(),
        offsets: vec![(last.topic_partition(), last.offset + 1)],
    });
    plan
}

enum Outcome {
    Accepted,
    Duplicate,
    Rejected,
    DeadLettered,
}

fn handle_command(
    ctx: &BatchContext<'_>,
    state: &mut PartitionState,
    catalog: &mut Catalog,
    stored: &StoredRecord,
    out: &mut Output,
) -> Outcome {
    let record = &stored.record;
    let reply_to = header_str(record, metadata::REPLY_TO);
    let Some(command_id) = header_str(record, metadata::COMMAND_ID).filter(|id| !id.is_empty())
    else {
        out.dead_letters.push(dead_letter(ctx, stored, "missing command_id header"));
        return Outcome::DeadLettered;
    };
    let key = record.key.as_deref().and_then(|k| std::str::from_utf8(k).ok()).unwrap_or("");
    let reject = |out: &mut Output, aggregate_id: &str, rejection: Rejection| {
        tracing::debug!(command_id, aggregate_id, code = rejection.code.as_str(), field = rejection.field.as_deref(), message = %rejection.message, "command rejected");
        let reply = CommandReply::Rejected(CommandRejected {
            command_id: command_id.to_owned(),
            aggregate_id: aggregate_id.to_owned(),
            code: rejection.code,
            field: rejection.field,
            message: rejection.message,
        });
        push_reply(ctx, out, reply_to, command_id, reply);
    };

    let decoded = match record.value.as_deref() {
        None => Err("the command record has no value".to_owned()),
        Some(bytes) => codec::decode_command(bytes).map_err(|e| e.to_string()),
    };
    let command = match decoded {
        Ok(command) => command,
        Err(reason) => {
            out.dead_letters.push(dead_letter(ctx, stored, &reason));
            let message = format!("the command could not be decoded: {reason}");
            reject(
                out,
                key,
                Rejection { code: RejectionCode::ValidationFailed, field: None, message },
            );
            return Outcome::DeadLettered;
        }
    };
    let aggregate_id = command.aggregate_id().to_owned();
    if key != aggregate_id {
        // Partition ownership rests on commands being keyed by their aggregate id.
        let reason = "the command's log key is not its aggregate id";
        out.dead_letters.push(dead_letter(ctx, stored, reason));
        reject(out, &aggregate_id, Rejection::validation(crate::aggregates::ID_FIELD, reason));
        return Outcome::DeadLettered;
    }

    let aggregate_key = (command.aggregate_type(), aggregate_id.clone());
    let entry = state.entry(&aggregate_key);
    if let Some(receipt) = entry.and_then(|e| e.receipts.get(command_id)) {
        let reply = accepted(command_id, &aggregate_id, receipt, true);
        push_reply(ctx, out, reply_to, command_id, reply);
        return Outcome::Duplicate;
    }
    let fresh;
    let entry = match entry {
        Some(entry) => entry,
        None => {
            fresh = AggregateEntry::new(aggregate_key.0);
            &fresh
        }
    };
    let events = match entry.state.decide(&command, catalog) {
        Ok(events) => events,
        Err(rejection) => {
            reject(out, &aggregate_id, rejection);
            return Outcome::Rejected;
        }
    };
    let correlation_id = header_str(record, metadata::CORRELATION_ID).unwrap_or(command_id);
    let mut version = entry.version;
    for event in &events {
        version += 1;
        let position =
            write_event(ctx, state, &command, event, version, command_id, correlation_id, out);
        catalog.apply(event, version);
        state.apply(event, version, Some(command_id), to_log_position(&position));
    }
    let receipt = state
        .entry(&aggregate_key)
        .and_then(|e| e.receipts.get(command_id))
        .cloned()
        .unwrap_or(Receipt { version, positions: Vec::new() });
    let reply = accepted(command_id, &aggregate_id, &receipt, false);
    push_reply(ctx, out, reply_to, command_id, reply);
    Outcome::Accepted
}

/// Adds an event record at the partition's next offset of its topic; returns that position.
#[allow(clippy::too_many_arguments)]
fn write_event(
    ctx: &BatchContext<'_>,
    state: &mut PartitionState,
    command: &Command,
    event: &Event,
    version: u64,
    command_id: &str,
    correlation_id: &str,
    out: &mut Output,
) -> Position {
    let aggregate_type = event.aggregate_type();
    let topic = ctx.topics.events(aggregate_type);
    let next = state.next_event_offsets.entry(topic.clone()).or_insert(0);
    let position = Position { topic: topic.clone(), partition: ctx.partition, offset: *next };
    *next += 1;
    out.events.push(OutgoingRecord {
        topic,
        partition: Some(ctx.partition),
        record: Record {
            key: Some(Bytes::copy_from_slice(command.aggregate_id().as_bytes())),
            value: Some(Bytes::from(codec::encode_event(event))),
            headers: vec![
                header(metadata::EVENT_TYPE, event.event_type()),
                header(metadata::AGGREGATE_TYPE, aggregate_type.as_str()),
                header(metadata::AGGREGATE_ID, event.aggregate_id()),
                header(metadata::AGGREGATE_VERSION, version.to_string()),
                header(metadata::COMMAND_ID, command_id),
                header(metadata::CORRELATION_ID, correlation_id),
                header(metadata::CAUSATION_ID, command_id),
            ],
            timestamp_ms: now_ms(),
        },
    });
    out.expected.push(position.clone());
    position
}

fn accepted(
    command_id: &str,
    aggregate_id: &str,
    receipt: &Receipt,
    duplicate: bool,
) -> CommandReply {
    CommandReply::Accepted(CommandAccepted {
        command_id: command_id.to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        version: i64::try_from(receipt.version).unwrap_or(i64::MAX),
        positions: receipt.positions.clone(),
        duplicate,
    })
}

/// Replies are keyed by the waiting gateway's instance id; without one nobody waits. A gateway
/// of this process gets its reply handed over, any other a reply record.
fn push_reply(
    ctx: &BatchContext<'_>,
    out: &mut Output,
    reply_to: Option<&str>,
    command_id: &str,
    reply: CommandReply,
) {
    let Some(reply_to) = reply_to else { return };
    if let Some(recipient) = ctx.handoff.recipient(reply_to) {
        out.handed_over.push((recipient, reply));
        return;
    }
    let written = if matches!(reply, CommandReply::Rejected(_)) {
        &mut out.rejections
    } else {
        &mut out.replies
    };
    written.push(OutgoingRecord {
        topic: ctx.topics.replies(),
        partition: None,
        record: Record {
            key: Some(Bytes::copy_from_slice(reply_to.as_bytes())),
            value: Some(Bytes::from(codec::encode_reply(&reply))),
            headers: vec![header(metadata::COMMAND_ID, command_id)],
            timestamp_ms: now_ms(),
        },
    });
}

/// The original record, untouched, plus why and where from.
fn dead_letter(ctx: &BatchContext<'_>, stored: &StoredRecord, reason: &str) -> OutgoingRecord {
    tracing::warn!(tp = %stored.topic_partition(), offset = stored.offset, reason, "command dead-lettered");
    let mut record = stored.record.clone();
    record.headers.push(header(envelope::DEADLETTER_REASON, reason));
    record.headers.push(header(envelope::DEADLETTER_SOURCE_TOPIC, &stored.topic));
    record
        .headers
        .push(header(envelope::DEADLETTER_SOURCE_PARTITION, stored.partition.to_string()));
    record.headers.push(header(envelope::DEADLETTER_SOURCE_OFFSET, stored.offset.to_string()));
    OutgoingRecord { topic: ctx.topics.deadletter(), partition: None, record }
}

/// When the interval is crossed: a snapshot of every aggregate changed since the last marker,
/// then a marker at the offsets the batch started from (see `crate::snapshot`).
fn snapshot_records(
    ctx: &BatchContext<'_>,
    state: &mut PartitionState,
    start_offsets: std::collections::BTreeMap<String, Offset>,
) -> Vec<OutgoingRecord> {
    let Some(every) = ctx.snapshot_every else { return Vec::new() };
    if state.events_since_marker < every.max(1) {
        return Vec::new();
    }
    let topic = ctx.topics.snapshots();
    let mut pending: Vec<SnapshotRecord> = state
        .dirty
        .iter()
        .filter_map(|key| {
            state.aggregates.get(key).map(|entry| {
                SnapshotRecord::Aggregate(Box::new(AggregateSnapshot {
                    aggregate_type: key.0,
                    aggregate_id: Cow::Borrowed(&key.1),
                    version: entry.version,
                    state: Cow::Borrowed(&entry.state),
                    receipts: Cow::Borrowed(&entry.receipts),
                }))
            })
        })
        .collect();
    pending.push(SnapshotRecord::Marker(PartitionMarker { events: start_offsets }));
    let encoded: Result<Vec<_>, String> =
        pending.iter().map(|snapshot| snapshot.to_outgoing(&topic, ctx.partition)).collect();
    match encoded {
        Ok(records) => {
            state.dirty.clear();
            state.events_since_marker = 0;
            records
        }
        Err(reason) => {
            // Without every snapshot the marker's promise would not hold: write none this time.
            tracing::error!(%reason, "snapshot could not be encoded; skipped");
            Vec::new()
        }
    }
}

pub(crate) fn to_log_position(position: &Position) -> LogPosition {
    LogPosition {
        topic: position.topic.clone(),
        partition: i32::try_from(position.partition).unwrap_or(i32::MAX),
        offset: i64::try_from(position.offset).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
