//! Frame payloads to and from bytes, as described in [`super::format`]. Decoding never trusts a
//! length or count: every read is checked against what is left of the payload.

use bytes::Bytes;
use nagare_infra::{Cleanup, Record};

use super::format::{
    FilePartition, FileRecord, GroupOffsets, PartitionSummary, TopicDecl, Trailer,
};

/// Bytes of one trailer entry and one group entry, to bound counts read from a payload.
const TRAILER_ENTRY_LEN: usize = 4 + 4 + 8 + 8 + 8;
const GROUP_ENTRY_LEN: usize = 4 + 4 + 8;
/// The smallest header: an empty name and an empty value.
const MIN_HEADER_LEN: usize = 4 + 4;

pub(crate) fn encode_topic(topic: &TopicDecl, out: &mut Vec<u8>) {
    put_bytes(out, topic.name.as_bytes());
    out.extend_from_slice(&topic.partitions.to_be_bytes());
    match topic.cleanup {
        Cleanup::Delete { retention_ms: None } => out.extend_from_slice(&[0, 0]),
        Cleanup::Delete { retention_ms: Some(ms) } => {
            out.extend_from_slice(&[0, 1]);
            out.extend_from_slice(&ms.to_be_bytes());
        }
        Cleanup::Compact => out.push(1),
    }
}

pub(crate) fn decode_topic(payload: &[u8]) -> Result<TopicDecl, String> {
    let mut input = Input::new(payload);
    let name = input.string("topic name")?;
    let partitions = input.u32("partition count")?;
    if partitions == 0 {
        return Err(format!("topic `{name}` declares 0 partitions (at least 1)"));
    }
    let cleanup = match input.u8("cleanup")? {
        0 => match input.u8("retention flag")? {
            0 => Cleanup::Delete { retention_ms: None },
            1 => Cleanup::Delete { retention_ms: Some(input.i64("retention_ms")?) },
            other => return Err(format!("retention flag is {other}, expected 0 or 1")),
        },
        1 => Cleanup::Compact,
        other => return Err(format!("cleanup is {other}, expected 0 (delete) or 1 (compact)")),
    };
    input.end("topic")?;
    Ok(TopicDecl { name, partitions, cleanup })
}

pub(crate) fn encode_group(group: &GroupOffsets, out: &mut Vec<u8>) {
    put_bytes(out, group.group.as_bytes());
    put_len(out, group.offsets.len());
    for (at, offset) in &group.offsets {
        put_partition(out, *at);
        out.extend_from_slice(&offset.to_be_bytes());
    }
}

pub(crate) fn decode_group(payload: &[u8]) -> Result<GroupOffsets, String> {
    let mut input = Input::new(payload);
    let group = input.string("group name")?;
    let count = input.count("group offset count", GROUP_ENTRY_LEN)?;
    let mut offsets = Vec::with_capacity(count);
    for _ in 0..count {
        let at = input.partition()?;
        offsets.push((at, input.u64("committed offset")?));
    }
    input.end("group")?;
    Ok(GroupOffsets { group, offsets })
}

pub(crate) fn encode_record(record: &FileRecord, out: &mut Vec<u8>) {
    put_partition(out, record.at);
    out.extend_from_slice(&record.offset.to_be_bytes());
    out.extend_from_slice(&record.record.timestamp_ms.to_be_bytes());
    put_opt(out, record.record.key.as_deref());
    put_opt(out, record.record.value.as_deref());
    put_len(out, record.record.headers.len());
    for (name, value) in &record.record.headers {
        put_bytes(out, name.as_bytes());
        put_bytes(out, value);
    }
}

