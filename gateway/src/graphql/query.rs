//! `Query`: reads from the read models, which may trail the log by a moment (ask a mutation
//! for `consistency: STRONG` to read your own writes).

use async_graphql::{Context, ID, Object, Result};
use nagare_schemas::values::EntityId;

use super::errors::ApiError;
use super::limits::connection_complexity;
use super::pagination::{connection, page_request};
use super::services::read_models;
use super::types::{
    Category, CategoryConnection, Order, OrderConnection, OrderStatus, Product, ProductConnection,
};

#[derive(Debug, Default)]
pub struct Query;

/// An id argument in the form the read models store it (a canonical UUID), or an error naming
/// the argument.
fn canonical_id(field: &str, id: &ID) -> Result<String, ApiError> {
    Ok(EntityId::parse(field, id.as_str())?.to_string())
}

#[Object]
impl Query {
    async fn category(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Category>> {
        let id = canonical_id("id", &id)?;
        let view = read_models(ctx)?.category(&id).await.map_err(ApiError::from)?;
        Ok(view.map(Category))
    }

    /// Every category, oldest first.
    #[graphql(complexity = "connection_complexity(first, child_complexity)")]
    async fn categories(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<CategoryConnection> {
        let had_cursor = after.is_some();
        let request = page_request(first, after)?;
        let page = read_models(ctx)?.categories(request).await.map_err(ApiError::from)?;
        Ok(connection(page, had_cursor, Category))
    }

    /// A product, deleted ones included (`deleted: true`).
    async fn product(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Product>> {
        let id = canonical_id("id", &id)?;
        let view = read_models(ctx)?.product(&id).await.map_err(ApiError::from)?;
        Ok(view.map(Product))
    }

    /// Live products, oldest first; only one category's when `categoryId` is given.
    #[graphql(complexity = "connection_complexity(first, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        category_id: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ProductConnection> {
        let category_id = category_id.map(|id| canonical_id("categoryId", &id)).transpose()?;
        let had_cursor = after.is_some();
        let request = page_request(first, after)?;
        let page = read_models(ctx)?
            .products(category_id.as_deref(), request)
            .await
            .map_err(ApiError::from)?;
        Ok(connection(page, had_cursor, Product))
    }

    async fn order(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Order>> {
        let id = canonical_id("id", &id)?;
        let view = read_models(ctx)?.order(&id).await.map_err(ApiError::from)?;
        Ok(view.map(Order))
    }

    /// Orders, newest first, optionally of one customer and/or in one status.
    #[graphql(complexity = "connection_complexity(first, child_complexity)")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        customer_id: Option<ID>,
        status: Option<OrderStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<OrderConnection> {
        let customer_id = customer_id.map(|id| canonical_id("customerId", &id)).transpose()?;
        let had_cursor = after.is_some();
        let request = page_request(first, after)?;
        let page = read_models(ctx)?
            .orders(customer_id.as_deref(), status.map(Into::into), request)
            .await
            .map_err(ApiError::from)?;
        Ok(connection(page, had_cursor, Order))
    }
}
