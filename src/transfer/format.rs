//! The export file format, version 1: a whole Nagare log in one portable, self-checking file.
//!
//! Everything needed to write or read the file without Nagare's code is on this page.
//!
//! # Primitives
//!
//! Integers are big-endian: `u8`, `u16`, `u32`, `u64`, and `i64` (two's complement).
//! - `bytes`  = `u32` length, then that many bytes.
//! - `string` = `bytes` holding UTF-8.
//! - `opt`    = `u8` 0 (absent) or 1 (present, followed by `bytes`); any other value is an error.
//!
//! # Layout
//!
//! ```text
//! file    = header frame*
//! header  = magic (8 bytes: 89 4E 41 47 41 52 45 0A, "\x89NAGARE\n") | version u16 (= 1)
//! frame   = kind u8 | length u32 | payload (length bytes) | crc u32
//! ```
//!
//! `crc` is the CRC-32 (IEEE 802.3, the one of zlib's `crc32`) of `kind`, `length` and `payload`.
//! `length` is at most 64 MiB. The magic's first byte is not ASCII and it ends with a newline,
//! so a file mangled by a text-mode transfer is recognised at once.
//!
//! Frames come in this order; a reader refuses any other:
//! 1. **Topic** frames (kind 1), one per topic. The *topic index* of a topic is the position of
//!    its frame among the topic frames, from 0. Payload: `name string | partitions u32 (≥ 1) |
//!    cleanup u8` where cleanup 0 = delete, followed by `retention u8` (0: kept forever; 1:
//!    followed by `retention_ms i64`), and cleanup 1 = compact. Names are unique.
//! 2. **Group** frames (kind 2), one per consumer group with committed offsets. Payload:
//!    `group string | count u32 | count × (topic u32 | partition u32 | offset u64)`, where
//!    `offset` is the next offset the group reads (Kafka's convention), and at most the
//!    partition's `high` in the trailer.
//! 3. **Record** frames (kind 3), one per record. Payload: `topic u32 | partition u32 |
//!    offset u64 | timestamp_ms i64 | key opt | value opt | header_count u32 |
//!    header_count × (name string | value bytes)`. An absent value is a tombstone. Headers keep
//!    their order and a name may repeat. The records of one partition are contiguous and in
//!    strictly increasing offset order; partitions follow each other by topic index, then
//!    partition number. A partition without records has no record frame.
//! 4. One **Trailer** frame (kind 4), the last bytes of the file. Payload: `count u32 |
//!    count × (topic u32 | partition u32 | records u64 | low u64 | high u64) | file_crc u32`.
//!    There is one entry per partition of every topic, ordered by topic index, then partition.
//!    `records` is how many record frames that partition has; `low` and `high` are the
//!    partition's watermarks when the export started (every record offset is in `low..high`).
//!    `file_crc` is the CRC-32 of every byte of the file before the trailer frame, header
//!    included.
//!
//! Offsets of a partition may leave gaps (a compacted Kafka topic, or transaction markers);
//! records hold their source offsets exactly, so a reader sees the gaps.
//!
//! Version 1 readers refuse any other version. A later version changes the version number.

use nagare_infra::{Cleanup, Offset, Record};

/// The first eight bytes of every export file.
pub(crate) const MAGIC: [u8; 8] = *b"\x89NAGARE\n";
/// The version this code writes and the only one it reads.
pub(crate) const VERSION: u16 = 1;
/// Bytes of the header: magic and version.
pub(crate) const HEADER_LEN: u64 = 10;
/// The largest frame payload: far above any record Nagare writes, small enough that a corrupted
/// length never makes a reader allocate gigabytes.
pub(crate) const MAX_FRAME_LEN: u32 = 64 << 20;
/// Bytes around a payload: kind, length and crc.
pub(crate) const FRAME_OVERHEAD: u64 = 1 + 4 + 4;

/// What a frame holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FrameKind {
    Topic = 1,
    Group = 2,
    Record = 3,
    Trailer = 4,
}

impl FrameKind {
    pub(crate) fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(FrameKind::Topic),
            2 => Some(FrameKind::Group),
            3 => Some(FrameKind::Record),
            4 => Some(FrameKind::Trailer),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            FrameKind::Topic => "topic",
            FrameKind::Group => "group",
            FrameKind::Record => "record",
            FrameKind::Trailer => "trailer",
        }
    }
}

/// A topic as declared in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TopicDecl {
    pub(crate) name: String,
    pub(crate) partitions: u32,
    pub(crate) cleanup: Cleanup,
}

/// A partition named by its topic's index in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct FilePartition {
    pub(crate) topic: u32,
    pub(crate) partition: u32,
}

/// The committed offsets of one consumer group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GroupOffsets {
    pub(crate) group: String,
    /// Each offset is the next one the group reads.
    pub(crate) offsets: Vec<(FilePartition, Offset)>,
}

/// One record with where it sat in the source log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileRecord {
    pub(crate) at: FilePartition,
    pub(crate) offset: Offset,
    pub(crate) record: Record,
}

/// What the trailer says of one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PartitionSummary {
    pub(crate) at: FilePartition,
    pub(crate) records: u64,
    pub(crate) low: Offset,
    pub(crate) high: Offset,
}

/// The last frame: per-partition counts and watermarks, and the checksum of all before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Trailer {
    pub(crate) partitions: Vec<PartitionSummary>,
    pub(crate) file_crc: u32,
}