pub(crate) fn decode_record(payload: &[u8]) -> Result<FileRecord, String> {
    let mut input = Input::new(payload);
    let at = input.partition()?;
    let offset = input.u64("offset")?;
    let timestamp_ms = input.i64("timestamp")?;
    let key = input.opt("key")?;
    let value = input.opt("value")?;
    let count = input.count("header count", MIN_HEADER_LEN)?;
    let mut headers = Vec::with_capacity(count);
    for _ in 0..count {
        let name = input.string("header name")?;
        headers.push((name, Bytes::copy_from_slice(input.bytes("header value")?)));
    }
    input.end("record")?;
    Ok(FileRecord { at, offset, record: Record { key, value, headers, timestamp_ms } })
}

pub(crate) fn encode_trailer(trailer: &Trailer, out: &mut Vec<u8>) {
    put_len(out, trailer.partitions.len());
    for summary in &trailer.partitions {
        put_partition(out, summary.at);
        out.extend_from_slice(&summary.records.to_be_bytes());
        out.extend_from_slice(&summary.low.to_be_bytes());
        out.extend_from_slice(&summary.high.to_be_bytes());
    }
    out.extend_from_slice(&trailer.file_crc.to_be_bytes());
}

pub(crate) fn decode_trailer(payload: &[u8]) -> Result<Trailer, String> {
    let mut input = Input::new(payload);
    let count = input.count("trailer partition count", TRAILER_ENTRY_LEN)?;
    let mut partitions = Vec::with_capacity(count);
    for _ in 0..count {
        let at = input.partition()?;
        let records = input.u64("record count")?;
        let low = input.u64("low watermark")?;
        let high = input.u64("high watermark")?;
        partitions.push(PartitionSummary { at, records, low, high });
    }
    let file_crc = input.u32("file checksum")?;
    input.end("trailer")?;
    Ok(Trailer { partitions, file_crc })
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // Frames are capped far below 4 GiB, so a length that does not fit cannot be written whole
    // anyway; the frame writer rejects the oversized payload.
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn put_opt(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => out.push(0),
        Some(bytes) => {
            out.push(1);
            put_bytes(out, bytes);
        }
    }
}

fn put_partition(out: &mut Vec<u8>, at: FilePartition) {
    out.extend_from_slice(&at.topic.to_be_bytes());
    out.extend_from_slice(&at.partition.to_be_bytes());
}

/// The unread rest of a payload.
struct Input<'a> {
    rest: &'a [u8],
}

impl<'a> Input<'a> {
    fn new(payload: &'a [u8]) -> Self {
        Self { rest: payload }
    }

