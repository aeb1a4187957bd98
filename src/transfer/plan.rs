//! What an import will do, decided before it writes anything: the file is read through once and
//! every checksum verified, then each partition is planned against what the target log holds.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use anyhow::{Context, bail};
use nagare_infra::{Offset, TopicPartition, Watermarks};

use super::format::{FilePartition, FileRecord, GroupOffsets, TopicDecl, Trailer};
use super::progress::Progress;
use super::reader::{FileReader, PartitionSeen};

/// The file is read through a buffer of this size.
pub(crate) const READ_BUFFER: usize = 1 << 20;

/// A file whose every frame, count and checksum has been checked.
#[derive(Debug)]
pub(crate) struct Verified {
    pub(crate) topics: Vec<TopicDecl>,
    pub(crate) groups: Vec<GroupOffsets>,
    pub(crate) trailer: Trailer,
    pub(crate) seen: BTreeMap<FilePartition, PartitionSeen>,
    pub(crate) bytes: u64,
    /// The file's record at each offset asked for in [`verify`] that the file holds.
    pub(crate) captured: HashMap<FilePartition, FileRecord>,
}

impl Verified {
    pub(crate) fn total_records(&self) -> u64 {
        self.trailer.partitions.iter().map(|p| p.records).sum()
    }
}

/// Opens the file and reads its declarations (topics and groups), without the records.
pub(crate) fn open(path: &Path) -> anyhow::Result<FileReader<BufReader<File>>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    FileReader::open(BufReader::with_capacity(READ_BUFFER, file))
        .with_context(|| format!("{} is not a usable Nagare export", path.display()))
}

/// Reads the whole file, checking everything, and keeps the records at the offsets in `capture`.
pub(crate) fn verify(
    path: &Path,
    capture: &HashMap<FilePartition, Offset>,
) -> anyhow::Result<Verified> {
    let total = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut progress = Progress::new("verifying", total, "bytes");
    let mut reader = open(path)?;
    let mut captured = HashMap::new();
    let mut reported = reader.position();
    let context = || format!("{} is not a usable Nagare export", path.display());
    while let Some(record) = reader.next_record().with_context(context)? {
        if capture.get(&record.at) == Some(&record.offset) {
            captured.insert(record.at, record);
        }
        progress.advance(reader.position() - reported);
        reported = reader.position();
    }
    progress.finish();
    let Some(trailer) = reader.trailer().cloned() else {
        bail!("{}: the file ended without its trailer", path.display());
    };
    Ok(Verified {
        topics: reader.topics().to_vec(),
        groups: reader.groups().to_vec(),
        trailer,
        seen: reader.seen().clone(),
        bytes: reader.position(),
        captured,
    })
}

/// What the import does with one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Append the file's records from offset `existing` on; the target already holds the ones
    /// below it, which are compared with the file's before anything is appended.
    Load { existing: Offset },
    /// Derived data that cannot be reproduced at its offsets: left out (see [`decide`]).
    Skip,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PartitionPlan {
    pub(crate) at: FilePartition,
    pub(crate) tp: TopicPartition,
    /// Records the file holds for this partition.
    pub(crate) records: u64,
    pub(crate) action: Action,
}

impl PartitionPlan {
    /// The target's high watermark once this partition is imported.
    pub(crate) fn imported_high(&self) -> Offset {
        match self.action {
            Action::Load { .. } => self.records,
            Action::Skip => 0,
        }
    }
}

