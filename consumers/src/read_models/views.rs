//! What the read models return: plain views of rows, in wire units (yen as i64, times in
//! milliseconds since the epoch).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// Live (not deleted) products in the category.
    pub product_count: i64,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductView {
    pub id: String,
    pub category_id: String,
    pub name: String,
    pub description: Option<String>,
    pub price: i64,
    pub stock: i32,
    pub reserved: i32,
    pub deleted: bool,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    Pending,
    StockReserved,
    Paid,
    Confirmed,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        OrderStatus::Pending,
        OrderStatus::StockReserved,
        OrderStatus::Paid,
        OrderStatus::Confirmed,
        OrderStatus::Cancelled,
    ];

    /// The status's name in the GraphQL API (`PENDING`, `STOCK_RESERVED`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::StockReserved => "STOCK_RESERVED",
            OrderStatus::Paid => "PAID",
            OrderStatus::Confirmed => "CONFIRMED",
            OrderStatus::Cancelled => "CANCELLED",
        }
    }

    /// The status with this API name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLineView {
    pub product_id: String,
    pub product_name: String,
    pub quantity: i32,
    pub unit_price: i64,
    pub subtotal: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub id: String,
    pub customer_id: String,
    pub status: OrderStatus,
    pub lines: Vec<OrderLineView>,
    pub total: i64,
    pub cancellation_reason: Option<String>,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A request for one page of a listing: at most `first` items after the opaque `after` cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub first: usize,
    pub after: Option<String>,
}

/// One page of a listing, in a stable order; each item has its opaque cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next_page: bool,
}
