//! `Product`.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use nagare_consumers::ProductView;

use super::{Category, saturating_int, timestamp};
use crate::graphql::errors::{ApiError, ErrorCode};
use crate::graphql::scalars::Yen;
use crate::graphql::services::category_loader;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product(pub ProductView);

#[Object]
impl Product {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn price(&self) -> Yen {
        Yen(self.0.price)
    }

    /// Loaded in batches with the categories of the other products in the response.
    async fn category(&self, ctx: &Context<'_>) -> Result<Category> {
        let category = category_loader(ctx)?.load_one(self.0.category_id.clone()).await?;
        category.map(Category).ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!(
                    "category {} of product {} is not in the read models (yet); query again shortly",
                    self.0.category_id, self.0.id
                ),
            )
            .into()
        })
    }

    /// Items on hand, reserved ones included.
    async fn stock(&self) -> i32 {
        self.0.stock
    }

    /// Items held for orders that are not yet confirmed or cancelled.
    async fn reserved(&self) -> i32 {
        self.0.reserved
    }

    async fn deleted(&self) -> bool {
        self.0.deleted
    }

    async fn version(&self) -> i32 {
        saturating_int(self.0.version)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        timestamp(self.0.created_at_ms)
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        timestamp(self.0.updated_at_ms)
    }
}
