//! Receipts: what each recent command did to an aggregate, so a re-delivered or retried command
//! is answered with the original outcome (`duplicate: true`) instead of being applied twice.
//!
//! The bound: an aggregate remembers its last [`RECEIPTS_PER_AGGREGATE`] commands. A command
//! repeated after that many newer commands on the same aggregate is decided again — for creates
//! that yields CONFLICT (the id exists), for other commands a second application. Clients retry
//! within seconds, far inside that window. Receipts are rebuilt from the events' `command_id`
//! headers and positions, and stored in snapshots (see `encoding`), so the window survives
//! restarts.

mod encoding;

use std::collections::{HashMap, VecDeque};

use nagare_schemas::replies::LogPosition;
use serde::{Deserialize, Serialize};

/// Commands remembered per aggregate.
pub const RECEIPTS_PER_AGGREGATE: usize = 1_000;

/// The outcome of one accepted command.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The aggregate's version after the command.
    pub version: u64,
    /// Where the command's events were written, in order.
    pub positions: Vec<LogPosition>,
}

/// The receipts of an aggregate's most recent commands, oldest first. Serialized by reference,
/// never cloned: a hot aggregate's snapshot holds a thousand of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Receipts {
    order: VecDeque<String>,
    by_command: HashMap<String, Receipt>,
}

impl Receipts {
    pub fn get(&self, command_id: &str) -> Option<&Receipt> {
        self.by_command.get(command_id)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Each receipt with its command id, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Receipt)> {
        self.order
            .iter()
            .filter_map(|id| self.by_command.get(id).map(|receipt| (id.as_str(), receipt)))
    }

    /// Records that `command_id` wrote an event at `position`, leaving the aggregate at
    /// `version`. A command with several events is recorded once per event.
    pub fn record(&mut self, command_id: &str, version: u64, position: LogPosition) {
        if let Some(receipt) = self.by_command.get_mut(command_id) {
            receipt.version = receipt.version.max(version);
            receipt.positions.push(position);
            return;
        }
        if self.order.len() >= RECEIPTS_PER_AGGREGATE
            && let Some(oldest) = self.order.pop_front()
        {
            self.by_command.remove(&oldest);
        }
        self.order.push_back(command_id.to_owned());
        self.by_command
            .insert(command_id.to_owned(), Receipt { version, positions: vec![position] });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: i64) -> LogPosition {
        LogPosition { topic: "t".into(), partition: 0, offset }
    }

    #[test]
    fn a_command_with_several_events_keeps_all_positions() {
        let mut receipts = Receipts::default();
        receipts.record("c1", 1, at(0));
        receipts.record("c1", 2, at(1));
        assert_eq!(
            receipts.get("c1"),
            Some(&Receipt { version: 2, positions: vec![at(0), at(1)] })
        );
        assert_eq!(receipts.len(), 1);
    }

    #[test]
    fn the_oldest_receipt_is_forgotten_beyond_the_bound() {
        let mut receipts = Receipts::default();
        for n in 0..=RECEIPTS_PER_AGGREGATE {
            receipts.record(&format!("c{n}"), n as u64 + 1, at(n as i64));
        }
        assert_eq!(receipts.len(), RECEIPTS_PER_AGGREGATE);
        assert!(receipts.get("c0").is_none());
        assert!(receipts.get("c1").is_some());
    }

    #[test]
    fn survives_a_serde_round_trip_in_order() {
        let mut receipts = Receipts::default();
        receipts.record("b", 1, at(4));
        receipts.record("a", 2, at(5));
        let json = serde_json::to_string(&receipts).unwrap_or_default();
        let back: Receipts = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, receipts);
        assert_eq!(back.iter().next().map(|(id, _)| id), Some("b"));
    }
}
