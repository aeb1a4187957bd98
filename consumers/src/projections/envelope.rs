//! An event as a projection needs it: decoded, with its aggregate version and time.

use nagare_infra::StoredRecord;
use nagare_schemas::codec;
use nagare_schemas::events::Event;
use nagare_schemas::metadata;

/// A decoded event and the metadata the read models record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EventEnvelope {
    pub(crate) event: Event,
    /// The aggregate's version after this event (from the `aggregate_version` header).
    pub(crate) version: i64,
    /// When the event was appended: the record's timestamp, so replays reproduce it exactly.
    pub(crate) timestamp_ms: i64,
    /// The log partition the event came from. A row that events of several partitions change
    /// is kept as one row per partition, so each has a single writer (see `tables::count_key`).
    pub(crate) partition: u32,
}

/// Decodes a record of an events topic; the error says why it cannot be applied.
pub(crate) fn open(record: &StoredRecord) -> Result<EventEnvelope, String> {
    let value = record.record.value.as_ref().ok_or("the record has no value")?;
    let event = codec::decode_event(value).map_err(|e| e.to_string())?;
    let version = record
        .record
        .header(metadata::AGGREGATE_VERSION)
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .and_then(|text| text.trim().parse::<i64>().ok())
        .filter(|version| *version > 0)
        .ok_or("missing or invalid `aggregate_version` header")?;
    Ok(EventEnvelope {
        event,
        version,
        timestamp_ms: record.record.timestamp_ms,
        partition: record.partition,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use nagare_infra::Record;
    use nagare_schemas::events::{CategoryDeleted, CategoryEvent};

    fn record(value: Option<Bytes>, version: Option<&'static str>) -> StoredRecord {
        let headers = version
            .map(|v| (metadata::AGGREGATE_VERSION.to_owned(), Bytes::from_static(v.as_bytes())))
            .into_iter()
            .collect();
        StoredRecord {
            topic: "nagare.events.category".into(),
            partition: 0,
            offset: 7,
            record: Record { key: None, value, headers, timestamp_ms: 42 },
        }
    }

    fn deleted() -> Event {
        Event::Category(CategoryEvent::Deleted(CategoryDeleted { category_id: "c".into() }))
    }

    #[test]
    fn opens_an_event_with_its_version_and_time() {
        let value = Some(Bytes::from(codec::encode_event(&deleted())));
        let envelope = open(&record(value, Some("3"))).unwrap();
        let expected =
            EventEnvelope { event: deleted(), version: 3, timestamp_ms: 42, partition: 0 };
        assert_eq!(envelope, expected);
    }

    #[test]
    fn says_why_a_record_cannot_be_applied() {
        let value = || Some(Bytes::from(codec::encode_event(&deleted())));
        for version in [None, Some("0"), Some("-1"), Some("three")] {
            let reason = open(&record(value(), version)).unwrap_err();
            assert!(reason.contains("aggregate_version"), "{reason}");
        }
        assert!(open(&record(None, Some("1"))).unwrap_err().contains("no value"));
        assert!(open(&record(Some(Bytes::from_static(b"junk")), Some("1"))).is_err());
    }
}
