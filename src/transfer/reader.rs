//! Reads the export format ([`super::format`]) from any `Read`, checking every frame's checksum,
//! the frame order, the trailer's counts and the whole-file checksum. Errors name the byte of
//! the file where the problem starts; no input makes it panic.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};

use nagare_infra::Offset;

use super::format::{
    FRAME_OVERHEAD, FilePartition, FileRecord, FrameKind, GroupOffsets, HEADER_LEN, MAGIC,
    MAX_FRAME_LEN, TopicDecl, Trailer, VERSION,
};
use super::payload;

/// Why a file cannot be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    Io(io::Error),
    /// The file is not a complete, intact export; `at` is the byte where the problem starts.
    Format {
        at: u64,
        problem: String,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(error) => write!(f, "cannot read the export file: {error}"),
            ReadError::Format { at, problem } => {
                write!(f, "the export file is unusable at byte {at}: {problem}")
            }
        }
    }
}

impl std::error::Error for ReadError {}

impl From<io::Error> for ReadError {
    fn from(error: io::Error) -> Self {
        ReadError::Io(error)
    }
}

/// What the records of one partition looked like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PartitionSeen {
    pub(crate) records: u64,
    pub(crate) first: Offset,
    pub(crate) last: Offset,
    /// The first place offsets skip: the offset before the gap and the one after it.
    pub(crate) first_gap: Option<(Offset, Offset)>,
}

/// One frame as read: where it starts, what it is, its payload.
struct RawFrame {
    at: u64,
    kind: FrameKind,
    payload: Vec<u8>,
}

/// A file being read: the topics and groups (read on open), then the records one by one.
#[derive(Debug)]
pub(crate) struct FileReader<R: Read> {
    input: R,
    /// Bytes consumed so far: the file offset of the next frame.
    position: u64,
    file_crc: crc32fast::Hasher,
    /// The file checksum up to the last frame read: what the trailer must hold.
    crc_before_frame: u32,
    topics: Vec<TopicDecl>,
    groups: Vec<GroupOffsets>,
    /// The first frame after the groups, read while looking for the end of the groups.
    pending: Option<(u64, FrameKind, Vec<u8>)>,
    /// The partition being read and its last offset.
    current: Option<(FilePartition, Offset)>,
    seen: BTreeMap<FilePartition, PartitionSeen>,
    trailer: Option<Trailer>,
}

impl<R: Read> FileReader<R> {
    /// Reads the header, the topic frames and the group frames.
    pub(crate) fn open(mut input: R) -> Result<Self, ReadError> {
        let mut header = [0u8; HEADER_LEN as usize];
        if read_full(&mut input, &mut header)? < header.len() || header[..8] != MAGIC {
            return Err(format_error(0, "it does not start with the Nagare export header"));
        }
        let version = u16::from_be_bytes([header[8], header[9]]);
        if version != VERSION {
            return Err(format_error(
                8,
                format!("format version {version}; this nagare reads version {VERSION}"),
            ));
        }
        let mut file_crc = crc32fast::Hasher::new();
        file_crc.update(&header);
        let mut reader = Self {
            input,
            position: HEADER_LEN,
            file_crc,
            crc_before_frame: 0,
            topics: Vec::new(),
            groups: Vec::new(),
            pending: None,
            current: None,
            seen: BTreeMap::new(),
            trailer: None,
        };
        reader.read_declarations()?;
        Ok(reader)
    }

    pub(crate) fn topics(&self) -> &[TopicDecl] {
        &self.topics
    }

    pub(crate) fn groups(&self) -> &[GroupOffsets] {
        &self.groups
    }

    /// The trailer, once [`FileReader::next_record`] has returned `None`.
    pub(crate) fn trailer(&self) -> Option<&Trailer> {
        self.trailer.as_ref()
    }

    /// Per partition with records, what its records looked like (complete after the end).
    pub(crate) fn seen(&self) -> &BTreeMap<FilePartition, PartitionSeen> {
        &self.seen
    }

    /// Bytes read so far.
    pub(crate) fn position(&self) -> u64 {
        self.position
    }

