//! The codec against the Avro specification, apache-avro's own single-object reader and writer,
//! older schema versions, and bad input.

use apache_avro::headers::HeaderBuilder;
use apache_avro::rabin::Rabin;
use apache_avro::types::Value;
use apache_avro::{GenericSingleObjectReader, GenericSingleObjectWriter, Schema};

use super::registry::{REGISTRY, SCHEMA_FILES};
use super::*;
use crate::commands::AddStock;
use crate::events::{ProductCreated, ProductEvent};
use crate::replies::{CommandRejected, RejectionCode};

const PRODUCT: &str = "0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b";
const CATEGORY: &str = "0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8c";

/// CRC-64-AVRO exactly as the specification gives it (`fingerprint64`), written independently of
/// apache-avro so the two can be compared.
fn spec_fingerprint64(bytes: &[u8]) -> u64 {
    const EMPTY: u64 = 0xc15d_213a_a4d7_a795;
    let table: Vec<u64> = (0..256u64)
        .map(|i| (0..8).fold(i, |fp, _| (fp >> 1) ^ (EMPTY & (fp & 1).wrapping_neg())))
        .collect();
    bytes.iter().fold(EMPTY, |fp, &b| (fp >> 8) ^ table[((fp ^ u64::from(b)) & 0xff) as usize])
}

fn schema_file(path: &str) -> Schema {
    let (_, text) = SCHEMA_FILES.iter().find(|(p, _)| *p == path).expect("registered");
    Schema::parse_str(text).expect("valid")
}

fn add_stock() -> Command {
    Command::AddStock(AddStock { product_id: PRODUCT.into(), quantity: 5 })
}

#[test]
fn header_is_marker_then_little_endian_rabin_fingerprint_of_the_canonical_form() {
    let bytes = encode_command(&add_stock());
    let version = writer_schema(&bytes).expect("known");
    assert_eq!(version.path, "commands/AddStock.v1.avsc");
    // What a client in another language computes from the .avsc: doc and logicalType dropped,
    // the UUID reduced to its primitive.
    let canonical = r#"{"name":"nagare.commands.AddStock","type":"record","fields":[{"name":"product_id","type":"string"},{"name":"quantity","type":"int"}]}"#;
    assert_eq!(version.canonical_form, canonical);
    let fingerprint = spec_fingerprint64(canonical.as_bytes());
    assert_eq!(&bytes[..2], &[0xC3, 0x01]);
    assert_eq!(&bytes[2..10], &fingerprint.to_le_bytes());
    // apache-avro's Rabin digest of the same canonical form gives the same 8 bytes.
    let canonical_schema = Schema::parse_str(canonical).expect("valid");
    assert_eq!(canonical_schema.canonical_form(), canonical);
    assert_eq!(&bytes[2..10], canonical_schema.fingerprint::<Rabin>().bytes.as_slice());
    // The body: string length 36 (zigzag 72), the id, then 5 as zigzag varint (10).
    assert_eq!(bytes[10], 72);
    assert_eq!(&bytes[11..47], PRODUCT.as_bytes());
    assert_eq!(&bytes[47..], &[10]);
}

#[test]
fn every_registered_fingerprint_matches_the_specification_and_apache_avro_rabin() {
    for version in known_schemas() {
        let canonical = &version.canonical_form;
        assert_eq!(
            version.fingerprint,
            spec_fingerprint64(canonical.as_bytes()),
            "{}",
            version.path
        );
        // The canonical form is itself a schema whose apache-avro canonical form is unchanged,
        // so apache-avro's Rabin fingerprint of it is the fingerprint of the canonical form.
        let schema = Schema::parse_str(canonical).expect("the canonical form parses");
        assert_eq!(&schema.canonical_form(), canonical, "{}", version.path);
        let rabin = schema.fingerprint::<Rabin>().bytes;
        assert_eq!(rabin.as_slice(), &version.fingerprint.to_le_bytes(), "{}", version.path);
    }
}

/// apache-avro 0.22 keeps `{"type":"string"}` for a UUID in its canonical form, against the
/// specification; Nagare therefore computes fingerprints itself. When this starts failing, the
/// library has been fixed and can be used directly.
#[test]
fn apache_avro_canonical_form_still_differs_for_logical_types() {
    let uuid_schema = schema_file("commands/AddStock.v1.avsc");
    let version = writer_schema(&encode_command(&add_stock())).expect("known");
    assert_ne!(uuid_schema.canonical_form(), version.canonical_form);
}

