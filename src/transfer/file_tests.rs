//! The file format end to end: what the writer writes, the reader reads back, and no damage to
//! a file goes unnoticed or makes the reader panic.

use std::io::Cursor;

use bytes::Bytes;
use nagare_infra::{Cleanup, Record};
use proptest::prelude::*;

use super::format::{
    FilePartition, FileRecord, GroupOffsets, HEADER_LEN, PartitionSummary, TopicDecl,
};
use super::reader::{FileReader, ReadError};
use super::writer::FileWriter;

fn topics() -> Vec<TopicDecl> {
    vec![
        TopicDecl { name: "nagare.commands".into(), partitions: 2, cleanup: Cleanup::Compact },
        TopicDecl {
            name: "nagare.replies".into(),
            partitions: 1,
            cleanup: Cleanup::Delete { retention_ms: Some(86_400_000) },
        },
    ]
}

fn record(at: FilePartition, offset: u64, seed: u8) -> FileRecord {
    FileRecord {
        at,
        offset,
        record: Record {
            key: (!seed.is_multiple_of(3)).then(|| Bytes::from(vec![seed; 3])),
            value: (!seed.is_multiple_of(4)).then(|| Bytes::from(vec![seed; usize::from(seed)])),
            headers: vec![
                ("h".into(), Bytes::from_static(b"1")),
                ("h".into(), Bytes::from_static(b"2")),
            ],
            timestamp_ms: i64::from(seed) * 1000 - 5,
        },
    }
}

/// Writes a file of `records` (already in file order), with the trailer computed from them.
fn write(topics: &[TopicDecl], groups: &[GroupOffsets], records: &[FileRecord]) -> Vec<u8> {
    let mut writer = FileWriter::new(Vec::new()).unwrap();
    for topic in topics {
        writer.topic(topic).unwrap();
    }
    for group in groups {
        writer.group(group).unwrap();
    }
    for record in records {
        writer.record(record).unwrap();
    }
    let mut summaries = Vec::new();
    for (index, topic) in (0u32..).zip(topics) {
        for partition in 0..topic.partitions {
            let at = FilePartition { topic: index, partition };
            let mine: Vec<_> = records.iter().filter(|r| r.at == at).collect();
            let high = mine.last().map_or(0, |r| r.offset + 1);
            summaries.push(PartitionSummary { at, records: mine.len() as u64, low: 0, high });
        }
    }
    let (bytes, length) = writer.finish(summaries).unwrap();
    assert_eq!(length, bytes.len() as u64);
    bytes
}

/// The whole content of a file: topics, groups and records.
type Content = (Vec<TopicDecl>, Vec<GroupOffsets>, Vec<FileRecord>);

/// Reads a whole file, or the first error.
fn read(bytes: &[u8]) -> Result<Content, ReadError> {
    let mut reader = FileReader::open(Cursor::new(bytes))?;
    let mut records = Vec::new();
    while let Some(record) = reader.next_record()? {
        records.push(record);
    }
    assert!(reader.trailer().is_some());
    Ok((reader.topics().to_vec(), reader.groups().to_vec(), records))
}

fn sample() -> (Vec<GroupOffsets>, Vec<FileRecord>) {
    let p0 = FilePartition { topic: 0, partition: 0 };
    let p1 = FilePartition { topic: 0, partition: 1 };
    let replies = FilePartition { topic: 1, partition: 0 };
    let records = vec![
        record(p0, 0, 1),
        record(p0, 1, 2),
        record(p0, 2, 3),
        record(p1, 0, 4),
        record(replies, 0, 5),
        record(replies, 1, 12),
    ];
    let groups =
        vec![GroupOffsets { group: "nagare.command-processor".into(), offsets: vec![(p0, 2)] }];
    (groups, records)
}

#[test]
fn a_file_round_trips() {
    let (groups, records) = sample();
    let bytes = write(&topics(), &groups, &records);
    let (read_topics, read_groups, read_records) = read(&bytes).unwrap();
    assert_eq!(read_topics, topics());
    assert_eq!(read_groups, groups);
    assert_eq!(read_records, records);
}

#[test]
fn an_empty_log_round_trips() {
    let bytes = write(&[], &[], &[]);
    let (topics, groups, records) = read(&bytes).unwrap();
    assert!(topics.is_empty() && groups.is_empty() && records.is_empty());
}

#[test]
fn every_truncation_is_refused_naming_a_byte_and_truncation() {
    let (groups, records) = sample();
    let bytes = write(&topics(), &groups, &records);
    for len in 0..bytes.len() {
        let Err(error) = read(&bytes[..len]) else { panic!("a file cut at {len} was accepted") };
        let message = error.to_string();
        assert!(message.contains("at byte"), "{message}");
        if len >= HEADER_LEN as usize {
            assert!(message.contains("truncated"), "cut at {len}: {message}");
        }
    }
}

