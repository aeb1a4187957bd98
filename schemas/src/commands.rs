//! Commands: what a client asks for, one Avro record each (see `avro/`).
//!
//! The gateway validates input into value objects before it sends a command; the command
//! processor validates again, because anything that can write to the commands topic can send one.
//! Optional fields of an update mean "leave unchanged".

use serde::{Deserialize, Serialize};

use crate::events::AggregateType;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateCategory {
    pub category_id: String,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateCategory {
    pub category_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteCategory {
    pub category_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateProduct {
    pub product_id: String,
    pub category_id: String,
    pub name: String,
    pub description: Option<String>,
    pub price: i64,
    pub initial_stock: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateProduct {
    pub product_id: String,
    pub category_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeProductPrice {
    pub product_id: String,
    pub price: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddStock {
    pub product_id: String,
    pub quantity: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteProduct {
    pub product_id: String,
}

/// Sent by the order saga: hold `quantity` items for an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveStock {
    pub product_id: String,
    pub order_id: String,
    pub quantity: i32,
}

/// Sent by the order saga when compensating: give back what an order held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseStock {
    pub product_id: String,
    pub order_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLineRequest {
    pub product_id: String,
    pub quantity: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceOrder {
    pub order_id: String,
    pub customer_id: String,
    pub lines: Vec<OrderLineRequest>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelOrder {
    pub order_id: String,
    pub reason: String,
}

/// Any command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    CreateCategory(CreateCategory),
    UpdateCategory(UpdateCategory),
    DeleteCategory(DeleteCategory),
    CreateProduct(CreateProduct),
    UpdateProduct(UpdateProduct),
    ChangeProductPrice(ChangeProductPrice),
    AddStock(AddStock),
    DeleteProduct(DeleteProduct),
    ReserveStock(ReserveStock),
    ReleaseStock(ReleaseStock),
    PlaceOrder(PlaceOrder),
    CancelOrder(CancelOrder),
}

impl Command {
    /// The command's name: the Avro record's name, and the `command_type` header.
    pub fn command_type(&self) -> &'static str {
        match self {
            Command::CreateCategory(_) => "CreateCategory",
            Command::UpdateCategory(_) => "UpdateCategory",
            Command::DeleteCategory(_) => "DeleteCategory",
            Command::CreateProduct(_) => "CreateProduct",
            Command::UpdateProduct(_) => "UpdateProduct",
            Command::ChangeProductPrice(_) => "ChangeProductPrice",
            Command::AddStock(_) => "AddStock",
            Command::DeleteProduct(_) => "DeleteProduct",
            Command::ReserveStock(_) => "ReserveStock",
            Command::ReleaseStock(_) => "ReleaseStock",
            Command::PlaceOrder(_) => "PlaceOrder",
            Command::CancelOrder(_) => "CancelOrder",
        }
    }

    pub fn aggregate_type(&self) -> AggregateType {
        match self {
            Command::CreateCategory(_)
            | Command::UpdateCategory(_)
            | Command::DeleteCategory(_) => AggregateType::Category,
            Command::CreateProduct(_)
            | Command::UpdateProduct(_)
            | Command::ChangeProductPrice(_)
            | Command::AddStock(_)
            | Command::DeleteProduct(_)
            | Command::ReserveStock(_)
            | Command::ReleaseStock(_) => AggregateType::Product,
            Command::PlaceOrder(_) | Command::CancelOrder(_) => AggregateType::Order,
        }
    }

    /// The id of the aggregate the command addresses: its log key, so it decides the partition.
    pub fn aggregate_id(&self) -> &str {
        match self {
            Command::CreateCategory(c) => &c.category_id,
            Command::UpdateCategory(c) => &c.category_id,
            Command::DeleteCategory(c) => &c.category_id,
            Command::CreateProduct(c) => &c.product_id,
            Command::UpdateProduct(c) => &c.product_id,
            Command::ChangeProductPrice(c) => &c.product_id,
            Command::AddStock(c) => &c.product_id,
            Command::DeleteProduct(c) => &c.product_id,
            Command::ReserveStock(c) => &c.product_id,
            Command::ReleaseStock(c) => &c.product_id,
            Command::PlaceOrder(c) => &c.order_id,
            Command::CancelOrder(c) => &c.order_id,
        }
    }
}
