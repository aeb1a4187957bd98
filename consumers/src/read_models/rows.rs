//! What the read-model tables store, and its encoding: one format byte, then the body.
//!
//! The format byte lets a later release change the body's encoding (to a binary one, say) while
//! still reading rows written before; today every row is format 1, JSON, which operators can
//! read in any store browser. Rows are private to this crate: the views are what callers get.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::views::{CategoryView, OrderLineView, OrderStatus, OrderView, ProductView};
use crate::{Error, Result};

/// Format byte of JSON-encoded rows.
const FORMAT_JSON: u8 = 1;

pub(crate) fn encode<T: Serialize>(table: &str, row: &T) -> Result<Bytes> {
    let mut bytes = BytesMut::new().writer();
    bytes.get_mut().put_u8(FORMAT_JSON);
    serde_json::to_writer(&mut bytes, row).map_err(|e| corrupt(table, e))?;
    Ok(bytes.into_inner().freeze())
}

pub(crate) fn decode<T: DeserializeOwned>(table: &str, bytes: &[u8]) -> Result<T> {
    match bytes.split_first() {
        Some((&FORMAT_JSON, body)) => serde_json::from_slice(body).map_err(|e| corrupt(table, e)),
        Some((format, _)) => Err(corrupt(table, format!("unknown row format {format}"))),
        None => Err(corrupt(table, "empty row")),
    }
}

fn corrupt(table: &str, reason: impl ToString) -> Error {
    Error::CorruptRow { table: table.to_owned(), reason: reason.to_string() }
}

/// A category. Deleted categories keep their row (with their version, so a replayed event
/// cannot bring them back) but leave the listing and are not found by queries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CategoryRow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) deleted: bool,
    pub(crate) version: i64,
    pub(crate) created_at_ms: i64,
    pub(crate) updated_at_ms: i64,
}

impl CategoryRow {
    pub(crate) fn into_view(self, product_count: i64) -> CategoryView {
        CategoryView {
            id: self.id,
            name: self.name,
            description: self.description,
            product_count,
            version: self.version,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
        }
    }
}

/// A product; deleted products stay, flagged, so orders can still show what they bought.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProductRow {
    pub(crate) id: String,
    pub(crate) category_id: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) price: i64,
    pub(crate) stock: i32,
    pub(crate) reserved: i32,
    pub(crate) deleted: bool,
    pub(crate) version: i64,
    pub(crate) created_at_ms: i64,
    pub(crate) updated_at_ms: i64,
}

impl From<ProductRow> for ProductView {
    fn from(row: ProductRow) -> Self {
        ProductView {
            id: row.id,
            category_id: row.category_id,
            name: row.name,
            description: row.description,
            price: row.price,
            stock: row.stock,
            reserved: row.reserved,
            deleted: row.deleted,
            version: row.version,
            created_at_ms: row.created_at_ms,
            updated_at_ms: row.updated_at_ms,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrderLineRow {
    pub(crate) product_id: String,
    pub(crate) product_name: String,
    pub(crate) quantity: i32,
    pub(crate) unit_price: i64,
    pub(crate) subtotal: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrderRow {
    pub(crate) id: String,
    pub(crate) customer_id: String,
    #[serde(with = "status_name")]
    pub(crate) status: OrderStatus,
    pub(crate) lines: Vec<OrderLineRow>,
    pub(crate) total: i64,
    pub(crate) cancellation_reason: Option<String>,
    /// Why the last payment attempt failed, until the order is paid or cancelled.
    pub(crate) payment_failure: Option<String>,
    pub(crate) version: i64,
    pub(crate) created_at_ms: i64,
    pub(crate) updated_at_ms: i64,
}

impl From<OrderRow> for OrderView {
    fn from(row: OrderRow) -> Self {
        OrderView {
            id: row.id,
            customer_id: row.customer_id,
            status: row.status,
            lines: row
                .lines
                .into_iter()
                .map(|line| OrderLineView {
                    product_id: line.product_id,
                    product_name: line.product_name,
                    quantity: line.quantity,
                    unit_price: line.unit_price,
                    subtotal: line.subtotal,
                })
                .collect(),
            total: row.total,
            cancellation_reason: row.cancellation_reason,
            version: row.version,
            created_at_ms: row.created_at_ms,
            updated_at_ms: row.updated_at_ms,
        }
    }
}

/// The value of an order's row in its customer's listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CustomerOrderEntry {
    #[serde(with = "status_name")]
    pub(crate) status: OrderStatus,
}

/// Stores a status by its API name, so the rows do not depend on Rust variant names.
mod status_name {
    use super::*;
    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(status: &OrderStatus, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(status.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OrderStatus, D::Error> {
        let name = String::deserialize(d)?;
        OrderStatus::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown order status `{name}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> OrderRow {
        OrderRow {
            id: "o".into(),
            customer_id: "c".into(),
            status: OrderStatus::StockReserved,
            lines: vec![OrderLineRow {
                product_id: "p".into(),
                product_name: "Tea".into(),
                quantity: 2,
                unit_price: 300,
                subtotal: 600,
            }],
            total: 600,
            cancellation_reason: None,
            payment_failure: None,
            version: 3,
            created_at_ms: 1,
            updated_at_ms: 2,
        }
    }

    #[test]
    fn rows_round_trip_behind_their_format_byte() {
        let bytes = encode("t", &order()).unwrap();
        assert_eq!(bytes[0], FORMAT_JSON);
        assert!(String::from_utf8_lossy(&bytes).contains("\"STOCK_RESERVED\""));
        assert_eq!(decode::<OrderRow>("t", &bytes).unwrap(), order());
    }

    #[test]
    fn unreadable_rows_are_reported_not_panicked_on() {
        for bytes in [&b""[..], b"\x02{}", b"\x01{", b"\x01{\"status\":\"LOST\"}"] {
            let err = decode::<OrderRow>("rm_orders", bytes).unwrap_err();
            assert!(matches!(err, Error::CorruptRow { ref table, .. } if table == "rm_orders"));
        }
    }
}