#[test]
fn every_flipped_byte_is_refused() {
    let (groups, records) = sample();
    let bytes = write(&topics(), &groups, &records);
    for at in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x20;
        assert!(read(&damaged).is_err(), "a flipped byte at {at} was accepted");
    }
}

#[test]
fn a_frame_checksum_error_names_the_frame_offset() {
    let (groups, records) = sample();
    let bytes = write(&topics(), &groups, &records);
    let mut damaged = bytes.clone();
    let last_record_byte = bytes.len() - 60;
    damaged[last_record_byte] ^= 1;
    let message = read(&damaged).unwrap_err().to_string();
    assert!(message.contains("checksum"), "{message}");
    assert!(message.contains("at byte"), "{message}");
}

#[test]
fn bytes_after_the_trailer_are_refused() {
    let mut bytes = write(&topics(), &[], &[]);
    bytes.push(0);
    let message = read(&bytes).unwrap_err().to_string();
    assert!(message.contains("follow the trailer"), "{message}");
}

#[test]
fn another_version_or_not_an_export_is_named() {
    let mut bytes = write(&topics(), &[], &[]);
    bytes[9] = 2;
    let message = read(&bytes).unwrap_err().to_string();
    assert!(message.contains("version 2"), "{message}");
    let message = read(b"{\"json\": true}").unwrap_err().to_string();
    assert!(message.contains("header"), "{message}");
}

#[test]
fn records_out_of_order_are_refused() {
    let p0 = FilePartition { topic: 0, partition: 0 };
    let p1 = FilePartition { topic: 0, partition: 1 };
    let cases = [
        vec![record(p0, 1, 1), record(p0, 1, 2)],
        vec![record(p0, 3, 1), record(p0, 2, 2)],
        vec![record(p1, 0, 1), record(p0, 0, 2)],
        vec![record(FilePartition { topic: 0, partition: 2 }, 0, 1)],
        vec![record(FilePartition { topic: 9, partition: 0 }, 0, 1)],
    ];
    for records in cases {
        let bytes = write(&topics(), &[], &records);
        assert!(read(&bytes).is_err(), "{records:?} was accepted");
    }
}

#[test]
fn offsets_with_gaps_are_kept_and_reported() {
    let p0 = FilePartition { topic: 0, partition: 0 };
    let records = vec![record(p0, 3, 1), record(p0, 4, 2), record(p0, 9, 3)];
    let bytes = write(&topics(), &[], &records);
    let mut reader = FileReader::open(Cursor::new(&bytes[..])).unwrap();
    while reader.next_record().unwrap().is_some() {}
    let seen = reader.seen()[&p0];
    assert_eq!((seen.first, seen.last, seen.records, seen.first_gap), (3, 9, 3, Some((4, 9))));
}

fn arbitrary_record() -> impl Strategy<Value = Record> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..40).prop_map(Bytes::from);
    (
        proptest::option::of(bytes()),
        proptest::option::of(bytes()),
        proptest::collection::vec((".{0,8}", bytes()), 0..4),
        any::<i64>(),
    )
        .prop_map(|(key, value, headers, timestamp_ms)| Record {
            key,
            value,
            headers,
            timestamp_ms,
        })
}

proptest! {
    #[test]
    fn arbitrary_records_round_trip(
        records in proptest::collection::vec((0u32..3, 1u64..4, arbitrary_record()), 0..30),
    ) {
        let topics = vec![TopicDecl { name: "t".into(), partitions: 3, cleanup: Cleanup::Compact }];
        // File order: by partition, offsets increasing (with gaps of 1..4).
        let mut sorted = records;
        sorted.sort_by_key(|(partition, _, _)| *partition);
        let mut next = [0u64; 3];
        let file: Vec<FileRecord> = sorted
            .into_iter()
            .map(|(partition, step, record)| {
                let offset = next[partition as usize] + step - 1;
                next[partition as usize] = offset + 1;
                FileRecord { at: FilePartition { topic: 0, partition }, offset, record }
            })
            .collect();
        let bytes = write(&topics, &[], &file);
        let (_, _, read_records) = read(&bytes).unwrap();
        prop_assert_eq!(read_records, file);
    }

    #[test]
    fn damaged_files_never_panic_and_are_refused(
        cut in 0usize..400,
        flips in proptest::collection::vec((0usize..400, 1u8..=255), 1..4),
    ) {
        let (groups, records) = sample();
        let bytes = write(&topics(), &groups, &records);
        let mut damaged = bytes.clone();
        for (at, mask) in flips {
            let at = at % damaged.len();
            damaged[at] ^= mask;
        }
        // Two flips of one byte may cancel out.
        if damaged != bytes {
            prop_assert!(read(&damaged).is_err());
        }
        prop_assert!(read(&bytes[..cut.min(bytes.len() - 1)]).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut bytes = b"\x89NAGARE\n\x00\x01".to_vec();
        bytes.extend_from_slice(&tail);
        let _ = read(&bytes);
        let _ = read(&tail);
    }
}
