//! Avro's Parsing Canonical Form, written from the specification
//! (<https://avro.apache.org/docs/1.11.1/specification/#parsing-canonical-form-for-schemas>),
//! over the schema's JSON.
//!
//! The rules: primitives in their simple form (`{"type":"string","logicalType":"uuid"}` becomes
//! `"string"`, as in Java and fastavro), full names instead of names and namespaces, only the
//! attributes that matter for parsing (`name`, `type`, `fields`, `symbols`, `items`, `values`,
//! `size`) in that order, a named type written out only at its first occurrence, and no
//! whitespace outside strings.

use std::collections::HashSet;

use serde_json::{Map, Value};

const PRIMITIVES: [&str; 8] =
    ["null", "boolean", "int", "long", "float", "double", "bytes", "string"];

/// The canonical form of a schema given as JSON.
pub(crate) fn canonical_form(schema: &Value) -> Result<String, String> {
    let mut writer = Writer::default();
    writer.schema(schema, "")?;
    Ok(writer.out)
}

/// The full name a named type declares, e.g. `nagare.events.order.OrderCreated`.
pub(crate) fn declared_full_name(schema: &Value) -> Result<String, String> {
    let object = schema.as_object().ok_or("the schema is not a JSON object")?;
    full_name(object, "")
}

#[derive(Default)]
struct Writer {
    out: String,
    /// Named types already written: later occurrences are written as their full name.
    defined: HashSet<String>,
}

impl Writer {
    fn schema(&mut self, schema: &Value, namespace: &str) -> Result<(), String> {
        match schema {
            Value::String(name) => {
                self.string(&reference(name, namespace));
                Ok(())
            }
            Value::Array(branches) => {
                self.out.push('[');
                for (index, branch) in branches.iter().enumerate() {
                    if index > 0 {
                        self.out.push(',');
                    }
                    self.schema(branch, namespace)?;
                }
                self.out.push(']');
                Ok(())
            }
            Value::Object(object) => self.object(object, namespace),
            other => Err(format!("`{other}` is not an Avro schema")),
        }
    }

    fn object(&mut self, object: &Map<String, Value>, namespace: &str) -> Result<(), String> {
        let kind = object.get("type").ok_or("a schema object without `type`")?;
        let Value::String(kind) = kind else {
            // `{"type": {...}}` and `{"type": [...]}` wrap another schema.
            return self.schema(kind, namespace);
        };
        match kind.as_str() {
            primitive if PRIMITIVES.contains(&primitive) => {
                self.string(primitive);
                Ok(())
            }
            "record" | "error" | "enum" | "fixed" => self.named(object, kind, namespace),
            "array" => self.container("array", "items", object, namespace),
            "map" => self.container("map", "values", object, namespace),
            name => {
                self.string(&reference(name, namespace));
                Ok(())
            }
        }
    }

    fn container(
        &mut self,
        kind: &str,
        attribute: &str,
        object: &Map<String, Value>,
        namespace: &str,
    ) -> Result<(), String> {
        let inner =
            object.get(attribute).ok_or_else(|| format!("an {kind} without `{attribute}`"))?;
        self.out.push_str("{\"type\":");
        self.string(kind);
        self.out.push_str(&format!(",\"{attribute}\":"));
        self.schema(inner, namespace)?;
        self.out.push('}');
        Ok(())
    }

    fn named(
        &mut self,
        object: &Map<String, Value>,
        kind: &str,
        namespace: &str,
    ) -> Result<(), String> {
        let name = full_name(object, namespace)?;
        if !self.defined.insert(name.clone()) {
            self.string(&name);
            return Ok(());
        }
        // Names inside a named type are relative to that type's namespace.
        let inner_namespace = name.rsplit_once('.').map_or("", |(space, _)| space).to_owned();
        self.out.push_str("{\"name\":");
        self.string(&name);
        self.out.push_str(",\"type\":");
        self.string(kind);
        match kind {
            "enum" => {
                let symbols = object.get("symbols").and_then(Value::as_array);
                let symbols = symbols.ok_or_else(|| format!("enum {name} without `symbols`"))?;
                self.out.push_str(",\"symbols\":[");
                for (index, symbol) in symbols.iter().enumerate() {
                    let symbol = symbol.as_str().ok_or_else(|| format!("a symbol of {name}"))?;
                    if index > 0 {
                        self.out.push(',');
                    }
                    self.string(symbol);
                }
                self.out.push(']');
            }
            "fixed" => {
                let size = object.get("size").and_then(Value::as_u64);
                let size = size.ok_or_else(|| format!("fixed {name} without an integer `size`"))?;
                self.out.push_str(&format!(",\"size\":{size}"));
            }
            _ => {
                let fields = object.get("fields").and_then(Value::as_array);
                let fields = fields.ok_or_else(|| format!("record {name} without `fields`"))?;
                self.out.push_str(",\"fields\":[");
                for (index, field) in fields.iter().enumerate() {
                    if index > 0 {
                        self.out.push(',');
                    }
                    self.field(field, &name, &inner_namespace)?;
                }
                self.out.push(']');
            }
        }
        self.out.push('}');
        Ok(())
    }

