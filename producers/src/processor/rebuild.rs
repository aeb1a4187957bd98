//! Rebuilds a command partition's state from the log: the snapshots of partition `p`, then
//! partition `p` of every events topic from the last marker on (see [`crate::snapshot`]).

use std::time::Instant;

use nagare_infra::{EventLog, Offset, StoredRecord, TopicPartition};
use nagare_schemas::codec;
use nagare_schemas::events::AggregateType;
use nagare_schemas::metadata;
use nagare_schemas::replies::LogPosition;
use nagare_schemas::topics::Topics;

use super::partition::{AggregateEntry, PartitionState};
use crate::Result;
use crate::envelope::{header_str, header_u64};
use crate::snapshot::{PartitionMarker, SnapshotRecord};

/// Records read per call while rebuilding.
const READ_CHUNK: usize = 1_000;

/// What a rebuild read, for the logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RebuildStats {
    snapshots: usize,
    events_read: usize,
    events_applied: usize,
    skipped: usize,
}

pub async fn rebuild_partition(
    log: &dyn EventLog,
    topics: &Topics,
    partition: u32,
) -> Result<PartitionState> {
    let started = Instant::now();
    let mut stats = RebuildStats::default();
    let mut state = PartitionState::default();

    let snapshots = TopicPartition::new(topics.snapshots(), partition);
    let mut marker = PartitionMarker::default();
    read_all(log, &snapshots, 0, |stored| {
        let Some(value) = stored.record.value.as_deref() else { return };
        match SnapshotRecord::from_bytes(value) {
            Ok(Some(SnapshotRecord::Aggregate(s))) => {
                let s = *s;
                let key = (s.aggregate_type, s.aggregate_id.into_owned());
                let newer = state.aggregates.get(&key).is_none_or(|e| e.version < s.version);
                if newer && s.state.aggregate_type() == s.aggregate_type {
                    stats.snapshots += 1;
                    let entry = AggregateEntry {
                        state: s.state.into_owned(),
                        version: s.version,
                        receipts: s.receipts.into_owned(),
                    };
                    state.aggregates.insert(key, entry);
                }
            }
            Ok(Some(SnapshotRecord::Marker(m))) => marker = m,
            Ok(None) => {}
            Err(reason) => {
                tracing::warn!(tp = %snapshots, offset = stored.offset, %reason, "unreadable snapshot skipped");
                stats.skipped += 1;
            }
        }
    })
    .await?;

    for aggregate in AggregateType::ALL {
        let topic = topics.events(aggregate);
        let tp = TopicPartition::new(topic.clone(), partition);
        let from = marker.events.get(&topic).copied().unwrap_or(0);
        let next = read_all(log, &tp, from, |stored| {
            stats.events_read += 1;
            if apply_stored_event(&mut state, aggregate, stored) {
                stats.events_applied += 1;
            }
        })
        .await?;
        state.next_event_offsets.insert(topic, next);
    }

    tracing::info!(
        partition,
        aggregates = state.aggregates.len(),
        snapshots = stats.snapshots,
        events_read = stats.events_read,
        events_applied = stats.events_applied,
        skipped = stats.skipped,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "rebuilt command partition"
    );
    Ok(state)
}

/// Applies one stored event; false when it was skipped (already in a snapshot, or unreadable).
fn apply_stored_event(
    state: &mut PartitionState,
    aggregate: AggregateType,
    stored: &StoredRecord,
) -> bool {
    let record = &stored.record;
    let Some(version) = header_u64(record, metadata::AGGREGATE_VERSION) else {
        tracing::error!(tp = %stored.topic_partition(), offset = stored.offset, "event without a version header skipped");
        return false;
    };
    let event = match record.value.as_deref().map(codec::decode_event) {
        Some(Ok(event)) if event.aggregate_type() == aggregate => event,
        Some(Ok(event)) => {
            tracing::error!(tp = %stored.topic_partition(), offset = stored.offset, found = event.event_type(), "event of another aggregate type skipped");
            return false;
        }
        Some(Err(error)) => {
            tracing::error!(tp = %stored.topic_partition(), offset = stored.offset, %error, "undecodable event skipped");
            return false;
        }
        None => return false,
    };
    let position = LogPosition {
        topic: stored.topic.clone(),
        partition: i32::try_from(stored.partition).unwrap_or(i32::MAX),
        offset: i64::try_from(stored.offset).unwrap_or(i64::MAX),
    };
    state.apply(&event, version, header_str(record, metadata::COMMAND_ID), position)
}

/// Reads a partition from `from` (or its low watermark) up to the high watermark read now,
/// handing each record to `each`; returns the offset after the last one.
async fn read_all(
    log: &dyn EventLog,
    tp: &TopicPartition,
    from: Offset,
    mut each: impl FnMut(&StoredRecord),
) -> Result<Offset> {
    let marks = log.watermarks(tp).await?;
    let mut next = from.max(marks.low);
    while next < marks.high {
        let records = log.read(tp, next, READ_CHUNK).await?;
        let Some(last) = records.last() else { break };
        next = last.offset + 1;
        records.iter().for_each(&mut each);
    }
    Ok(next.max(marks.high))
}
