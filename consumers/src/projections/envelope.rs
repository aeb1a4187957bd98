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
    Ok(EventEnvelope { event, version, timestamp_ms: record.record.timestamp_ms })
}
