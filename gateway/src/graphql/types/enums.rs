//! Enums of the API.

use async_graphql::Enum;

/// How long a mutation waits before answering.
#[derive(Enum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Consistency {
    /// As soon as the command's events are durable in the log.
    #[default]
    Eventual,
    /// Once the read models show the command's events too (read your writes).
    Strong,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "nagare_consumers::OrderStatus")]
pub enum OrderStatus {
    Pending,
    StockReserved,
    Paid,
    Confirmed,
    Cancelled,
}
