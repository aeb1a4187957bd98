//! `Order` and `OrderLine`.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use nagare_consumers::{OrderLineView, OrderView};

use super::{OrderStatus, Product, timestamp};
use crate::graphql::scalars::Yen;
use crate::graphql::services::product_loader;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order(pub OrderView);

#[Object]
impl Order {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn customer_id(&self) -> ID {
        ID(self.0.customer_id.clone())
    }

    async fn status(&self) -> OrderStatus {
        self.0.status.into()
    }

    async fn lines(&self) -> Vec<OrderLine> {
        self.0.lines.iter().cloned().map(OrderLine).collect()
    }

    async fn total(&self) -> Yen {
        Yen(self.0.total)
    }

    async fn cancellation_reason(&self) -> Option<&str> {
        self.0.cancellation_reason.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        timestamp(self.0.created_at_ms)
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        timestamp(self.0.updated_at_ms)
    }
}

/// One line of an order, with the unit price captured when the order was placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderLine(pub OrderLineView);

#[Object]
impl OrderLine {
    /// The product as it is now (null if it is unknown to the read models); loaded in batches.
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
        let product = product_loader(ctx)?.load_one(self.0.product_id.clone()).await?;
        Ok(product.map(Product))
    }

    async fn product_id(&self) -> ID {
        ID(self.0.product_id.clone())
    }

    /// The product's name when the order was placed.
    async fn product_name(&self) -> &str {
        &self.0.product_name
    }

    async fn quantity(&self) -> i32 {
        self.0.quantity
    }

    async fn unit_price(&self) -> Yen {
        Yen(self.0.unit_price)
    }

    async fn subtotal(&self) -> Yen {
        Yen(self.0.subtotal)
    }
}
