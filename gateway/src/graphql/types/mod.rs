//! The API's object types, each a thin view over a read-model row.

mod category;
mod enums;
mod order;
mod product;
mod receipt;

pub use category::Category;
pub use enums::{Consistency, OrderStatus};
pub use order::{Order, OrderLine};
pub use product::Product;
pub use receipt::{CommandReceipt, LogPosition};

use async_graphql::connection::Connection;

pub type CategoryConnection = Connection<String, Category>;
pub type ProductConnection = Connection<String, Product>;
pub type OrderConnection = Connection<String, Order>;

/// Read models keep milliseconds since the epoch; an out-of-range value shows as the epoch
/// rather than failing the whole query.
pub(crate) fn timestamp(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Counts and versions are 64-bit in the read models and `Int` (32-bit) in the API.
pub(crate) fn saturating_int(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX })
}
