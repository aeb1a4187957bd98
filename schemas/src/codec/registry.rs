//! The registry of known writer schemas: every `.avsc` file under `avro/`, compiled into the
//! binary, parsed once, and indexed by fingerprint (to decode) and by record name (to find the
//! newest version, which is what encode writes and decode resolves to).

use std::collections::HashMap;
use std::sync::LazyLock;

use apache_avro::Schema;

use super::canonical::{fingerprint64, parsing_canonical_form};

/// What a record is, from the folder its schema lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Command,
    Event,
    Reply,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Command => "command",
            RecordKind::Event => "event",
            RecordKind::Reply => "reply",
        }
    }
}

/// One version of one record, as written in its `.avsc` file.
#[derive(Debug)]
pub struct SchemaVersion {
    /// The file's path under `schemas/avro/`, e.g. `events/product/ProductCreated.v2.avsc`.
    pub path: &'static str,
    /// The record's full Avro name, e.g. `nagare.events.product.ProductCreated`.
    pub full_name: String,
    /// The version from the file name (`.v2.avsc` is 2), counting from 1.
    pub version: u32,
    /// The schema's Parsing Canonical Form, as the Avro specification defines it.
    pub canonical_form: String,
    /// CRC-64-AVRO (Rabin) fingerprint of `canonical_form`: the 8 bytes after `C3 01` in every
    /// value written with this schema, read as a little-endian integer.
    pub fingerprint: u64,
    pub kind: RecordKind,
    /// The `.avsc` text exactly as in the file.
    pub text: &'static str,
    pub schema: Schema,
}

/// Each schema file as `(path under avro/, contents)`. A test walks `avro/` and fails when a file
/// is missing here, so a new version cannot be forgotten.
macro_rules! embed {
    ($path:literal) => {
        ($path, include_str!(concat!("../../avro/", $path)))
    };
}

pub(crate) const SCHEMA_FILES: &[(&str, &str)] = &[
    embed!("commands/AddStock.v1.avsc"),
    embed!("commands/CancelOrder.v1.avsc"),
    embed!("commands/ChangeProductPrice.v1.avsc"),
    embed!("commands/CreateCategory.v1.avsc"),
    embed!("commands/CreateProduct.v1.avsc"),
    embed!("commands/DeleteCategory.v1.avsc"),
    embed!("commands/DeleteProduct.v1.avsc"),
    embed!("commands/PlaceOrder.v1.avsc"),
    embed!("commands/ReleaseStock.v1.avsc"),
    embed!("commands/ReserveStock.v1.avsc"),
    embed!("commands/UpdateCategory.v1.avsc"),
    embed!("commands/UpdateProduct.v1.avsc"),
    embed!("events/category/CategoryCreated.v1.avsc"),
    embed!("events/category/CategoryDeleted.v1.avsc"),
    embed!("events/category/CategoryUpdated.v1.avsc"),
    embed!("events/order/OrderCancelled.v1.avsc"),
    embed!("events/order/OrderConfirmed.v1.avsc"),
    embed!("events/order/OrderCreated.v1.avsc"),
    embed!("events/order/OrderPaymentFailed.v1.avsc"),
    embed!("events/order/OrderPaymentProcessed.v1.avsc"),
    embed!("events/product/ProductCreated.v1.avsc"),
    embed!("events/product/ProductCreated.v2.avsc"),
    embed!("events/product/ProductDeleted.v1.avsc"),
    embed!("events/product/ProductPriceChanged.v1.avsc"),
    embed!("events/product/ProductUpdated.v1.avsc"),
    embed!("events/product/StockAdded.v1.avsc"),
    embed!("events/product/StockReleased.v1.avsc"),
    embed!("events/product/StockReservationRejected.v1.avsc"),
    embed!("events/product/StockReserved.v1.avsc"),
    embed!("replies/CommandAccepted.v1.avsc"),
    embed!("replies/CommandRejected.v1.avsc"),
    embed!("replies/CommandRejected.v2.avsc"),
];

