//! `Category`.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use nagare_consumers::CategoryView;

use super::{Product, ProductConnection, saturating_int, timestamp};
use crate::graphql::errors::ApiError;
use crate::graphql::limits::connection_complexity;
use crate::graphql::pagination::{connection, page_request};
use crate::graphql::services::read_models;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Category(pub CategoryView);

#[Object]
impl Category {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Live (not deleted) products in the category.
    async fn product_count(&self) -> i32 {
        saturating_int(self.0.product_count)
    }

    /// The category's live products, oldest first.
    #[graphql(complexity = "connection_complexity(first, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<ProductConnection> {
        let had_cursor = after.is_some();
        let request = page_request(first, after)?;
        let page =
            read_models(ctx)?.products(Some(&self.0.id), request).await.map_err(ApiError::from)?;
        Ok(connection(page, had_cursor, Product))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        timestamp(self.0.created_at_ms)
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        timestamp(self.0.updated_at_ms)
    }
}