    fn field(&mut self, field: &Value, record: &str, namespace: &str) -> Result<(), String> {
        let name = field.get("name").and_then(Value::as_str);
        let name = name.ok_or_else(|| format!("a field of {record} without a name"))?;
        let schema =
            field.get("type").ok_or_else(|| format!("field {record}.{name} has no type"))?;
        self.out.push_str("{\"name\":");
        self.string(name);
        self.out.push_str(",\"type\":");
        self.schema(schema, namespace)?;
        self.out.push('}');
        Ok(())
    }

    /// A JSON string literal: escapes only where JSON requires them, other characters as UTF-8.
    fn string(&mut self, text: &str) {
        self.out.push_str(&Value::String(text.to_owned()).to_string());
    }
}

/// A primitive stays as it is; a named type's name becomes its full name.
fn reference(name: &str, namespace: &str) -> String {
    if PRIMITIVES.contains(&name) || name.contains('.') || namespace.is_empty() {
        name.to_owned()
    } else {
        format!("{namespace}.{name}")
    }
}

fn full_name(object: &Map<String, Value>, enclosing: &str) -> Result<String, String> {
    let name = object.get("name").and_then(Value::as_str).ok_or("a named type without `name`")?;
    if name.contains('.') {
        return Ok(name.to_owned());
    }
    let namespace = object.get("namespace").and_then(Value::as_str).unwrap_or(enclosing);
    Ok(if namespace.is_empty() { name.to_owned() } else { format!("{namespace}.{name}") })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn form(schema: Value) -> String {
        canonical_form(&schema).unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn primitives_take_their_simple_form_logical_types_included() {
        assert_eq!(form(json!("int")), r#""int""#);
        assert_eq!(form(json!({ "type": "long" })), r#""long""#);
        assert_eq!(form(json!({ "type": "string", "logicalType": "uuid" })), r#""string""#);
    }

    #[test]
    fn names_become_full_names_and_only_parsing_attributes_stay_in_order() {
        let schema = json!({
            "doc": "dropped", "fields": [
                { "name": "lines", "type": { "type": "array", "items": {
                    "type": "record", "name": "Line", "fields": [
                        { "name": "size", "type": { "name": "Size", "type": "fixed", "size": 4 } },
                        { "name": "kind", "type": { "type": "enum", "name": "x.Kind",
                                                    "symbols": ["A", "B"] } } ] } } },
                { "type": ["null", "Line"], "name": "line", "default": null, "doc": "dropped" },
            ],
            "namespace": "shop", "name": "Order", "type": "record",
        });
        assert_eq!(
            form(schema),
            concat!(
                r#"{"name":"shop.Order","type":"record","fields":["#,
                r#"{"name":"lines","type":{"type":"array","items":"#,
                r#"{"name":"shop.Line","type":"record","fields":["#,
                r#"{"name":"size","type":{"name":"shop.Size","type":"fixed","size":4}},"#,
                r#"{"name":"kind","type":{"name":"x.Kind","type":"enum","symbols":["A","B"]}}"#,
                r#"]}}},{"name":"line","type":["null","shop.Line"]}]}"#
            )
        );
    }

    #[test]
    fn a_named_type_is_written_out_once() {
        let schema = json!({ "type": "record", "name": "PigValue", "fields": [
            { "name": "value", "type": ["null", "int", "long", "PigValue"] } ] });
        assert_eq!(
            form(schema),
            r#"{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}"#
        );
    }

    #[test]
    fn malformed_schemas_are_errors_naming_what_is_missing() {
        let error = canonical_form(&json!({ "type": "record", "name": "R" }));
        assert!(error.is_err_and(|e| e.contains("R") && e.contains("fields")));
        assert!(canonical_form(&json!({ "name": "R" })).is_err_and(|e| e.contains("type")));
        assert!(canonical_form(&json!(42)).is_err());
    }
}
