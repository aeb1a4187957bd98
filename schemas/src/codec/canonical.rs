//! The schema fingerprint exactly as the Avro specification defines it: CRC-64-AVRO of the
//! schema's Parsing Canonical Form.
//!
//! apache-avro 0.22 has both, but its canonical form keeps a primitive that carries a logical
//! type in object form (`{"type":"string"}` for a UUID) where the specification — and the Java,
//! Python and C implementations — reduce it to `"string"`. Every id in Nagare is such a field, so
//! its fingerprints would differ from what any other Avro library computes from the same `.avsc`
//! file. Nagare computes both here, from the file's JSON, following the specification's rules:
//! [PRIMITIVES], [FULLNAMES], [STRIP], [ORDER], [STRINGS], [WHITESPACE].

use serde_json::{Map, Value};

const PRIMITIVES: [&str; 8] =
    ["null", "boolean", "int", "long", "float", "double", "bytes", "string"];

/// The Parsing Canonical Form of a schema given as parsed JSON, or why the JSON is not a schema.
pub(crate) fn parsing_canonical_form(schema: &Value) -> Result<String, String> {
    let mut out = String::with_capacity(256);
    write_schema(schema, None, &mut out)?;
    Ok(out)
}

/// CRC-64-AVRO, the specification's 64-bit Rabin fingerprint (`fingerprint64`).
pub(crate) fn fingerprint64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(EMPTY, |fp, &b| (fp >> 8) ^ FP_TABLE[((fp ^ u64::from(b)) & 0xff) as usize])
}

const EMPTY: u64 = 0xc15d_213a_a4d7_a795;

const FP_TABLE: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut fp = i as u64;
        let mut bit = 0;
        while bit < 8 {
            fp = (fp >> 1) ^ (EMPTY & (fp & 1).wrapping_neg());
            bit += 1;
        }
        table[i] = fp;
        i += 1;
    }
    table
};

fn write_schema(schema: &Value, namespace: Option<&str>, out: &mut String) -> Result<(), String> {
    match schema {
        Value::String(name) if PRIMITIVES.contains(&name.as_str()) => write_str(name, out),
        // A reference to a named type.
        Value::String(name) => write_str(&full_name(name, namespace), out),
        Value::Array(branches) => {
            out.push('[');
            for (i, branch) in branches.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_schema(branch, namespace, out)?;
            }
            out.push(']');
        }
        Value::Object(object) => write_object(object, namespace, out)?,
        other => return Err(format!("{other} is not a schema")),
    }
    Ok(())
}

fn write_object(
    object: &Map<String, Value>,
    namespace: Option<&str>,
    out: &mut String,
) -> Result<(), String> {
    let kind = match object.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        // `{"type": <schema>}` wraps another schema.
        Some(inner) => return write_schema(inner, namespace, out),
        None => return Err("an object schema without \"type\"".into()),
    };
    if PRIMITIVES.contains(&kind) {
        // [PRIMITIVES] and [STRIP]: logicalType and every other attribute go.
        write_str(kind, out);
        return Ok(());
    }
    match kind {
        "record" | "error" | "enum" | "fixed" => {
            let name = text(object, "name")?;
            let own_namespace = object.get("namespace").and_then(Value::as_str).or(namespace);
            let full = full_name(name, own_namespace);
            out.push_str("{\"name\":");
            write_str(&full, out);
            out.push_str(",\"type\":");
            write_str(kind, out);
            // Names inside a named type default to that type's namespace.
            let inner_namespace = full.rsplit_once('.').map(|(ns, _)| ns);
            match kind {
                "enum" => {
                    out.push_str(",\"symbols\":");
                    write_json(field(object, "symbols")?, out)?;
                }
                "fixed" => {
                    out.push_str(",\"size\":");
                    write_json(field(object, "size")?, out)?;
                }
                _ => write_fields(field(object, "fields")?, inner_namespace, out)?,
            }
            out.push('}');
        }
        "array" => {
            out.push_str("{\"type\":\"array\",\"items\":");
            write_schema(field(object, "items")?, namespace, out)?;
            out.push('}');
        }
        "map" => {
            out.push_str("{\"type\":\"map\",\"values\":");
            write_schema(field(object, "values")?, namespace, out)?;
            out.push('}');
        }
        // A reference to a named type, written in object form.
        name => write_str(&full_name(name, namespace), out),
    }
    Ok(())
}

fn write_fields(fields: &Value, namespace: Option<&str>, out: &mut String) -> Result<(), String> {
    let fields = fields.as_array().ok_or("\"fields\" must be an array")?;
    out.push_str(",\"fields\":[");
    for (i, field_schema) in fields.iter().enumerate() {
        let object = field_schema.as_object().ok_or("a field must be an object")?;
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        write_str(text(object, "name")?, out);
        out.push_str(",\"type\":");
        write_schema(field(object, "type")?, namespace, out)?;
        out.push('}');
    }
    out.push(']');
    Ok(())
}