    fn take(&mut self, len: usize, field: &str) -> Result<&'a [u8], String> {
        if self.rest.len() < len {
            return Err(format!(
                "the payload ends inside the {field} ({len} bytes needed, {} left)",
                self.rest.len()
            ));
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N], String> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N, field)?);
        Ok(array)
    }

    fn u8(&mut self, field: &str) -> Result<u8, String> {
        Ok(self.array::<1>(field)?[0])
    }

    fn u32(&mut self, field: &str) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: &str) -> Result<u64, String> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    fn i64(&mut self, field: &str) -> Result<i64, String> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    fn bytes(&mut self, field: &str) -> Result<&'a [u8], String> {
        let len = self.u32(field)?;
        self.take(usize::try_from(len).unwrap_or(usize::MAX), field)
    }

    fn string(&mut self, field: &str) -> Result<String, String> {
        let bytes = self.bytes(field)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("the {field} is not UTF-8"))
    }

    fn opt(&mut self, field: &str) -> Result<Option<Bytes>, String> {
        match self.u8(field)? {
            0 => Ok(None),
            1 => Ok(Some(Bytes::copy_from_slice(self.bytes(field)?))),
            other => Err(format!("the {field} presence flag is {other}, expected 0 or 1")),
        }
    }

    /// A count of entries of at least `entry_len` bytes each, refused when the payload cannot
    /// hold that many, so a corrupted count never drives an allocation.
    fn count(&mut self, field: &str, entry_len: usize) -> Result<usize, String> {
        let count = usize::try_from(self.u32(field)?).unwrap_or(usize::MAX);
        if count.saturating_mul(entry_len) > self.rest.len() {
            return Err(format!(
                "the {field} is {count}, more than the {} bytes left can hold",
                self.rest.len()
            ));
        }
        Ok(count)
    }

    fn partition(&mut self) -> Result<FilePartition, String> {
        let topic = self.u32("topic index")?;
        let partition = self.u32("partition")?;
        Ok(FilePartition { topic, partition })
    }

    fn end(&self, what: &str) -> Result<(), String> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(format!("{} unexpected bytes after the {what}", self.rest.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(headers: Vec<(&str, &str)>) -> FileRecord {
        FileRecord {
            at: FilePartition { topic: 2, partition: 7 },
            offset: u64::MAX - 1,
            record: Record {
                key: Some(Bytes::from_static(b"k")),
                value: None,
                headers: headers
                    .into_iter()
                    .map(|(n, v)| (n.to_owned(), Bytes::copy_from_slice(v.as_bytes())))
                    .collect(),
                timestamp_ms: -3,
            },
        }
    }

    #[test]
    fn every_payload_round_trips() {
        let topics = [
            TopicDecl { name: "t".into(), partitions: 3, cleanup: Cleanup::Compact },
            TopicDecl {
                name: "日本".into(),
                partitions: 1,
                cleanup: Cleanup::Delete { retention_ms: Some(-1) },
            },
            TopicDecl {
                name: String::new(),
                partitions: u32::MAX,
                cleanup: Cleanup::Delete { retention_ms: None },
            },
        ];
        for topic in topics {
            let mut bytes = Vec::new();
            encode_topic(&topic, &mut bytes);
            assert_eq!(decode_topic(&bytes), Ok(topic));
        }
        let group = GroupOffsets {
            group: "g".into(),
            offsets: vec![(FilePartition { topic: 0, partition: 1 }, 9)],
        };
        let mut bytes = Vec::new();
        encode_group(&group, &mut bytes);
        assert_eq!(decode_group(&bytes), Ok(group));
        let record = record(vec![("a", "1"), ("a", "2"), ("", "")]);
        let mut bytes = Vec::new();
        encode_record(&record, &mut bytes);
        assert_eq!(decode_record(&bytes), Ok(record));
        let trailer = Trailer {
            partitions: vec![PartitionSummary {
                at: FilePartition { topic: 1, partition: 0 },
                records: 3,
                low: 1,
                high: 5,
            }],
            file_crc: 0xDEAD_BEEF,
        };
        let mut bytes = Vec::new();
        encode_trailer(&trailer, &mut bytes);
        assert_eq!(decode_trailer(&bytes), Ok(trailer));
    }

    #[test]
    fn every_truncation_of_a_record_is_an_error_naming_a_field() {
        let mut bytes = Vec::new();
        encode_record(&record(vec![("name", "value")]), &mut bytes);
        for len in 0..bytes.len() {
            let error = decode_record(&bytes[..len]).unwrap_err();
            assert!(error.contains("ends inside the") || error.contains("bytes left"), "{error}");
        }
        bytes.push(0);
        assert!(decode_record(&bytes).unwrap_err().contains("unexpected bytes"));
    }

    #[test]
    fn huge_counts_are_refused_before_any_allocation() {
        let mut bytes = u32::MAX.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[0; 12]);
        let error = decode_trailer(&bytes).unwrap_err();
        assert!(error.contains("trailer partition count is 4294967295"), "{error}");
    }

    #[test]
    fn bad_flags_and_zero_partitions_are_named() {
        let mut bytes = Vec::new();
        encode_topic(
            &TopicDecl { name: "t".into(), partitions: 1, cleanup: Cleanup::Compact },
            &mut bytes,
        );
        let last = bytes.len() - 1;
        bytes[last] = 7;
        assert!(decode_topic(&bytes).unwrap_err().contains("cleanup is 7"));
        bytes[last] = 1;
        bytes[5..9].copy_from_slice(&0u32.to_be_bytes());
        assert!(decode_topic(&bytes).unwrap_err().contains("0 partitions"));
    }
}
