//! The on-disk layout of the embedded log: the keyspace of each partition's records and their
//! keys, the mark of that layout, and the byte encodings of records, topic declarations and
//! committed offsets.
//!
//! Every decoder checks lengths and returns [`Error::Storage`] on malformed bytes: a damaged
//! file must surface as an error, never as a panic.

use bytes::Bytes;

use crate::log::{Cleanup, Offset, Record, TopicSpec};
use crate::{Error, Result};

/// The keyspace of one partition's records. A keyspace per partition keeps each one's keys
/// ascending in the order they are written, so every table the engine flushes lies past the
/// ones before it and is moved into place as it is, never merged and rewritten; a keyspace
/// shared by partitions written side by side had each new table overlap all the others.
pub(super) fn partition_keyspace(topic_id: u32, partition: u32) -> String {
    format!("records:{topic_id}:{partition}")
}

/// A record's key in its partition's keyspace: its offset (u64 BE), so keys sort by offset.
pub(super) fn record_key(offset: Offset) -> [u8; 8] {
    offset.to_be_bytes()
}

/// The offset stored in a record key.
pub(super) fn offset_of_record_key(key: &[u8]) -> Result<Offset> {
    let bytes: [u8; 8] = key.try_into().map_err(|_| corrupt("record key"))?;
    Ok(u64::from_be_bytes(bytes))
}

/// The layout this release writes: 2, a keyspace per partition. Layout 1 kept every record in
/// one `records` keyspace (see `legacy`) and had no mark.
pub(super) const LAYOUT: u8 = 2;

/// Where the layout's mark is kept: in the declarations keyspace, under a key no topic name
/// can be (names are printable ASCII).
pub(super) const LAYOUT_KEY: &[u8] = b"\0layout";

/// The mark: nine bytes a layout-1 release decodes as a topic declaration and rejects (its
/// cleanup byte is unknown), so such a release refuses this log with an error instead of
/// seeing every partition empty and writing from offset 0 again; then the layout number.
pub(super) fn encode_layout_mark() -> [u8; 10] {
    [0, 0, 0, 0, 0, 0, 0, 0, 0xff, LAYOUT]
}

/// The layout number in a stored mark.
pub(super) fn decode_layout_mark(bytes: &[u8]) -> Result<u8> {
    match bytes {
        [0, 0, 0, 0, 0, 0, 0, 0, 0xff, layout] => Ok(*layout),
        _ => Err(corrupt("layout mark")),
    }
}

/// Committed offsets: `len | group | len | topic | partition (u32 BE)`; length prefixes keep
/// `("ab", "c")` and `("a", "bc")` apart.
pub(super) fn committed_key(group: &str, topic: &str, partition: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(12 + group.len() + topic.len());
    put_bytes(&mut key, group.as_bytes());
    put_bytes(&mut key, topic.as_bytes());
    key.extend_from_slice(&partition.to_be_bytes());
    key
}

pub(super) fn encode_offset(offset: Offset) -> [u8; 8] {
    offset.to_be_bytes()
}

pub(super) fn decode_offset(bytes: &[u8]) -> Result<Offset> {
    let bytes: [u8; 8] = bytes.try_into().map_err(|_| corrupt("committed offset"))?;
    Ok(u64::from_be_bytes(bytes))
}

const CLEANUP_DELETE_FOREVER: u8 = 0;
const CLEANUP_DELETE_AFTER: u8 = 1;
const CLEANUP_COMPACT: u8 = 2;

/// A topic declaration, stored under the topic's name: `id | partitions | cleanup`.
pub(super) fn encode_topic(id: u32, spec: &TopicSpec) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(17);
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.extend_from_slice(&spec.partitions.to_be_bytes());
    match spec.cleanup {
        Cleanup::Delete { retention_ms: None } => bytes.push(CLEANUP_DELETE_FOREVER),
        Cleanup::Delete { retention_ms: Some(ms) } => {
            bytes.push(CLEANUP_DELETE_AFTER);
            bytes.extend_from_slice(&ms.to_be_bytes());
        }
        Cleanup::Compact => bytes.push(CLEANUP_COMPACT),
    }
    bytes
}

/// Decodes a stored declaration into its id and spec.
pub(super) fn decode_topic(name: &str, bytes: &[u8]) -> Result<(u32, TopicSpec)> {
    let mut input = Input::new(bytes, "topic declaration");
    let id = input.u32()?;
    let partitions = input.u32()?;
    let cleanup = match input.u8()? {
        CLEANUP_DELETE_FOREVER => Cleanup::Delete { retention_ms: None },
        CLEANUP_DELETE_AFTER => Cleanup::Delete { retention_ms: Some(input.i64()?) },
        CLEANUP_COMPACT => Cleanup::Compact,
        _ => return Err(corrupt("topic declaration")),
    };
    Ok((id, TopicSpec { name: name.to_owned(), partitions, cleanup }))
}

const ABSENT: u8 = 0;
const PRESENT: u8 = 1;