    /// The next record, or `None` once the trailer has been read and checked.
    pub(crate) fn next_record(&mut self) -> Result<Option<FileRecord>, ReadError> {
        if self.trailer.is_some() {
            return Ok(None);
        }
        let frame = match self.pending.take() {
            Some((at, kind, payload)) => RawFrame { at, kind, payload },
            None => self.read_frame()?,
        };
        match frame.kind {
            FrameKind::Record => {
                let record = payload::decode_record(&frame.payload)
                    .map_err(|problem| format_error(frame.at, problem))?;
                self.check_record(frame.at, &record)?;
                Ok(Some(record))
            }
            FrameKind::Trailer => {
                self.finish(frame)?;
                Ok(None)
            }
            kind @ (FrameKind::Topic | FrameKind::Group) => {
                Err(format_error(frame.at, format!("a {} frame after the records", kind.name())))
            }
        }
    }

    fn read_declarations(&mut self) -> Result<(), ReadError> {
        loop {
            let frame = self.read_frame()?;
            match frame.kind {
                FrameKind::Topic if self.groups.is_empty() => {
                    let topic = payload::decode_topic(&frame.payload)
                        .map_err(|problem| format_error(frame.at, problem))?;
                    if self.topics.iter().any(|known| known.name == topic.name) {
                        let problem = format!("topic `{}` is declared twice", topic.name);
                        return Err(format_error(frame.at, problem));
                    }
                    self.topics.push(topic);
                }
                FrameKind::Topic => {
                    return Err(format_error(frame.at, "a topic frame after the group frames"));
                }
                FrameKind::Group => {
                    let group = payload::decode_group(&frame.payload)
                        .map_err(|problem| format_error(frame.at, problem))?;
                    for (at, _) in &group.offsets {
                        self.check_partition(frame.at, *at)?;
                    }
                    self.groups.push(group);
                }
                FrameKind::Record | FrameKind::Trailer => {
                    self.pending = Some((frame.at, frame.kind, frame.payload));
                    return Ok(());
                }
            }
        }
    }

    fn check_partition(&self, at: u64, partition: FilePartition) -> Result<&TopicDecl, ReadError> {
        let topic = usize::try_from(partition.topic).ok().and_then(|index| self.topics.get(index));
        let Some(topic) = topic else {
            let problem = format!(
                "topic index {} is not declared ({} topics)",
                partition.topic,
                self.topics.len()
            );
            return Err(format_error(at, problem));
        };
        if partition.partition >= topic.partitions {
            let problem = format!(
                "partition {} of topic `{}`, which has {} partitions",
                partition.partition, topic.name, topic.partitions
            );
            return Err(format_error(at, problem));
        }
        Ok(topic)
    }

    fn check_record(&mut self, at: u64, record: &FileRecord) -> Result<(), ReadError> {
        let topic = self.check_partition(at, record.at)?.name.clone();
        match self.current {
            Some((current, last)) if current == record.at && record.offset <= last => {
                let problem = format!(
                    "offset {} of `{topic}` partition {} follows offset {last}",
                    record.offset, record.at.partition
                );
                return Err(format_error(at, problem));
            }
            Some((current, _)) if current > record.at => {
                let problem = format!(
                    "a record of `{topic}` partition {} after the records of a later partition",
                    record.at.partition
                );
                return Err(format_error(at, problem));
            }
            _ => {}
        }
        let seen = self.seen.entry(record.at).or_insert(PartitionSeen {
            records: 0,
            first: record.offset,
            last: record.offset,
            first_gap: None,
        });
        if seen.records > 0 && seen.first_gap.is_none() && record.offset != seen.last + 1 {
            seen.first_gap = Some((seen.last, record.offset));
        }
        seen.records += 1;
        seen.last = record.offset;
        self.current = Some((record.at, record.offset));
        Ok(())
    }

