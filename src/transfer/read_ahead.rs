//! Reads the partitions of an export in offset ranges, several ranges in flight at once and
//! delivered in order: a remote log (Kafka) answers each read after a round trip, which would
//! otherwise dominate the export's time. Memory stays bounded by the ranges in flight.

use std::collections::VecDeque;
use std::sync::Arc;

use anyhow::Context;
use nagare_infra::{EventLog, Offset, StoredRecord, TopicPartition};
use tokio::task::JoinHandle;

use super::format::FilePartition;

/// Offsets per range: one read of the log, unless the log answers with fewer records.
const RANGE_LEN: u64 = 4096;
/// Ranges read at the same time.
const IN_FLIGHT: usize = 4;

/// A partition to read, from `low` up to (not including) `high`.
#[derive(Clone, Debug)]
pub(crate) struct PartitionRead {
    pub(crate) at: FilePartition,
    pub(crate) tp: TopicPartition,
    pub(crate) low: Offset,
    pub(crate) high: Offset,
}

type RangeTask = JoinHandle<anyhow::Result<Vec<StoredRecord>>>;

#[derive(Debug)]
pub(crate) struct ReadAhead {
    log: Arc<dyn EventLog>,
    /// Partitions not fully scheduled yet; the first one's `low` is the next range's start.
    todo: VecDeque<PartitionRead>,
    in_flight: VecDeque<(FilePartition, RangeTask)>,
}

impl ReadAhead {
    pub(crate) fn new(log: Arc<dyn EventLog>, reads: Vec<PartitionRead>) -> Self {
        let todo = reads.into_iter().filter(|read| read.low < read.high).collect();
        Self { log, todo, in_flight: VecDeque::new() }
    }

    /// The records of the next range, in partition and offset order; `None` once all are read.
    /// A range may have no records (gaps in a compacted Kafka topic).
    pub(crate) async fn next(
        &mut self,
    ) -> anyhow::Result<Option<(FilePartition, Vec<StoredRecord>)>> {
        self.schedule();
        let Some((at, task)) = self.in_flight.pop_front() else { return Ok(None) };
        let records = task.await.context("a read of the log stopped unexpectedly")??;
        Ok(Some((at, records)))
    }

    fn schedule(&mut self) {
        while self.in_flight.len() < IN_FLIGHT {
            let Some(read) = self.todo.front_mut() else { return };
            let end = read.high.min(read.low.saturating_add(RANGE_LEN));
            let (log, tp, from) = (self.log.clone(), read.tp.clone(), read.low);
            let task = tokio::spawn(async move { read_range(&*log, &tp, from, end).await });
            self.in_flight.push_back((read.at, task));
            read.low = end;
            if read.low >= read.high {
                self.todo.pop_front();
            }
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Stopped early (an error): the reads still in flight are of no use.
        for (_, task) in &self.in_flight {
            task.abort();
        }
    }
}

/// Every record of a partition with an offset in `from..end`.
async fn read_range(
    log: &dyn EventLog,
    tp: &TopicPartition,
    from: Offset,
    end: Offset,
) -> anyhow::Result<Vec<StoredRecord>> {
    let mut records: Vec<StoredRecord> = Vec::new();
    let mut next = from;
    while next < end {
        let wanted = usize::try_from(end - next).unwrap_or(usize::MAX);
        let mut read = log
            .read(tp, next, wanted)
            .await
            .with_context(|| format!("cannot read {tp} at offset {next}"))?;
        read.retain(|record| record.offset < end);
        let Some(last) = read.last().map(|record| record.offset) else {
            // No records left in the range: the rest are gaps (Kafka's transaction markers, or
            // records removed by compaction).
            break;
        };
        next = last + 1;
        records.append(&mut read);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nagare_infra::{Cleanup, OutgoingRecord, Record, TopicSpec};

    #[tokio::test]
    async fn ranges_come_back_in_partition_and_offset_order_up_to_the_cut() {
        let dir = tempfile::tempdir().unwrap();
        let log =
            nagare_infra::open_log(&format!("embedded://{}", dir.path().display())).await.unwrap();
        let spec = TopicSpec {
            name: "t".into(),
            partitions: 3,
            cleanup: Cleanup::Delete { retention_ms: None },
        };
        log.ensure_topic(&spec).await.unwrap();
        let counts = [10_000u64, 0, 5];
        for (partition, count) in (0u32..).zip(counts) {
            let records = (0..count)
                .map(|_| OutgoingRecord {
                    topic: "t".into(),
                    partition: Some(partition),
                    record: Record::default(),
                })
                .collect();
            log.append(records, None).await.unwrap();
        }
        // The cut stops partition 0 before its end and partition 2 after its start.
        let reads = vec![read(0, 0, 9_000), read(1, 0, 0), read(2, 1, 5)];
        let mut ahead = ReadAhead::new(log, reads);
        let mut seen: Vec<(u32, Offset)> = Vec::new();
        while let Some((at, records)) = ahead.next().await.unwrap() {
            seen.extend(records.iter().map(|r| {
                assert_eq!(r.partition, at.partition);
                (at.partition, r.offset)
            }));
        }
        let expected: Vec<(u32, Offset)> =
            (0..9_000).map(|o| (0, o)).chain((1..5).map(|o| (2, o))).collect();
        assert_eq!(seen, expected);
    }

    fn read(partition: u32, low: Offset, high: Offset) -> PartitionRead {
        PartitionRead {
            at: FilePartition { topic: 0, partition },
            tp: TopicPartition::new("t", partition),
            low,
            high,
        }
    }
}
