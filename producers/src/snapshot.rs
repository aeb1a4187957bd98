//! Snapshots: bounded restart cost for a command partition.
//!
//! Design. The snapshots topic (compacted, partitioned like `commands`) holds, in partition `p`:
//! - per-aggregate records, key = aggregate id, value = the aggregate's state, version and
//!   receipts as versioned JSON (snapshots are internal, so no Avro schema; format 2 writes
//!   receipts compactly, see `crate::receipts`, and format 1 is still read);
//! - a marker, key [`MARKER_KEY`], value = the offsets of `p` in each events topic such that
//!   *every aggregate changed before those offsets has a snapshot earlier in this partition*.
//!
//! With `snapshot_every = Some(n)`, once `n` events have been written in a partition since the
//! last marker, the batch that crosses the line also writes a snapshot of every aggregate changed
//! since that marker, then a new marker holding the events offsets *at the start of the batch*
//! (conservative: the batch's own events are re-read on rebuild and skipped by version). All of
//! it goes in the same append as the batch's events. By induction the marker's promise holds;
//! compaction only drops a snapshot when a newer one of the same aggregate exists.
//!
//! Rebuild reads snapshot partition `p`, keeps the newest snapshot per aggregate and the last
//! marker, then reads each events topic from the marker's offset, skipping every event whose
//! version the aggregate already has. A snapshot is an exact state, never a summary, so the
//! result does not depend on the interval: every `n`, or none at all (then the rebuild replays
//! from the last marker, or from the beginning), gives the same state. Restart cost is bounded
//! by `n` plus one batch of events, and by the size of the (compacted) snapshot partition.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use nagare_infra::{Offset, OutgoingRecord, Record};
use nagare_schemas::events::AggregateType;
use serde::{Deserialize, Serialize};

use crate::aggregates::AnyAggregate;
use crate::envelope::now_ms;
use crate::receipts::Receipts;

/// The snapshot format written now. Readers skip records of formats they do not know, marker
/// included, so an older release never trusts a marker written with snapshots it cannot read.
/// Going back to such a release is still unsafe once the topic has been compacted: compaction
/// may have dropped an aggregate's older-format snapshot for a newer one the release skips,
/// while an older-format marker still vouches for it. Upgrades are safe; downgrades across a
/// format change are not supported.
pub const FORMAT: u32 = 2;

/// The formats read: 1 differs only in how receipts are written.
const READABLE_FORMATS: std::ops::RangeInclusive<u32> = 1..=FORMAT;

/// The key of the per-partition marker (never a UUID, so never an aggregate id).
pub const MARKER_KEY: &str = "nagare.snapshot-marker";

/// An aggregate's snapshot. Written from borrowed state (a snapshot must not copy a thousand
/// receipts to serialize them), read back owned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AggregateSnapshot<'a> {
    pub aggregate_type: AggregateType,
    pub aggregate_id: Cow<'a, str>,
    pub version: u64,
    pub state: Cow<'a, AnyAggregate>,
    pub receipts: Cow<'a, Receipts>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionMarker {
    /// Events topic name -> the offset (of this partition) from which rebuild must read.
    pub events: BTreeMap<String, Offset>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum SnapshotRecord<'a> {
    Aggregate(Box<AggregateSnapshot<'a>>),
    Marker(PartitionMarker),
}

#[derive(Serialize)]
struct EnvelopeOut<'r, 'a> {
    format: u32,
    record: &'r SnapshotRecord<'a>,
}

#[derive(Deserialize)]
struct EnvelopeIn {
    format: u32,
    record: serde_json::Value,
}

impl SnapshotRecord<'_> {
    /// The record for snapshot partition `partition` of `topic`.
    pub fn to_outgoing(&self, topic: &str, partition: u32) -> Result<OutgoingRecord, String> {
        let key = match self {
            SnapshotRecord::Aggregate(s) => &*s.aggregate_id,
            SnapshotRecord::Marker(_) => MARKER_KEY,
        };
        let value = serde_json::to_vec(&EnvelopeOut { format: FORMAT, record: self })
            .map_err(|e| e.to_string())?;
        Ok(OutgoingRecord {
            topic: topic.to_owned(),
            partition: Some(partition),
            record: Record {
                key: Some(Bytes::copy_from_slice(key.as_bytes())),
                value: Some(Bytes::from(value)),
                headers: Vec::new(),
                timestamp_ms: now_ms(),
            },
        })
    }

    /// Reads a snapshot record; `None` for a tombstone, another format, or garbage (with why).
    pub fn from_bytes(bytes: &[u8]) -> Result<Option<SnapshotRecord<'static>>, String> {
        let envelope: EnvelopeIn = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if !READABLE_FORMATS.contains(&envelope.format) {
            return Ok(None);
        }
        serde_json::from_value(envelope.record).map(Some).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregates::Category;

    #[test]
    fn round_trips_and_keys_records() {
        let snapshot = SnapshotRecord::Aggregate(Box::new(AggregateSnapshot {
            aggregate_type: AggregateType::Category,
            aggregate_id: "id-1".into(),
            version: 3,
            state: Cow::Owned(AnyAggregate::Category(Category {
                name: "Tea".into(),
                ..Category::default()
            })),
            receipts: Cow::Owned(Receipts::default()),
        }));
        let out = snapshot.to_outgoing("snapshots", 2).map_err(|e| e.to_string());
        let Ok(out) = out else { panic!("{out:?}") };
        assert_eq!(out.partition, Some(2));
        assert_eq!(out.record.key.as_deref(), Some(&b"id-1"[..]));
        let value = out.record.value.unwrap_or_default();
        assert_eq!(SnapshotRecord::from_bytes(&value), Ok(Some(snapshot)));

        let marker = SnapshotRecord::Marker(PartitionMarker {
            events: BTreeMap::from([("e".to_owned(), 7)]),
        });
        let Ok(out) = marker.to_outgoing("snapshots", 0) else { panic!() };
        assert_eq!(out.record.key.as_deref(), Some(MARKER_KEY.as_bytes()));
    }

    #[test]
    fn reads_format_1_as_written_by_earlier_releases() {
        let state = AnyAggregate::Category(Category { name: "Tea".into(), ..Category::default() });
        let stored = serde_json::json!({"format": 1, "record": {
            "kind": "Aggregate",
            "aggregate_type": serde_json::to_value(AggregateType::Category).ok(),
            "aggregate_id": "id-1",
            "version": 3,
            "state": serde_json::to_value(&state).ok(),
            "receipts": [["c1", {"version": 3, "positions": [{"topic": "t", "partition": 0, "offset": 5}]}]],
        }});
        let mut receipts = Receipts::default();
        receipts.record(
            "c1",
            3,
            nagare_schemas::replies::LogPosition { topic: "t".into(), partition: 0, offset: 5 },
        );
        let expected = SnapshotRecord::Aggregate(Box::new(AggregateSnapshot {
            aggregate_type: AggregateType::Category,
            aggregate_id: "id-1".into(),
            version: 3,
            state: Cow::Owned(state),
            receipts: Cow::Owned(receipts),
        }));
        let bytes = serde_json::to_vec(&stored).unwrap_or_default();
        assert_eq!(SnapshotRecord::from_bytes(&bytes), Ok(Some(expected)));
    }

    #[test]
    fn other_formats_are_skipped_and_garbage_is_an_error() {
        assert_eq!(SnapshotRecord::from_bytes(br#"{"format":99,"record":{}}"#), Ok(None));
        assert!(SnapshotRecord::from_bytes(b"\xff not json").is_err());
    }
}