#[test]
fn apache_avro_single_object_reader_reads_what_nagare_writes() {
    let bytes = encode_command(&add_stock());
    let version = writer_schema(&bytes).expect("known");
    let reader = GenericSingleObjectReader::builder()
        .schema(schema_file("commands/AddStock.v1.avsc"))
        .header(bytes[..10].to_vec())
        .build()
        .expect("reader");
    let value = reader.read_value(&mut bytes.as_slice()).expect("readable");
    let Value::Record(fields) = value else { panic!("a record") };
    assert_eq!(fields[1], ("quantity".to_owned(), Value::Int(5)));
    assert_eq!(&bytes[2..10], &version.fingerprint.to_le_bytes());
}

/// apache-avro's own single-object writer for an older version, with the specification's header.
fn v1_writer(path: &str) -> GenericSingleObjectWriter {
    let version = known_schemas().iter().find(|v| v.path == path).expect("registered");
    let header = SpecHeader(version.fingerprint);
    GenericSingleObjectWriter::new_with_capacity_and_header_builder(&version.schema, 128, &header)
        .expect("writer")
}

struct SpecHeader(u64);

impl HeaderBuilder for SpecHeader {
    fn build_header(&self) -> Vec<u8> {
        let mut header = vec![0xC3, 0x01];
        header.extend_from_slice(&self.0.to_le_bytes());
        header
    }
}

/// Bytes as a producer still on `ProductCreated.v1` wrote them, by apache-avro's own writer.
fn product_created_v1_bytes() -> Vec<u8> {
    let mut writer = v1_writer("events/product/ProductCreated.v1.avsc");
    let record = Value::Record(vec![
        ("product_id".into(), Value::Uuid(PRODUCT.parse().expect("uuid"))),
        ("category_id".into(), Value::Uuid(CATEGORY.parse().expect("uuid"))),
        ("name".into(), Value::String("抹茶 200g".into())),
        ("price".into(), Value::Long(1_980)),
        ("initial_stock".into(), Value::Int(12)),
    ]);
    let mut bytes = Vec::new();
    writer.write_value(record, &mut bytes).expect("written");
    bytes
}

#[test]
fn a_product_created_v1_record_reads_into_todays_type_without_a_description() {
    let bytes = product_created_v1_bytes();
    assert_eq!(writer_schema(&bytes).expect("known").version, 1);
    let event = decode_event(&bytes).expect("resolved to v2");
    let expected = ProductCreated {
        product_id: PRODUCT.into(),
        category_id: CATEGORY.into(),
        name: "抹茶 200g".into(),
        description: None,
        price: 1_980,
        initial_stock: 12,
    };
    assert_eq!(event, Event::Product(ProductEvent::Created(expected)));
    let (name, json) = decode_to_json(&bytes).expect("json");
    assert_eq!(name, "nagare.events.product.ProductCreated");
    assert_eq!(json["description"], serde_json::Value::Null);
    assert_eq!(json["price"], serde_json::json!(1_980));
}

#[test]
fn a_command_rejected_v1_record_reads_as_naming_no_field() {
    let mut writer = v1_writer("replies/CommandRejected.v1.avsc");
    let record = Value::Record(vec![
        ("command_id".into(), Value::String("client-key-1".into())),
        ("aggregate_id".into(), Value::String(PRODUCT.into())),
        ("code".into(), Value::Enum(1, "NOT_FOUND".into())),
        ("message".into(), Value::String("no such category".into())),
    ]);
    let mut bytes = Vec::new();
    writer.write_value(record, &mut bytes).expect("written");
    let reply = decode_reply(&bytes).expect("resolved to v2");
    let expected = CommandRejected {
        command_id: "client-key-1".into(),
        aggregate_id: PRODUCT.into(),
        code: RejectionCode::NotFound,
        field: None,
        message: "no such category".into(),
    };
    assert_eq!(reply, CommandReply::Rejected(expected));
}

