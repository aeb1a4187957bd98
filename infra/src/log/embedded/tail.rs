//! The newest records of one partition, kept in memory as the writer committed them, so that
//! readers following the tail (the command processor, the reply listener, projections, live
//! subscriptions) get them without a range read of the engine, which for every read of a few
//! records takes a snapshot of the partition's keyspace and merges its memtables and tables.
//! (It was added when one keyspace held every partition and such a read merged every table.)
//!
//! The records are the same buffers the engine's memtable holds (a clone of a `fjall::Slice`
//! shares its bytes), so the tail costs memory of its own only once they are flushed, and at
//! most [`TAIL_BYTES`] per partition.

use std::collections::VecDeque;

use parking_lot::Mutex;

use crate::log::Offset;

/// Records kept per partition: more than a reader that keeps up is ever behind.
pub(super) const TAIL_RECORDS: usize = 512;
/// Bytes kept per partition, whatever the records' sizes.
pub(super) const TAIL_BYTES: usize = 256 * 1024;

/// One partition's newest durable records, contiguous in offsets.
#[derive(Debug, Default)]
pub(super) struct Tail {
    inner: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    /// The offset of `records[0]`.
    start: Offset,
    records: VecDeque<fjall::Slice>,
    bytes: usize,
}

impl Tail {
    /// Adds records just made durable at offsets `first..`. Records that do not follow the held
    /// ones (the first append after the log is opened) replace them.
    pub(super) fn extend(&self, first: Offset, records: Vec<fjall::Slice>) {
        let mut held = self.inner.lock();
        if held.start + held.records.len() as Offset != first {
            held.records.clear();
            held.bytes = 0;
            held.start = first;
        }
        for record in records {
            held.bytes += record.len();
            held.records.push_back(record);
        }
        while held.records.len() > TAIL_RECORDS || held.bytes > TAIL_BYTES {
            let Some(oldest) = held.records.pop_front() else { break };
            held.bytes -= oldest.len();
            held.start += 1;
        }
    }

    /// The records at offsets `from..to`, if every one of them is held.
    pub(super) fn get(&self, from: Offset, to: Offset) -> Option<Vec<fjall::Slice>> {
        let held = self.inner.lock();
        let end = held.start + held.records.len() as Offset;
        if from < held.start || to > end || from >= to {
            return None;
        }
        let skip = usize::try_from(from - held.start).ok()?;
        let take = usize::try_from(to - from).ok()?;
        Some(held.records.iter().skip(skip).take(take).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(range: std::ops::Range<u8>) -> Vec<fjall::Slice> {
        range.map(|n| fjall::Slice::from(vec![n; 4])).collect()
    }

    fn firsts(got: Option<Vec<fjall::Slice>>) -> Option<Vec<u8>> {
        got.map(|records| records.iter().map(|record| record[0]).collect())
    }

    #[test]
    fn serves_held_ranges_and_nothing_else() {
        let tail = Tail::default();
        assert_eq!(firsts(tail.get(0, 1)), None);
        tail.extend(10, records(0..3));
        tail.extend(13, records(3..5));
        assert_eq!(firsts(tail.get(10, 15)), Some(vec![0, 1, 2, 3, 4]));
        assert_eq!(firsts(tail.get(12, 14)), Some(vec![2, 3]));
        assert_eq!(firsts(tail.get(9, 12)), None, "starts before the tail");
        assert_eq!(firsts(tail.get(14, 16)), None, "ends past the tail");
        assert_eq!(firsts(tail.get(12, 12)), None);
    }

    #[test]
    fn records_that_do_not_follow_start_over() {
        let tail = Tail::default();
        tail.extend(10, records(0..3));
        tail.extend(20, records(7..9));
        assert_eq!(firsts(tail.get(10, 11)), None);
        assert_eq!(firsts(tail.get(20, 22)), Some(vec![7, 8]));
    }

    #[test]
    fn keeps_only_the_newest_within_its_bounds() {
        let tail = Tail::default();
        for n in 0..(TAIL_RECORDS as u64 + 10) {
            tail.extend(n, vec![fjall::Slice::from(vec![0u8; 8])]);
        }
        let newest = TAIL_RECORDS as u64 + 10;
        assert!(tail.get(newest - TAIL_RECORDS as u64, newest).is_some());
        assert!(tail.get(newest - TAIL_RECORDS as u64 - 1, newest).is_none());

        let big = Tail::default();
        big.extend(0, vec![fjall::Slice::from(vec![0u8; TAIL_BYTES]); 2]);
        assert!(big.get(1, 2).is_some());
        assert!(big.get(0, 1).is_none());
    }
}
