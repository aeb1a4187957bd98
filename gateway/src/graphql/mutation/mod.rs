//! `Mutation`: each operation validates its input, sends one command and answers with the
//! command's receipt. Every operation takes `consistency` (default `EVENTUAL`) and an optional
//! `commandId` idempotency key (inside `input` where there is one).

mod build;
#[cfg(test)]
mod build_tests;
mod dispatch;
mod inputs;

pub use inputs::{
    CreateCategoryInput, CreateProductInput, OrderLineInput, PlaceOrderInput, UpdateCategoryInput,
    UpdateProductInput,
};

use async_graphql::{Context, ID, Object, Result};

use super::scalars::Yen;
use super::types::{CommandReceipt, Consistency};
use dispatch::dispatch;

#[derive(Debug, Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    async fn create_category(
        &self,
        ctx: &Context<'_>,
        input: CreateCategoryInput,
        #[graphql(default)] consistency: Consistency,
    ) -> Result<CommandReceipt> {
        Ok(dispatch(ctx, build::create_category(input)?, consistency).await?)
    }

    async fn update_category(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateCategoryInput,
        #[graphql(default)] consistency: Consistency,
    ) -> Result<CommandReceipt> {
        Ok(dispatch(ctx, build::update_category(&id, input)?, consistency).await?)
    }

    /// Refused with CONFLICT while the category still has products.
    async fn delete_category(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default)] consistency: Consistency,
        command_id: Option<String>,
    ) -> Result<CommandReceipt> {
        let planned = build::delete_category(&id, command_id.as_deref())?;
        Ok(dispatch(ctx, planned, consistency).await?)
    }

    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
        #[graphql(default)] consistency: Consistency,
    ) -> Result<CommandReceipt> {
        Ok(dispatch(ctx, build::create_product(input)?, consistency).await?)
    }

    async fn update_product(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateProductInput,
        #[graphql(default)] consistency: Consistency,
    ) -> Result<CommandReceipt> {
        Ok(dispatch(ctx, build::update_product(&id, input)?, consistency).await?)
    }

    /// Orders already placed keep the price they were placed at.
    async fn change_product_price(
        &self,
        ctx: &Context<'_>,
        id: ID,
        price: Yen,
        #[graphql(default)] consistency: Consistency,
        command_id: Option<String>,
    ) -> Result<CommandReceipt> {
        let planned = build::change_product_price(&id, price, command_id.as_deref())?;
        Ok(dispatch(ctx, planned, consistency).await?)
    }

    async fn add_stock(
        &self,
        ctx: &Context<'_>,
        id: ID,
        quantity: i32,
        #[graphql(default)] consistency: Consistency,
        command_id: Option<String>,
    ) -> Result<CommandReceipt> {
        let planned = build::add_stock(&id, quantity, command_id.as_deref())?;
        Ok(dispatch(ctx, planned, consistency).await?)
    }

    async fn delete_product(
        &self,
        ctx: &Context<'_>,
        id: ID,
        #[graphql(default)] consistency: Consistency,
        command_id: Option<String>,
    ) -> Result<CommandReceipt> {
        let planned = build::delete_product(&id, command_id.as_deref())?;
        Ok(dispatch(ctx, planned, consistency).await?)
    }

    /// Each line's unit price is captured when the order is placed.
    async fn place_order(
        &self,
        ctx: &Context<'_>,
        input: PlaceOrderInput,
        #[graphql(default)] consistency: Consistency,
    ) -> Result<CommandReceipt> {
        Ok(dispatch(ctx, build::place_order(input)?, consistency).await?)
    }

    /// Possible until the order is confirmed.
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
        #[graphql(default)] consistency: Consistency,
        command_id: Option<String>,
    ) -> Result<CommandReceipt> {
        let planned = build::cancel_order(&id, &reason, command_id.as_deref())?;
        Ok(dispatch(ctx, planned, consistency).await?)
    }
}
