//! The Avro single-object codec: `C3 01`, the 8-byte little-endian CRC-64-AVRO fingerprint of the
//! writer schema, then the Avro binary body. A registry of every known writer schema (each
//! version of each record in `avro/`) decodes any version into the current Rust type by Avro
//! schema resolution.
//!
//! Encoding cannot fail: every value of the Rust record types fits its schema, which the
//! round-trip tests check for every record. Decoding never panics: bad input is a [`CodecError`].
//! Decoding into Rust types does not re-check that id fields hold UUIDs (the command processor
//! validates ids itself); `decode_to_json` does, as it builds typed Avro values.

mod canonical;
mod records;
mod registry;
mod wire;

#[cfg(test)]
mod roundtrip_tests;
#[cfg(test)]
mod tests;

pub use registry::{RecordKind, SchemaVersion};

use crate::commands::Command;
use crate::events::Event;
use crate::replies::CommandReply;

/// Why bytes could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("not an Avro single-object encoded value (expected the marker C3 01)")]
    NotSingleObject,
    #[error(
        "unknown writer schema fingerprint {0:#018x}: the record was written by a newer or foreign schema"
    )]
    UnknownFingerprint(u64),
    #[error("record `{record}` is corrupt: {reason}")]
    Corrupt { record: String, reason: String },
    #[error("expected a {expected} record, found `{found}`")]
    UnexpectedRecord { expected: &'static str, found: String },
}

/// The single-object encoding of a command, written with the newest version of its schema.
pub fn encode_command(command: &Command) -> Vec<u8> {
    records::encode_command(command)
}

/// A command from its single-object encoding, whichever known version wrote it.
pub fn decode_command(bytes: &[u8]) -> Result<Command, CodecError> {
    records::decode_command(&wire::locate(bytes)?)
}

/// The single-object encoding of an event, written with the newest version of its schema.
pub fn encode_event(event: &Event) -> Vec<u8> {
    records::encode_event(event)
}

/// An event from its single-object encoding, whichever known version wrote it.
pub fn decode_event(bytes: &[u8]) -> Result<Event, CodecError> {
    records::decode_event(&wire::locate(bytes)?)
}

/// The single-object encoding of a reply, written with the newest version of its schema.
pub fn encode_reply(reply: &CommandReply) -> Vec<u8> {
    records::encode_reply(reply)
}

/// A reply from its single-object encoding, whichever known version wrote it.
pub fn decode_reply(bytes: &[u8]) -> Result<CommandReply, CodecError> {
    records::decode_reply(&wire::locate(bytes)?)
}

/// Any known record as JSON (for subscriptions and tools): its full Avro name and its fields.
///
/// Older versions are resolved to the newest first, so a field added since appears with its
/// default. Ids are strings, yen and counts numbers, optional fields `null` or their value.
pub fn decode_to_json(bytes: &[u8]) -> Result<(String, serde_json::Value), CodecError> {
    let record = wire::locate(bytes)?;
    let value = record.read_value()?;
    let json = serde_json::Value::try_from(value).map_err(|e| CodecError::Corrupt {
        record: record.full_name().into(),
        reason: e.to_string(),
    })?;
    Ok((record.full_name().to_owned(), json))
}

/// The writer schema of a single-object encoded value, without decoding its body: for tools
/// that show which record and version a message holds.
pub fn writer_schema(bytes: &[u8]) -> Result<&'static SchemaVersion, CodecError> {
    wire::locate(bytes).map(|record| record.version())
}

/// Every schema version Nagare knows, in the order of the files under `avro/`.
pub fn known_schemas() -> &'static [SchemaVersion] {
    &registry::REGISTRY.versions
}