    /// Checks the trailer against what was read, and that nothing follows it.
    fn finish(&mut self, frame: RawFrame) -> Result<(), ReadError> {
        let at = frame.at;
        let trailer =
            payload::decode_trailer(&frame.payload).map_err(|problem| format_error(at, problem))?;
        let expected: Vec<FilePartition> = (0u32..)
            .zip(&self.topics)
            .flat_map(|(topic, decl)| {
                (0..decl.partitions).map(move |partition| FilePartition { topic, partition })
            })
            .collect();
        let listed: Vec<FilePartition> = trailer.partitions.iter().map(|s| s.at).collect();
        if listed != expected {
            return Err(format_error(at, "the trailer does not list every declared partition"));
        }
        for summary in &trailer.partitions {
            let name = self.topics.get(summary.at.topic as usize).map_or("?", |t| t.name.as_str());
            let partition = summary.at.partition;
            let seen = self.seen.get(&summary.at);
            let records = seen.map_or(0, |seen| seen.records);
            if records != summary.records {
                let problem = format!(
                    "the trailer counts {} records in `{name}` partition {partition}, the file \
                     holds {records}",
                    summary.records
                );
                return Err(format_error(at, problem));
            }
            if let Some(seen) = seen.filter(|s| s.first < summary.low || s.last >= summary.high) {
                let problem = format!(
                    "records of `{name}` partition {partition} span offsets {}..={}, outside \
                     the watermarks {}..{}",
                    seen.first, seen.last, summary.low, summary.high
                );
                return Err(format_error(at, problem));
            }
        }
        for group in &self.groups {
            for (partition, offset) in &group.offsets {
                let high = trailer.partitions.iter().find(|s| s.at == *partition).map(|s| s.high);
                if high.is_some_and(|high| *offset > high) {
                    let problem = format!(
                        "group `{}` committed offset {offset}, beyond the high watermark",
                        group.group
                    );
                    return Err(format_error(at, problem));
                }
            }
        }
        if trailer.file_crc != self.crc_before_frame {
            return Err(format_error(
                at,
                "the whole-file checksum does not match: the file is corrupted",
            ));
        }
        let mut extra = [0u8; 1];
        if read_full(&mut self.input, &mut extra)? > 0 {
            return Err(format_error(self.position, "bytes follow the trailer"));
        }
        self.trailer = Some(trailer);
        Ok(())
    }

    fn read_frame(&mut self) -> Result<RawFrame, ReadError> {
        let at = self.position;
        let mut head = [0u8; 5];
        match read_full(&mut self.input, &mut head)? {
            0 => {
                return Err(format_error(
                    at,
                    "the file ends without its trailer: it is truncated (an interrupted copy?)",
                ));
            }
            5 => {}
            _ => return Err(truncated(at)),
        }
        let length = u32::from_be_bytes([head[1], head[2], head[3], head[4]]);
        if length > MAX_FRAME_LEN {
            let problem = format!(
                "a frame claims {length} bytes, above the limit of {MAX_FRAME_LEN}: the file is \
                 corrupted"
            );
            return Err(format_error(at, problem));
        }
        let mut payload = Vec::new();
        (&mut self.input).take(u64::from(length)).read_to_end(&mut payload)?;
        let mut crc = [0u8; 4];
        if payload.len() < length as usize || read_full(&mut self.input, &mut crc)? < 4 {
            return Err(truncated(at));
        }
        let mut frame_crc = crc32fast::Hasher::new();
        frame_crc.update(&head);
        frame_crc.update(&payload);
        if frame_crc.finalize() != u32::from_be_bytes(crc) {
            return Err(format_error(at, "a frame fails its checksum: the file is corrupted"));
        }
        let Some(kind) = FrameKind::from_byte(head[0]) else {
            return Err(format_error(at, format!("unknown frame kind {}", head[0])));
        };
        self.crc_before_frame = self.file_crc.clone().finalize();
        self.file_crc.update(&head);
        self.file_crc.update(&payload);
        self.file_crc.update(&crc);
        self.position += FRAME_OVERHEAD + u64::from(length);
        Ok(RawFrame { at, kind, payload })
    }
}

fn truncated(at: u64) -> ReadError {
    format_error(at, "the file ends inside this frame: it is truncated (an interrupted copy?)")
}

fn format_error(at: u64, problem: impl Into<String>) -> ReadError {
    ReadError::Format { at, problem: problem.into() }
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}