/// Every known schema version, indexed for the codec.
#[derive(Debug)]
pub(crate) struct Registry {
    pub(crate) versions: Vec<SchemaVersion>,
    by_fingerprint: HashMap<u64, usize>,
    newest_by_name: HashMap<String, usize>,
}

/// The registry of the files embedded above, built on first use. The files are part of the
/// binary and `Registry::build` is tested on exactly them, so building cannot fail at run time.
pub(crate) static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    Registry::build(SCHEMA_FILES)
        .unwrap_or_else(|reason| panic!("the embedded Avro schemas are inconsistent: {reason}"))
});

impl Registry {
    /// Parses and checks every file: the file name names the record and its version, the folder
    /// gives its namespace, and no two files share a version or a fingerprint.
    pub(crate) fn build(files: &[(&'static str, &'static str)]) -> Result<Registry, String> {
        let mut versions = Vec::with_capacity(files.len());
        for &(path, text) in files {
            versions.push(parse_file(path, text)?);
        }
        let mut by_fingerprint = HashMap::new();
        let mut newest_by_name: HashMap<String, usize> = HashMap::new();
        for (index, version) in versions.iter().enumerate() {
            if let Some(&other) = by_fingerprint.get(&version.fingerprint) {
                let other: &SchemaVersion = &versions[other];
                return Err(format!(
                    "{} and {} have the same fingerprint: a new version must change the layout",
                    other.path, version.path
                ));
            }
            by_fingerprint.insert(version.fingerprint, index);
            match newest_by_name.get(&version.full_name) {
                Some(&current) if versions[current].version == version.version => {
                    return Err(format!(
                        "{} and {} are the same version",
                        versions[current].path, version.path
                    ));
                }
                Some(&current) if versions[current].version > version.version => {}
                _ => {
                    newest_by_name.insert(version.full_name.clone(), index);
                }
            }
        }
        Ok(Registry { versions, by_fingerprint, newest_by_name })
    }

    pub(crate) fn by_fingerprint(&self, fingerprint: u64) -> Option<usize> {
        self.by_fingerprint.get(&fingerprint).copied()
    }

    /// The index of the newest version of the record with this full name.
    pub(crate) fn newest(&self, full_name: &str) -> Option<usize> {
        self.newest_by_name.get(full_name).copied()
    }
}