#[test]
fn encode_writes_the_newest_version() {
    let event = Event::Product(ProductEvent::Created(ProductCreated {
        product_id: PRODUCT.into(),
        category_id: CATEGORY.into(),
        name: "煎茶".into(),
        description: Some("静岡".into()),
        price: 1,
        initial_stock: 0,
    }));
    let written = writer_schema(&encode_event(&event)).expect("known");
    assert_eq!(written.path, "events/product/ProductCreated.v2.avsc");
    assert_eq!(written.kind, RecordKind::Event);
}

#[test]
fn a_value_without_the_marker_is_refused() {
    assert!(matches!(decode_event(b""), Err(CodecError::NotSingleObject)));
    assert!(matches!(decode_event(b"{\"json\":1}"), Err(CodecError::NotSingleObject)));
    assert!(matches!(decode_to_json(&[0xC3]), Err(CodecError::NotSingleObject)));
    let mut bytes = encode_command(&add_stock());
    bytes[1] = 0x02;
    assert!(matches!(decode_command(&bytes), Err(CodecError::NotSingleObject)));
}

#[test]
fn an_unknown_fingerprint_is_named() {
    let mut bytes = encode_command(&add_stock());
    bytes[2..10].copy_from_slice(&0x0123_4567_89ab_cdef_u64.to_le_bytes());
    let err = decode_command(&bytes).expect_err("unknown");
    assert!(matches!(err, CodecError::UnknownFingerprint(0x0123_4567_89ab_cdef)));
    assert!(err.to_string().contains("0x0123456789abcdef"), "{err}");
}

#[test]
fn a_truncated_header_or_body_is_corrupt() {
    let bytes = encode_command(&add_stock());
    for len in 2..bytes.len() {
        let err = decode_command(&bytes[..len]).expect_err("truncated");
        assert!(matches!(err, CodecError::Corrupt { .. }), "{len}: {err}");
    }
    let err = decode_command(&bytes[..20]).expect_err("truncated");
    assert!(err.to_string().contains("nagare.commands.AddStock"), "{err}");
}

#[test]
fn trailing_bytes_are_corrupt() {
    let mut bytes = encode_command(&add_stock());
    bytes.push(0);
    assert!(matches!(decode_command(&bytes), Err(CodecError::Corrupt { .. })));
    assert!(matches!(decode_to_json(&bytes), Err(CodecError::Corrupt { .. })));
}

#[test]
fn a_huge_length_prefix_is_refused_without_allocating_it() {
    let mut bytes = encode_command(&add_stock());
    bytes.truncate(10);
    // A string length of 2^40 as a zigzag varint.
    bytes.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x40]);
    assert!(matches!(decode_command(&bytes), Err(CodecError::Corrupt { .. })));
}

#[test]
fn a_record_of_another_kind_is_refused() {
    let bytes = encode_command(&add_stock());
    let err = decode_event(&bytes).expect_err("a command");
    assert!(
        matches!(&err, CodecError::UnexpectedRecord { expected: "event", found } if found == "nagare.commands.AddStock"),
        "{err}"
    );
    assert!(matches!(decode_reply(&bytes), Err(CodecError::UnexpectedRecord { .. })));
    assert_eq!(decode_command(&bytes).expect("a command"), add_stock());
}

#[test]
fn json_has_the_record_name_and_its_fields() {
    let (name, json) = decode_to_json(&encode_command(&add_stock())).expect("json");
    assert_eq!(name, "nagare.commands.AddStock");
    assert_eq!(json, serde_json::json!({ "product_id": PRODUCT, "quantity": 5 }));
}

#[test]
fn every_version_has_a_prepared_reader_and_the_newest_a_writer() {
    // Decoding a value of each version exercises its prepared reader.
    for version in &REGISTRY.versions {
        let mut bytes = vec![0xC3, 0x01];
        bytes.extend_from_slice(&version.fingerprint.to_le_bytes());
        let found = writer_schema(&bytes).expect("known");
        assert_eq!(found.path, version.path);
        assert!(matches!(decode_to_json(&bytes), Err(CodecError::Corrupt { .. })));
    }
}

