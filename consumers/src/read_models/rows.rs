//! What the read-model tables store, and its encoding: one format byte, then the body.
//!
//! Rows are written as format 2, postcard: a compact binary encoding of the row's fields in
//! order, less than half the size of JSON and cheaper to write and read, which matters because
//! a projection reads and rewrites a row for every event (BENCHMARKS.md, `replay`). Format 1, JSON, is still read, so a store written by an earlier release keeps
//! working. postcard carries no field names: a release that changes a row's fields must give
//! it a new format byte (or rebuild the read models, which replay makes cheap). Rows are
//! private to this crate: the views are what callers get.

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::views::{CategoryView, OrderLineView, OrderStatus, OrderView, ProductView};
use crate::{Error, Result};

/// Format byte of JSON-encoded rows, written by earlier releases.
const FORMAT_JSON: u8 = 1;
/// Format byte of postcard-encoded rows.
const FORMAT_POSTCARD: u8 = 2;

pub(crate) fn encode<T: Serialize>(table: &str, row: &T) -> Result<Bytes> {
    let body = postcard::to_extend(row, vec![FORMAT_POSTCARD]).map_err(|e| corrupt(table, e))?;
    Ok(Bytes::from(body))
}

pub(crate) fn decode<T: DeserializeOwned>(table: &str, bytes: &[u8]) -> Result<T> {
    match bytes.split_first() {
        Some((&FORMAT_POSTCARD, body)) => match postcard::take_from_bytes(body) {
            Ok((row, [])) => Ok(row),
            Ok((_, rest)) => Err(corrupt(table, format!("{} bytes after the row", rest.len()))),
            Err(e) => Err(corrupt(table, e)),
        },
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
        assert_eq!(bytes[0], FORMAT_POSTCARD);
        assert!(String::from_utf8_lossy(&bytes).contains("STOCK_RESERVED"));
        assert_eq!(decode::<OrderRow>("t", &bytes).unwrap(), order());
        let json = serde_json::to_vec(&order()).unwrap();
        assert!(
            bytes.len() * 2 < json.len(),
            "{} bytes against {} as JSON",
            bytes.len(),
            json.len()
        );
        assert_eq!(decode::<()>("t", &encode("t", &()).unwrap()).unwrap(), ());
    }

    #[test]
    fn rows_written_as_json_by_earlier_releases_still_read() {
        let mut bytes = vec![FORMAT_JSON];
        serde_json::to_writer(&mut bytes, &order()).unwrap();
        assert_eq!(decode::<OrderRow>("t", &bytes).unwrap(), order());
        assert_eq!(decode::<i64>("t", b"\x013").unwrap(), 3);
    }

    #[test]
    fn unreadable_rows_are_reported_not_panicked_on() {
        let mut trailing = encode("t", &order()).unwrap().to_vec();
        trailing.push(0);
        let samples: [&[u8]; 7] = [
            b"",
            b"\x03{}",
            b"\x01{",
            b"\x01{\"status\":\"LOST\"}",
            b"\x02",
            b"\x02\xff",
            &trailing,
        ];
        for bytes in samples {
            let err = decode::<OrderRow>("rm_orders", bytes).unwrap_err();
            assert!(matches!(err, Error::CorruptRow { ref table, .. } if table == "rm_orders"));
        }
        let paid = encode("t", &CustomerOrderEntry { status: OrderStatus::Paid }).unwrap();
        let lost = String::from_utf8_lossy(&paid).replace("PAID", "LOST").into_bytes();
        let err = decode::<CustomerOrderEntry>("rm_orders_by_customer", &lost).unwrap_err();
        assert!(
            matches!(err, Error::CorruptRow { ref table, .. } if table == "rm_orders_by_customer")
        );
    }
}
