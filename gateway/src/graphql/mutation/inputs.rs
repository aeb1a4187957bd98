//! Mutation inputs, as the client sends them; `build` validates them into commands.

use async_graphql::{ID, InputObject};

use crate::graphql::scalars::Yen;

#[derive(InputObject, Clone, Debug, PartialEq, Eq)]
pub struct CreateCategoryInput {
    /// 1 to 50 characters.
    pub name: String,
    pub description: Option<String>,
    /// An idempotency key: retrying with the same key creates the category once.
    pub command_id: Option<String>,
}

/// Fields left out stay as they are.
#[derive(InputObject, Clone, Debug, PartialEq, Eq)]
pub struct UpdateCategoryInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub command_id: Option<String>,
}

#[derive(InputObject, Clone, Debug, PartialEq, Eq)]
pub struct CreateProductInput {
    pub category_id: ID,
    /// 1 to 100 characters.
    pub name: String,
    pub description: Option<String>,
    pub price: Yen,
    #[graphql(default = 0)]
    pub initial_stock: i32,
    /// An idempotency key: retrying with the same key creates the product once.
    pub command_id: Option<String>,
}

/// Fields left out stay as they are; price and stock have their own mutations.
#[derive(InputObject, Clone, Debug, PartialEq, Eq)]
pub struct UpdateProductInput {
    pub category_id: Option<ID>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub command_id: Option<String>,
}

#[derive(InputObject, Clone, Debug, PartialEq, Eq)]
pub struct OrderLineInput {
    pub product_id: ID,
    /// 1 or more.
    pub quantity: i32,
}

#[derive(InputObject, Clone, Debug, PartialEq, Eq)]
pub struct PlaceOrderInput {
    pub customer_id: ID,
    pub lines: Vec<OrderLineInput>,
    /// An idempotency key: retrying with the same key places the order once.
    pub command_id: Option<String>,
}