/// Plans every partition of the file. `target` holds the watermarks of the partitions that
/// already exist in the target log.
///
/// Offsets are reproduced exactly, so a partition whose records do not start at offset 0 or
/// skip offsets (compaction, transaction markers of a Kafka source) cannot be imported, with
/// one exception: the snapshots topic. Snapshots are derived from the events (the command
/// processor rebuilds a partition from the events alone when it finds no snapshot, to the same
/// state), and nothing refers to a snapshot's offset, so leaving them out loses nothing but
/// the first rebuild's speed; re-numbering them would break the promise that every imported
/// record keeps its offset.
pub(crate) fn decide(
    verified: &Verified,
    target: &HashMap<FilePartition, Watermarks>,
    snapshots_topic: &str,
) -> anyhow::Result<Vec<PartitionPlan>> {
    let skip_topics: Vec<u32> = (0u32..)
        .zip(&verified.topics)
        .filter(|(index, topic)| {
            topic.name == snapshots_topic
                && verified.seen.iter().any(|(at, seen)| at.topic == *index && has_gap(seen))
        })
        .map(|(index, _)| index)
        .collect();
    let mut plans = Vec::new();
    for summary in &verified.trailer.partitions {
        let at = summary.at;
        let name = verified.topics.get(at.topic as usize).map_or("?", |t| t.name.as_str());
        let tp = TopicPartition::new(name, at.partition);
        if skip_topics.contains(&at.topic) {
            plans.push(PartitionPlan { at, tp, records: summary.records, action: Action::Skip });
            continue;
        }
        if let Some(seen) = verified.seen.get(&at) {
            if seen.first > 0 {
                bail!(
                    "topic `{name}` partition {}: the file's records start at offset {}, not 0 \
                     (older records were deleted or compacted in the source), so they cannot \
                     keep their offsets in a new log",
                    at.partition,
                    seen.first
                );
            }
            if let Some((before, after)) = seen.first_gap {
                bail!(
                    "topic `{name}` partition {}: the file has no records between offsets \
                     {before} and {after} (compaction or transaction markers in the source), so \
                     the records cannot keep their offsets in a new log",
                    at.partition
                );
            }
        }
        let existing = target.get(&at).map_or(0, |marks| marks.high);
        if existing > summary.records {
            bail!(
                "topic `{name}` partition {} already holds {existing} records, more than the \
                 {} of the file: the target log is not an earlier import of this file",
                at.partition,
                summary.records
            );
        }
        plans.push(PartitionPlan {
            at,
            tp,
            records: summary.records,
            action: Action::Load { existing },
        });
    }
    Ok(plans)
}

fn has_gap(seen: &PartitionSeen) -> bool {
    seen.first > 0 || seen.first_gap.is_some()
}

#[cfg(test)]
mod tests {
    use nagare_infra::Cleanup;

    use super::*;
    use crate::transfer::format::PartitionSummary;

    fn verified(first: Offset, first_gap: Option<(Offset, Offset)>, records: u64) -> Verified {
        let at = FilePartition { topic: 0, partition: 0 };
        let last = first_gap.map_or(first + records - 1, |(_, after)| after + records - 2);
        let topic =
            |name: &str| TopicDecl { name: name.into(), partitions: 1, cleanup: Cleanup::Compact };
        Verified {
            topics: vec![topic("nagare.snapshots")],
            groups: Vec::new(),
            trailer: Trailer {
                partitions: vec![PartitionSummary { at, records, low: 0, high: last + 1 }],
                file_crc: 0,
            },
            seen: BTreeMap::from([(at, PartitionSeen { records, first, last, first_gap })]),
            bytes: 0,
            captured: HashMap::new(),
        }
    }

    #[test]
    fn dense_partitions_load_after_what_the_target_holds() {
        let file = verified(0, None, 10);
        let at = FilePartition { topic: 0, partition: 0 };
        let target = HashMap::from([(at, Watermarks { low: 0, high: 4 })]);
        let plans = decide(&file, &target, "nagare.snapshots").unwrap();
        assert_eq!(plans[0].action, Action::Load { existing: 4 });
        assert_eq!(plans[0].imported_high(), 10);
        let plans = decide(&file, &HashMap::new(), "other").unwrap();
        assert_eq!(plans[0].action, Action::Load { existing: 0 });
    }

    #[test]
    fn gaps_skip_the_snapshots_topic_and_refuse_any_other() {
        for file in [verified(0, Some((3, 7)), 5), verified(2, None, 5)] {
            let plans = decide(&file, &HashMap::new(), "nagare.snapshots").unwrap();
            assert_eq!(plans[0].action, Action::Skip);
            let error = decide(&file, &HashMap::new(), "shop.snapshots").unwrap_err();
            let message = error.to_string();
            assert!(message.contains("`nagare.snapshots` partition 0"), "{message}");
            assert!(message.contains("offset"), "{message}");
        }
        let error = decide(&verified(0, Some((3, 7)), 5), &HashMap::new(), "x").unwrap_err();
        assert!(error.to_string().contains("between offsets 3 and 7"), "{error}");
    }

    #[test]
    fn a_target_holding_more_than_the_file_is_refused() {
        let at = FilePartition { topic: 0, partition: 0 };
        let target = HashMap::from([(at, Watermarks { low: 0, high: 11 })]);
        let error = decide(&verified(0, None, 10), &target, "x").unwrap_err();
        assert!(error.to_string().contains("already holds 11 records"), "{error}");
    }
}