/// Random bytes after a valid header never panic, whatever they decode to.
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(index in 0..REGISTRY.versions.len(), body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut bytes = vec![0xC3, 0x01];
            bytes.extend_from_slice(&REGISTRY.versions[index].fingerprint.to_le_bytes());
            bytes.extend_from_slice(&body);
            let _ = decode_command(&bytes);
            let _ = decode_event(&bytes);
            let _ = decode_reply(&bytes);
            let _ = decode_to_json(&bytes);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_event(&bytes);
            let _ = decode_to_json(&bytes);
        }
    }
}

/// The header bytes 2–9 of every released schema version, as fastavro (Python) computes them
/// from the same files; Java's `SchemaNormalization` agrees. Pinning them also keeps a released
/// file from being edited in place: a changed layout changes its fingerprint and fails here.
const RELEASED_FINGERPRINTS: &[(&str, &str)] = &[
    ("commands/AddStock.v1.avsc", "2e996b83f8942f3a"),
    ("commands/CancelOrder.v1.avsc", "f1747c05c7ba5544"),
    ("commands/ChangeProductPrice.v1.avsc", "340beeeaa7899f40"),
    ("commands/CreateCategory.v1.avsc", "dead382e5df35532"),
    ("commands/CreateProduct.v1.avsc", "a02a087ad024e049"),
    ("commands/DeleteCategory.v1.avsc", "da240b931bceffc8"),
    ("commands/DeleteProduct.v1.avsc", "67a38824333b3018"),
    ("commands/PlaceOrder.v1.avsc", "b6c52e30d08881e7"),
    ("commands/ReleaseStock.v1.avsc", "4bac8459c0366ff7"),
    ("commands/ReserveStock.v1.avsc", "e217c5fe3177b6d1"),
    ("commands/UpdateCategory.v1.avsc", "f08f97829f715a34"),
    ("commands/UpdateProduct.v1.avsc", "d5282baaf205e80c"),
    ("events/category/CategoryCreated.v1.avsc", "21b9a553059e6d93"),
    ("events/category/CategoryDeleted.v1.avsc", "a4b561e23a580305"),
    ("events/category/CategoryUpdated.v1.avsc", "7e07a723f1d792e6"),
    ("events/order/OrderCancelled.v1.avsc", "7519c9252a40e096"),
    ("events/order/OrderConfirmed.v1.avsc", "48d5f4abfc1a9960"),
    ("events/order/OrderCreated.v1.avsc", "ac7e77540316132b"),
    ("events/order/OrderPaymentFailed.v1.avsc", "5c22b1b8a65daeca"),
    ("events/order/OrderPaymentProcessed.v1.avsc", "20b179b6faa3e27d"),
    ("events/product/ProductCreated.v1.avsc", "7bd813fe5767a679"),
    ("events/product/ProductCreated.v2.avsc", "67b249f829789fd2"),
    ("events/product/ProductDeleted.v1.avsc", "fdd364e7d1de668c"),
    ("events/product/ProductPriceChanged.v1.avsc", "bfa537a3aa73a0c5"),
    ("events/product/ProductUpdated.v1.avsc", "db6f5b4743bc6b44"),
    ("events/product/StockAdded.v1.avsc", "7e6d298cb0283ba4"),
    ("events/product/StockReleased.v1.avsc", "7308b726125d63c5"),
    ("events/product/StockReservationRejected.v1.avsc", "df4eb5e0c3c0cc2a"),
    ("events/product/StockReserved.v1.avsc", "bd743a5b00442a6e"),
    ("replies/CommandAccepted.v1.avsc", "32357b802670a64b"),
    ("replies/CommandRejected.v1.avsc", "3b81bc0c235f47e0"),
    ("replies/CommandRejected.v2.avsc", "4c2c3bad52abf816"),
];

#[test]
fn fingerprints_match_other_avro_implementations_and_released_files_are_unchanged() {
    for version in known_schemas() {
        let hex: String =
            version.fingerprint.to_le_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let released = RELEASED_FINGERPRINTS.iter().find(|(path, _)| *path == version.path);
        let Some((_, expected)) = released else {
            panic!("{} is new: add its fingerprint to RELEASED_FINGERPRINTS", version.path);
        };
        assert_eq!(
            &hex, expected,
            "{} changed after release: add a new version instead",
            version.path
        );
    }
    assert_eq!(RELEASED_FINGERPRINTS.len(), known_schemas().len());
}
