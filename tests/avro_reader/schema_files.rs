//! The writer schemas a client knows: every `.avsc` file of a directory, by fingerprint, and
//! the decoding of an Avro single-object encoded value with them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value as AvroValue;

use super::canonical_form::{canonical_form, declared_full_name};
use super::fingerprint::fingerprint64;

/// The two bytes every single-object encoded value starts with.
const MARKER: [u8; 2] = [0xc3, 0x01];
/// The marker and the eight bytes of the writer schema's fingerprint.
const HEADER_LEN: usize = 10;

/// One `.avsc` file.
#[derive(Debug)]
pub(crate) struct WriterSchema {
    pub(crate) file: PathBuf,
    /// E.g. `nagare.events.order.OrderCreated`.
    pub(crate) full_name: String,
    pub(crate) schema: Schema,
}

impl WriterSchema {
    /// The record's name without its namespace, e.g. `OrderCreated`.
    pub(crate) fn name(&self) -> &str {
        self.full_name.rsplit('.').next().unwrap_or(&self.full_name)
    }

    /// The namespace, e.g. `nagare.events.order`.
    pub(crate) fn namespace(&self) -> &str {
        self.full_name.rsplit_once('.').map_or("", |(namespace, _)| namespace)
    }
}

/// Every schema of a directory tree, by the fingerprint of its canonical form.
#[derive(Debug)]
pub(crate) struct WriterSchemas {
    by_fingerprint: HashMap<u64, WriterSchema>,
}

impl WriterSchemas {
    /// Loads every `.avsc` file under `dir`.
    pub(crate) fn load(dir: &Path) -> Result<Self, String> {
        let mut files = Vec::new();
        collect_avsc_files(dir, &mut files)?;
        let mut by_fingerprint = HashMap::new();
        for file in files {
            let text = std::fs::read_to_string(&file)
                .map_err(|error| format!("cannot read {}: {error}", file.display()))?;
            let json: serde_json::Value = serde_json::from_str(&text)
                .map_err(|error| format!("{} is not JSON: {error}", file.display()))?;
            let canonical =
                canonical_form(&json).map_err(|e| format!("{}: {e}", file.display()))?;
            let full_name =
                declared_full_name(&json).map_err(|e| format!("{}: {e}", file.display()))?;
            let schema = Schema::parse_str(&text)
                .map_err(|error| format!("{} does not parse: {error}", file.display()))?;
            let loaded = WriterSchema { file, full_name, schema };
            if let Some(earlier) =
                by_fingerprint.insert(fingerprint64(canonical.as_bytes()), loaded)
            {
                return Err(format!(
                    "{} has the fingerprint of another file",
                    earlier.file.display()
                ));
            }
        }
        Ok(Self { by_fingerprint })
    }

    pub(crate) fn len(&self) -> usize {
        self.by_fingerprint.len()
    }

    /// Decodes one single-object encoded value: the marker, the writer schema's fingerprint
    /// (little-endian), then the datum, which must take up the rest of the value exactly.
    pub(crate) fn decode(&self, value: &[u8]) -> Result<(&WriterSchema, AvroValue), String> {
        if value.len() < HEADER_LEN || value[..2] != MARKER {
            let start: Vec<String> =
                value.iter().take(HEADER_LEN).map(|b| format!("{b:02x}")).collect();
            return Err(format!(
                "not single-object encoded: {} bytes starting {}",
                value.len(),
                start.join(" ")
            ));
        }
        let mut fingerprint = [0u8; 8];
        fingerprint.copy_from_slice(&value[2..HEADER_LEN]);
        let fingerprint = u64::from_le_bytes(fingerprint);
        let writer = self
            .by_fingerprint
            .get(&fingerprint)
            .ok_or_else(|| format!("no .avsc file has the fingerprint {fingerprint:016x}"))?;
        let mut datum = &value[HEADER_LEN..];
        let decoded = GenericDatumReader::builder(&writer.schema)
            .build()
            .and_then(|reader| reader.read_value(&mut datum))
            .map_err(|error| format!("not a {} datum: {error}", writer.full_name))?;
        if !datum.is_empty() {
            return Err(format!("{} bytes left after the {} datum", datum.len(), writer.full_name));
        }
        Ok((writer, decoded))
    }
}

fn collect_avsc_files(dir: &Path, into: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| format!("cannot list {}: {error}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|error| format!("cannot list {}: {error}", dir.display()))?.path();
        if path.is_dir() {
            collect_avsc_files(&path, into)?;
        } else if path.extension().is_some_and(|extension| extension == "avsc") {
            into.push(path);
        }
    }
    Ok(())
}

/// A field of a decoded record, if the value is a record with that field.
pub(crate) fn field<'v>(record: &'v AvroValue, name: &str) -> Option<&'v AvroValue> {
    let AvroValue::Record(fields) = record else { return None };
    fields.iter().find(|(field, _)| field == name).map(|(_, value)| value)
}

/// A string or UUID value as text.
pub(crate) fn text(value: &AvroValue) -> Option<String> {
    match value {
        AvroValue::String(text) => Some(text.clone()),
        AvroValue::Uuid(uuid) => Some(uuid.to_string()),
        _ => None,
    }
}
