//! The in-memory state of one command partition: every aggregate whose events live in it,
//! with its version and receipts, plus the bookkeeping for the next events and snapshots.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use nagare_infra::Offset;
use nagare_schemas::events::{AggregateType, Event};
use nagare_schemas::replies::LogPosition;

use crate::aggregates::AnyAggregate;
use crate::receipts::Receipts;

/// Aggregates are addressed by type and id: ids are UUIDs, but a command for one type must
/// never touch the state of another.
pub type AggregateKey = (AggregateType, String);

/// One aggregate as the processor holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct AggregateEntry {
    pub state: AnyAggregate,
    /// The number of events applied (0: never created).
    pub version: u64,
    pub receipts: Receipts,
}

impl AggregateEntry {
    pub fn new(aggregate_type: AggregateType) -> Self {
        Self { state: AnyAggregate::new(aggregate_type), version: 0, receipts: Receipts::default() }
    }
}

#[derive(Debug, Default)]
pub struct PartitionState {
    pub aggregates: HashMap<AggregateKey, AggregateEntry>,
    /// The offset the next event will get, per events topic (this partition of each). The
    /// processor is the partition's only writer, so it knows positions before appending.
    pub next_event_offsets: BTreeMap<String, Offset>,
    /// Aggregates changed since the last snapshot marker: the next dump must include them.
    pub dirty: BTreeSet<AggregateKey>,
    /// Events written since the last snapshot marker.
    pub events_since_marker: u64,
}

impl PartitionState {
    pub fn entry(&self, key: &AggregateKey) -> Option<&AggregateEntry> {
        self.aggregates.get(key)
    }

    /// Applies an event that leaves its aggregate at `version`, recording the receipt of the
    /// command that caused it. Returns false, changing nothing, when the aggregate is already at
    /// or past that version (the event is inside a snapshot) or the event does not fit.
    pub fn apply(
        &mut self,
        event: &Event,
        version: u64,
        command_id: Option<&str>,
        position: LogPosition,
    ) -> bool {
        let key = (event.aggregate_type(), event.aggregate_id().to_owned());
        let entry =
            self.aggregates.entry(key.clone()).or_insert_with(|| AggregateEntry::new(key.0));
        if version <= entry.version || !entry.state.apply(event) {
            return false;
        }
        entry.version = version;
        if let Some(command_id) = command_id {
            entry.receipts.record(command_id, version, position);
        }
        self.dirty.insert(key);
        self.events_since_marker += 1;
        true
    }

    /// Every aggregate in id order: the domain state (states, versions, receipts) without the
    /// snapshot bookkeeping, so two rebuilds can be compared.
    pub fn aggregates_sorted(&self) -> Vec<(&AggregateKey, &AggregateEntry)> {
        let mut all: Vec<_> = self.aggregates.iter().collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        all
    }
}

#[cfg(test)]
mod tests {
    use nagare_schemas::events::{CategoryCreated, CategoryEvent};

    use super::*;

    fn created() -> Event {
        Event::Category(CategoryEvent::Created(CategoryCreated {
            category_id: "c".into(),
            name: "Tea".into(),
            description: None,
        }))
    }

    fn at(offset: i64) -> LogPosition {
        LogPosition { topic: "events".into(), partition: 0, offset }
    }

    #[test]
    fn an_event_not_newer_than_the_state_is_skipped() {
        let mut state = PartitionState::default();
        assert!(state.apply(&created(), 1, Some("cmd"), at(0)));
        assert!(!state.apply(&created(), 1, Some("cmd"), at(0)));
        let key = (AggregateType::Category, "c".to_owned());
        let entry = state.entry(&key).cloned().unwrap_or_else(|| AggregateEntry::new(key.0));
        assert_eq!(entry.version, 1);
        assert_eq!(entry.receipts.get("cmd").map(|r| r.positions.len()), Some(1));
        assert_eq!(state.events_since_marker, 1);
    }
}