fn full_name(name: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) if !ns.is_empty() && !name.contains('.') => format!("{ns}.{name}"),
        _ => name.to_owned(),
    }
}

fn field<'a>(object: &'a Map<String, Value>, key: &str) -> Result<&'a Value, String> {
    object.get(key).ok_or_else(|| format!("missing \"{key}\""))
}

fn text<'a>(object: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    field(object, key)?.as_str().ok_or_else(|| format!("\"{key}\" must be a string"))
}

/// [STRINGS] and [INTEGERS]: JSON's own minimal escaping and number form.
fn write_json(value: &Value, out: &mut String) -> Result<(), String> {
    out.push_str(&serde_json::to_string(value).map_err(|e| e.to_string())?);
    Ok(())
}

fn write_str(text: &str, out: &mut String) {
    // Serialising a string to JSON cannot fail.
    out.push_str(&Value::from(text).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs, canonical forms and fingerprints from the Avro project's shared test data
    /// (`share/test/data/schema-tests.txt`), which every implementation checks itself against.
    const SPEC_VECTORS: &[(&str, &str, Option<i64>)] = &[
        (r#""null""#, r#""null""#, Some(7195948357588979594)),
        (r#"{"type":"int"}"#, r#""int""#, None),
        (r#""string""#, r#""string""#, Some(-8142146995180207161)),
        (r#"[ "int" , {"type":"boolean"} ]"#, r#"["int","boolean"]"#, Some(5392556393470105090)),
        (
            r#"{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}"#,
            r#"{"name":"x.y.foo","type":"record","fields":[]}"#,
            Some(5916914534497305771),
        ),
        (
            r#"{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}"#,
            r#"{"name":"a.b.foo","type":"record","fields":[]}"#,
            Some(-4616218487480524110),
        ),
        (
            r#"{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":"true"},
                {"order":"descending","name":"f2","doc":"Hello","type":"int"}],
                "type":"record", "name":"foo" }"#,
            r#"{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}"#,
            Some(-4860222112080293046),
        ),
        (
            r#"{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}"#,
            r#"{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}"#,
            Some(-4448647247586288245),
        ),
        (
            r#"{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}"#,
            r#"{"name":"x.y.z.foo","type":"fixed","size":32}"#,
            Some(-3064184465700546786),
        ),
        (
            r#"{ "items":{"type":"null"}, "type":"array"}"#,
            r#"{"type":"array","items":"null"}"#,
            Some(-589620603366471059),
        ),
        (
            r#"{ "values":"string", "type":"map"}"#,
            r#"{"type":"map","values":"string"}"#,
            Some(-8732877298790414990),
        ),
        (
            r#"{"name":"PigValue","type":"record",
                "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}"#,
            r#"{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}"#,
            Some(-1759257747318642341),
        ),
    ];

    #[test]
    fn matches_the_avro_projects_test_vectors() {
        for &(input, canonical, fingerprint) in SPEC_VECTORS {
            let json: Value = serde_json::from_str(input).expect("JSON");
            let form = parsing_canonical_form(&json).expect("a schema");
            assert_eq!(form, canonical, "{input}");
            if let Some(expected) = fingerprint {
                assert_eq!(fingerprint64(form.as_bytes()), expected as u64, "{input}");
            }
        }
    }

    #[test]
    fn a_logical_type_reduces_to_its_primitive() {
        let json = serde_json::json!({
            "type": "record", "name": "Thing", "namespace": "nagare.test", "doc": "d",
            "fields": [
                { "name": "id", "type": { "type": "string", "logicalType": "uuid" }, "doc": "d" },
                { "name": "inner", "type": { "type": "record", "name": "Inner",
                    "fields": [{ "name": "n", "type": "long", "default": 0 }] } },
                { "name": "again", "type": ["null", "Inner"], "default": null },
            ]
        });
        assert_eq!(
            parsing_canonical_form(&json).expect("a schema"),
            r#"{"name":"nagare.test.Thing","type":"record","fields":[{"name":"id","type":"string"},{"name":"inner","type":{"name":"nagare.test.Inner","type":"record","fields":[{"name":"n","type":"long"}]}},{"name":"again","type":["null","nagare.test.Inner"]}]}"#
        );
    }

    #[test]
    fn json_that_is_no_schema_is_refused() {
        for bad in
            [serde_json::json!(1), serde_json::json!({}), serde_json::json!({"type": "record"})]
        {
            assert!(parsing_canonical_form(&bad).is_err(), "{bad}");
        }
    }
}
