//! Reading and writing the metadata headers of `nagare_schemas::metadata` on log records.

use bytes::Bytes;
use nagare_infra::Record;

/// Header of a dead-lettered record: why it could not be processed.
pub const DEADLETTER_REASON: &str = "reason";
/// Headers of a dead-lettered record: where it was read from.
pub const DEADLETTER_SOURCE_TOPIC: &str = "source_topic";
pub const DEADLETTER_SOURCE_PARTITION: &str = "source_partition";
pub const DEADLETTER_SOURCE_OFFSET: &str = "source_offset";

/// A header's value as text, if present and UTF-8.
pub fn header_str<'r>(record: &'r Record, name: &str) -> Option<&'r str> {
    record.header(name).and_then(|value| std::str::from_utf8(value).ok())
}

/// A header's value as an unsigned number, if present and well-formed.
pub fn header_u64(record: &Record, name: &str) -> Option<u64> {
    header_str(record, name).and_then(|text| text.parse().ok())
}

/// A header entry from text.
pub fn header(name: &str, value: impl AsRef<str>) -> (String, Bytes) {
    (name.to_owned(), Bytes::copy_from_slice(value.as_ref().as_bytes()))
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_and_numbers_and_ignores_garbage() {
        let record = Record {
            headers: vec![
                header("a", "12"),
                ("b".to_owned(), Bytes::from_static(&[0xff, 0xfe])),
                header("c", "-1"),
            ],
            ..Record::default()
        };
        assert_eq!(header_u64(&record, "a"), Some(12));
        assert_eq!(header_str(&record, "b"), None);
        assert_eq!(header_u64(&record, "c"), None);
        assert_eq!(header_str(&record, "missing"), None);
    }
}