/// A record's value on disk: `timestamp | key? | value? | header count | headers`.
pub(super) fn encode_record(record: &Record) -> Vec<u8> {
    let headers_len: usize = record.headers.iter().map(|(k, v)| 8 + k.len() + v.len()).sum();
    let mut bytes = Vec::with_capacity(
        8 + 10
            + record.key.as_ref().map_or(0, Bytes::len)
            + record.value.as_ref().map_or(0, Bytes::len)
            + 4
            + headers_len,
    );
    bytes.extend_from_slice(&record.timestamp_ms.to_be_bytes());
    put_optional(&mut bytes, record.key.as_deref());
    put_optional(&mut bytes, record.value.as_deref());
    bytes.extend_from_slice(&(record.headers.len() as u32).to_be_bytes());
    for (name, value) in &record.headers {
        put_bytes(&mut bytes, name.as_bytes());
        put_bytes(&mut bytes, value);
    }
    bytes
}

pub(super) fn decode_record(stored: &[u8]) -> Result<Record> {
    // One copy of the stored bytes, of which the key, the value and the header values are
    // slices: a record costs one allocation for its bytes instead of one per field, which
    // counts when a projection reads a million of them.
    let bytes = Bytes::copy_from_slice(stored);
    let mut input = Input::new(&bytes, "record");
    let timestamp_ms = input.i64()?;
    let key = input.optional()?.map(|key| bytes.slice_ref(key));
    let value = input.optional()?.map(|value| bytes.slice_ref(value));
    let header_count = input.u32()? as usize;
    // Each header takes at least 8 bytes, which bounds the allocation by the input's size.
    let mut headers = Vec::with_capacity(header_count.min(input.remaining() / 8));
    for _ in 0..header_count {
        let name = std::str::from_utf8(input.bytes()?).map_err(|_| corrupt("header name"))?;
        let value = bytes.slice_ref(input.bytes()?);
        headers.push((name.to_owned(), value));
    }
    Ok(Record { key, value, headers, timestamp_ms })
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_optional(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => out.push(ABSENT),
        Some(bytes) => {
            out.push(PRESENT);
            put_bytes(out, bytes);
        }
    }
}

fn corrupt(what: &str) -> Error {
    Error::Storage(format!("corrupt {what} in the embedded log"))
}

/// A bounds-checked cursor over stored bytes.
struct Input<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Input<'a> {
    fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { bytes, what }
    }

    fn remaining(&self) -> usize {
        self.bytes.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.bytes.len() < n {
            return Err(corrupt(self.what));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let what = self.what;
        self.take(N)?.try_into().map_err(|_| corrupt(what))
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    fn optional(&mut self) -> Result<Option<&'a [u8]>> {
        match self.u8()? {
            ABSENT => Ok(None),
            PRESENT => Ok(Some(self.bytes()?)),
            _ => Err(corrupt(self.what)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            key: Some(Bytes::from_static(b"order-1")),
            value: None,
            headers: vec![
                ("event-type".into(), Bytes::from_static(b"OrderCreated")),
                ("empty".into(), Bytes::new()),
            ],
            timestamp_ms: -5,
        }
    }

    #[test]
    fn record_round_trips() -> Result<()> {
        let record = sample();
        assert_eq!(decode_record(&encode_record(&record))?, record);
        assert_eq!(decode_record(&encode_record(&Record::default()))?, Record::default());
        Ok(())
    }

    #[test]
    fn every_truncation_of_a_record_is_an_error_not_a_panic() {
        let bytes = encode_record(&sample());
        for len in 0..bytes.len() {
            assert!(decode_record(&bytes[..len]).is_err(), "prefix of {len} bytes");
        }
    }

    #[test]
    fn a_huge_header_count_does_not_allocate_or_panic() {
        let mut bytes = encode_record(&Record::default());
        let count_at = bytes.len() - 4;
        bytes[count_at..].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_record(&bytes).is_err());
    }

    #[test]
    fn record_keys_sort_by_offset() -> Result<()> {
        assert!(record_key(255) < record_key(256));
        assert!(record_key(0) < record_key(u64::MAX));
        assert_eq!(offset_of_record_key(&record_key(77))?, 77);
        assert!(offset_of_record_key(b"short").is_err());
        assert!(offset_of_record_key(&[0; 16]).is_err());
        Ok(())
    }

    #[test]
    fn partition_keyspaces_differ_and_fit_the_engine() {
        assert_ne!(partition_keyspace(1, 23), partition_keyspace(12, 3));
        assert!(partition_keyspace(u32::MAX, u32::MAX).len() <= 255);
    }

    #[test]
    fn the_layout_mark_round_trips_and_a_layout_1_release_rejects_it() -> Result<()> {
        assert_eq!(decode_layout_mark(&encode_layout_mark())?, LAYOUT);
        assert!(decode_layout_mark(b"").is_err());
        // What a layout-1 release does with every entry of the declarations keyspace.
        assert!(decode_topic("\0layout", &encode_layout_mark()).is_err());
        Ok(())
    }

    #[test]
    fn topic_declarations_round_trip() -> Result<()> {
        for cleanup in [
            Cleanup::Compact,
            Cleanup::Delete { retention_ms: None },
            Cleanup::Delete { retention_ms: Some(86_400_000) },
        ] {
            let spec = TopicSpec { name: "nagare.orders".into(), partitions: 12, cleanup };
            assert_eq!(decode_topic("nagare.orders", &encode_topic(9, &spec))?, (9, spec));
        }
        assert!(decode_topic("t", &[0, 0, 0, 1, 0, 0, 0, 1, 7]).is_err());
        Ok(())
    }

    #[test]
    fn committed_keys_do_not_collide() {
        assert_ne!(committed_key("ab", "c", 0), committed_key("a", "bc", 0));
    }
}