fn parse_file(path: &'static str, text: &'static str) -> Result<SchemaVersion, String> {
    let schema = Schema::parse_str(text).map_err(|e| format!("{path}: {e}"))?;
    let Schema::Record(record) = &schema else {
        return Err(format!("{path}: the top level must be a record"));
    };
    let (folder, file) = path.rsplit_once('/').ok_or_else(|| format!("{path}: not in a folder"))?;
    let (name, version) = file
        .strip_suffix(".avsc")
        .and_then(|stem| stem.rsplit_once(".v"))
        .and_then(|(name, version)| Some((name, version.parse::<u32>().ok()?)))
        .filter(|&(_, version)| version >= 1)
        .ok_or_else(|| format!("{path}: the file name must be <Record>.v<N>.avsc, N from 1"))?;
    let kind = match folder.split('/').next() {
        Some("commands") => RecordKind::Command,
        Some("events") => RecordKind::Event,
        Some("replies") => RecordKind::Reply,
        _ => return Err(format!("{path}: must be under commands/, events/ or replies/")),
    };
    let full_name = format!("nagare.{}.{name}", folder.replace('/', "."));
    if record.name.fullname(None) != full_name {
        return Err(format!(
            "{path}: the record is named {}, the path says {full_name}",
            record.name.fullname(None)
        ));
    }
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("{path}: {e}"))?;
    let canonical_form = parsing_canonical_form(&json).map_err(|e| format!("{path}: {e}"))?;
    let fingerprint = fingerprint64(canonical_form.as_bytes());
    Ok(SchemaVersion { path, full_name, version, canonical_form, fingerprint, kind, text, schema })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};

    use super::*;

    fn files_on_disk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("avro/ is readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                files_on_disk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "avsc") {
                let relative = path.strip_prefix(root).expect("under avro/");
                out.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }

    #[test]
    fn every_file_under_avro_is_registered() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("avro");
        let mut on_disk = BTreeSet::new();
        files_on_disk(&root, &root, &mut on_disk);
        let registered: BTreeSet<String> =
            SCHEMA_FILES.iter().map(|(path, _)| (*path).to_owned()).collect();
        assert_eq!(on_disk, registered, "add new .avsc files to SCHEMA_FILES");
        assert_eq!(REGISTRY.versions.len(), on_disk.len());
    }

    #[test]
    fn the_embedded_files_build_a_consistent_registry() {
        let registry = Registry::build(SCHEMA_FILES).expect("consistent");
        for version in &registry.versions {
            assert_eq!(
                registry.by_fingerprint(version.fingerprint).map(|i| &registry.versions[i].path),
                Some(&version.path)
            );
        }
        let newest = registry.newest("nagare.events.product.ProductCreated").expect("known");
        assert_eq!(registry.versions[newest].version, 2);
        assert_eq!(registry.versions[newest].path, "events/product/ProductCreated.v2.avsc");
    }

    #[test]
    fn every_version_is_fully_compatible_with_each_earlier_one() {
        let mut checked = 0;
        for later in &REGISTRY.versions {
            for earlier in REGISTRY
                .versions
                .iter()
                .filter(|v| v.full_name == later.full_name && v.version < later.version)
            {
                let compatibility =
                    SchemaCompatibility::mutual_read(&later.schema, &earlier.schema)
                        .unwrap_or_else(|e| panic!("{} vs {}: {e}", later.path, earlier.path));
                assert_eq!(
                    compatibility,
                    Compatibility::Full,
                    "{} vs {}",
                    later.path,
                    earlier.path
                );
                checked += 1;
            }
        }
        // ProductCreated v1→v2 and CommandRejected v1→v2 at least.
        assert!(checked >= 2, "only {checked} version pairs were checked");
    }

    #[test]
    fn versions_count_from_one_without_gaps() {
        let mut by_name: HashMap<&str, Vec<u32>> = HashMap::new();
        for version in &REGISTRY.versions {
            by_name.entry(&version.full_name).or_default().push(version.version);
        }
        for (name, mut versions) in by_name {
            versions.sort_unstable();
            let expected: Vec<u32> = (1..=versions.len() as u32).collect();
            assert_eq!(versions, expected, "{name}");
        }
    }

    #[test]
    fn every_record_and_field_is_documented() {
        fn check(value: &serde_json::Value, path: &str) {
            match value {
                serde_json::Value::Object(map) => {
                    if map.get("type").and_then(|t| t.as_str()) == Some("record") {
                        assert!(map.contains_key("doc"), "{path}: a record without doc");
                        for field in map["fields"].as_array().expect("fields") {
                            assert!(
                                field.get("doc").is_some(),
                                "{path}: field {} without doc",
                                field["name"]
                            );
                        }
                    }
                    map.values().for_each(|v| check(v, path));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| check(v, path)),
                _ => {}
            }
        }
        for (path, text) in SCHEMA_FILES {
            check(&serde_json::from_str(text).expect("JSON"), path);
        }
    }

    #[test]
    fn mismatched_names_and_duplicate_versions_are_refused() {
        let text = include_str!("../../avro/commands/AddStock.v1.avsc");
        assert!(Registry::build(&[("commands/RemoveStock.v1.avsc", text)]).is_err());
        assert!(Registry::build(&[("events/product/AddStock.v1.avsc", text)]).is_err());
        assert!(Registry::build(&[("commands/AddStock.avsc", text)]).is_err());
        assert!(Registry::build(&[("commands/AddStock.v0.avsc", text)]).is_err());
        let err = Registry::build(&[
            ("commands/AddStock.v1.avsc", text),
            ("commands/AddStock.v2.avsc", text),
        ])
        .expect_err("same layout twice");
        assert!(err.contains("same fingerprint"), "{err}");
    }
}
