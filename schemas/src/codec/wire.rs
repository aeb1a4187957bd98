//! Avro single-object encoding over the registry: the 10-byte header, and a reader and writer
//! prepared once per schema version so that the hot path neither parses nor resolves schemas.
//!
//! Writing serialises the Rust value straight into Avro binary with the newest version's schema.
//! Reading a value written with the newest version deserialises straight into the Rust type;
//! reading an older version decodes it with its writer schema, resolves it to the newest
//! (Avro schema resolution: fields added since get their defaults) and converts the result.

use std::sync::LazyLock;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::CodecError;
use super::registry::{REGISTRY, RecordKind, SchemaVersion};

/// The two marker bytes that open every single-object encoded value.
pub(crate) const MARKER: [u8; 2] = [0xC3, 0x01];
/// Marker plus the 8-byte fingerprint.
pub(crate) const HEADER_LEN: usize = 10;

/// Records are small (Kafka's default limit on a message is 1 MiB); a length prefix above this
/// is corruption, refused before anything is allocated for it.
const MAX_ALLOCATION_BYTES: usize = 16 * 1024 * 1024;

/// How one schema version is read.
enum VersionReader {
    /// The newest version: values deserialise directly into the Rust type.
    Newest(GenericDatumReader<'static>),
    /// An older version: values are resolved to the newest version on the way in.
    Older(GenericDatumReader<'static>),
}

/// Readers and writers for every registered version, in registry order.
struct Prepared {
    readers: Vec<VersionReader>,
    /// Only the newest version of each record is ever written; `None` for older ones.
    writers: Vec<Option<GenericDatumWriter<'static>>>,
}

static PREPARED: LazyLock<Prepared> = LazyLock::new(|| {
    // Process-wide in apache-avro; the first caller's value wins, and Nagare is the only one.
    apache_avro::util::max_allocation_bytes(MAX_ALLOCATION_BYTES);
    let registry = LazyLock::force(&REGISTRY);
    let mut readers = Vec::with_capacity(registry.versions.len());
    let mut writers = Vec::with_capacity(registry.versions.len());
    for (index, version) in registry.versions.iter().enumerate() {
        let newest = registry.newest(&version.full_name).unwrap_or(index);
        let reader = if newest == index {
            GenericDatumReader::builder(&version.schema).build().map(VersionReader::Newest)
        } else {
            GenericDatumReader::builder(&version.schema)
                .reader_schema(&registry.versions[newest].schema)
                .build()
                .map(VersionReader::Older)
        };
        // Schemas without named references always resolve; the tests prepare every version.
        readers.push(reader.unwrap_or_else(|e| panic!("{}: {e}", version.path)));
        writers.push((newest == index).then(|| {
            GenericDatumWriter::builder(&version.schema)
                .build()
                .unwrap_or_else(|e| panic!("{}: {e}", version.path))
        }));
    }
    Prepared { readers, writers }
});

/// Writes `value` as the newest version of the record `full_name`.
///
/// # Panics
/// Only if `full_name` is not a registered record or the Rust type does not fit its schema — a
/// mismatch between this crate's types and its `.avsc` files, which the round-trip tests rule
/// out for every record. No field value can make it fail: Avro strings, ints, longs, booleans,
/// arrays and optional fields take every value of the Rust types used.
pub(crate) fn encode<T: Serialize>(full_name: &str, value: &T) -> Vec<u8> {
    let registry = &*REGISTRY;
    let Some(index) = registry.newest(full_name) else {
        panic!("no schema is registered for the record {full_name}");
    };
    let Some(writer) = &PREPARED.writers[index] else {
        panic!("{full_name}: the newest version has no writer");
    };
    let version = &registry.versions[index];
    let mut bytes = Vec::with_capacity(128);
    bytes.extend_from_slice(&MARKER);
    bytes.extend_from_slice(&version.fingerprint.to_le_bytes());
    if let Err(e) = writer.write_ser(&mut bytes, value) {
        panic!("{}: the Rust type does not match the schema: {e}", version.path);
    }
    bytes
}

/// A single-object value whose header has been checked and whose writer schema is known.
pub(crate) struct Located<'b> {
    index: usize,
    body: &'b [u8],
}

impl Located<'_> {
    pub(crate) fn version(&self) -> &'static SchemaVersion {
        &REGISTRY.versions[self.index]
    }

    /// The record's full Avro name (the same for every version).
    pub(crate) fn full_name(&self) -> &'static str {
        &self.version().full_name
    }

    /// Fails unless the record is of the kind the caller decodes.
    pub(crate) fn expect_kind(&self, kind: RecordKind) -> Result<(), CodecError> {
        if self.version().kind == kind { Ok(()) } else { Err(self.unexpected(kind)) }
    }

    /// The error for a record that is known but not one the caller can take.
    pub(crate) fn unexpected(&self, expected: RecordKind) -> CodecError {
        CodecError::UnexpectedRecord { expected: expected.as_str(), found: self.full_name().into() }
    }

    /// Reads the body into the Rust type of the record's newest version.
    pub(crate) fn read<T: DeserializeOwned>(&self) -> Result<T, CodecError> {
        let mut rest = self.body;
        let value = match &PREPARED.readers[self.index] {
            VersionReader::Newest(reader) => reader.read_deser(&mut rest),
            VersionReader::Older(reader) => {
                reader.read_value(&mut rest).and_then(|value| apache_avro::from_value::<T>(&value))
            }
        }
        .map_err(|e| self.corrupt(e))?;
        self.check_consumed(rest)?;
        Ok(value)
    }

    /// Reads the body as the newest version of its record, as a generic Avro value.
    pub(crate) fn read_value(&self) -> Result<Value, CodecError> {
        let mut rest = self.body;
        let reader = match &PREPARED.readers[self.index] {
            VersionReader::Newest(reader) | VersionReader::Older(reader) => reader,
        };
        let value = reader.read_value(&mut rest).map_err(|e| self.corrupt(e))?;
        self.check_consumed(rest)?;
        Ok(value)
    }

    /// One value fills the whole message; bytes left over mean the body is not what the
    /// fingerprint says it is.
    fn check_consumed(&self, rest: &[u8]) -> Result<(), CodecError> {
        if rest.is_empty() {
            Ok(())
        } else {
            Err(self.corrupt(format!("{} bytes follow the end of the record", rest.len())))
        }
    }

    fn corrupt(&self, reason: impl ToString) -> CodecError {
        CodecError::Corrupt { record: self.full_name().into(), reason: reason.to_string() }
    }
}

/// Checks the header and finds the writer schema.
pub(crate) fn locate(bytes: &[u8]) -> Result<Located<'_>, CodecError> {
    if !bytes.starts_with(&MARKER) {
        return Err(CodecError::NotSingleObject);
    }
    let Some((fingerprint, body)) = bytes[MARKER.len()..].split_first_chunk::<8>() else {
        return Err(CodecError::Corrupt {
            record: "(unknown)".into(),
            reason: format!("the header is cut short: {} of {HEADER_LEN} bytes", bytes.len()),
        });
    };
    let fingerprint = u64::from_le_bytes(*fingerprint);
    let index =
        REGISTRY.by_fingerprint(fingerprint).ok_or(CodecError::UnknownFingerprint(fingerprint))?;
    Ok(Located { index, body })
}
