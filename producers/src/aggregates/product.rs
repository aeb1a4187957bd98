//! The Product aggregate: descriptive fields, a price, and stock.
//!
//! Stock model: `stock` is what can still be sold; reserving for an order moves items from
//! `stock` to `reserved`, releasing moves them back. A reservation that cannot be met (or one
//! on a deleted product) is not a rejection but a `StockReservationRejected` event, because the
//! order saga reacts to it like to any other outcome.

use std::collections::BTreeMap;

use nagare_schemas::commands::{Command, ReleaseStock, ReserveStock};
use nagare_schemas::events::{
    AggregateType, Event, ProductCreated, ProductDeleted, ProductEvent, ProductPriceChanged,
    ProductUpdated, StockAdded, StockReleased, StockReservationRejected, StockReserved,
};
use nagare_schemas::values::{EntityId, Money, ProductName, Quantity, StockLevel};
use serde::{Deserialize, Serialize};

use super::category::optional_description;
use super::{Aggregate, Lifecycle, Rejection};
use crate::catalog::Catalog;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub lifecycle: Lifecycle,
    pub category_id: String,
    pub name: String,
    pub description: Option<String>,
    /// Yen.
    pub price: i64,
    /// Items that can still be sold.
    pub stock: u32,
    /// Items held for orders.
    pub reserved: u32,
    /// What each order holds, so a release gives back exactly that.
    pub reservations: BTreeMap<String, u32>,
}

const WHAT: &str = "product";

impl Aggregate for Product {
    type Event = ProductEvent;

    const TYPE: AggregateType = AggregateType::Product;

    fn decide(&self, command: &Command, catalog: &Catalog) -> Result<Vec<ProductEvent>, Rejection> {
        let event = match command {
            Command::CreateProduct(c) => {
                let name = ProductName::parse("name", &c.name)?;
                let description = optional_description(c.description.as_deref())?;
                let price = Money::yen("price", c.price)?;
                let stock = StockLevel::parse("initialStock", i64::from(c.initial_stock))?;
                let category_id = live_category(catalog, &c.category_id)?;
                self.lifecycle.require_new(WHAT)?;
                ProductEvent::Created(ProductCreated {
                    product_id: c.product_id.clone(),
                    category_id,
                    name: name.into_string(),
                    description,
                    price: price.as_yen(),
                    initial_stock: to_wire(stock.get()),
                })
            }
            Command::UpdateProduct(c) => {
                let name = c.name.as_deref().map(|n| ProductName::parse("name", n)).transpose()?;
                let description = optional_description(c.description.as_deref())?;
                self.lifecycle.require_live(WHAT)?;
                let category_id = match c.category_id.as_deref() {
                    Some(id) if id.trim() != self.category_id => live_category(catalog, id)?,
                    _ => self.category_id.clone(),
                };
                ProductEvent::Updated(ProductUpdated {
                    product_id: c.product_id.clone(),
                    category_id,
                    previous_category_id: self.category_id.clone(),
                    name: name.map_or_else(|| self.name.clone(), ProductName::into_string),
                    description: description.or_else(|| self.description.clone()),
                })
            }
            Command::ChangeProductPrice(c) => {
                let price = Money::yen("price", c.price)?;
                self.lifecycle.require_live(WHAT)?;
                ProductEvent::PriceChanged(ProductPriceChanged {
                    product_id: c.product_id.clone(),
                    previous_price: self.price,
                    price: price.as_yen(),
                })
            }
            Command::AddStock(c) => {
                let quantity = Quantity::parse("quantity", i64::from(c.quantity))?;
                self.lifecycle.require_live(WHAT)?;
                let stock = self
                    .stock
                    .checked_add(quantity.get())
                    .filter(|s| *s <= StockLevel::MAX)
                    .ok_or_else(|| {
                        Rejection::validation(
                            "quantity",
                            format!("stock would exceed {} items", StockLevel::MAX),
                        )
                    })?;
                ProductEvent::StockAdded(StockAdded {
                    product_id: c.product_id.clone(),
                    quantity: to_wire(quantity.get()),
                    stock: to_wire(stock),
                })
            }
            Command::DeleteProduct(c) => {
                self.lifecycle.require_live(WHAT)?;
                ProductEvent::Deleted(ProductDeleted {
                    product_id: c.product_id.clone(),
                    category_id: self.category_id.clone(),
                })
            }
            Command::ReserveStock(c) => self.reserve(c)?,
            Command::ReleaseStock(c) => self.release(c)?,
            other => {
                return Err(Rejection::validation(
                    super::ID_FIELD,
                    format!("{} is not a product command", other.command_type()),
                ));
            }
        };
        Ok(vec![event])
    }

    fn apply(&mut self, event: &ProductEvent) {
        match event {
            ProductEvent::Created(e) => {
                self.lifecycle = Lifecycle::Live;
                self.category_id.clone_from(&e.category_id);
                self.name.clone_from(&e.name);
                self.description.clone_from(&e.description);
                self.price = e.price;
                self.stock = from_wire(e.initial_stock);
            }
            ProductEvent::Updated(e) => {
                self.category_id.clone_from(&e.category_id);
                self.name.clone_from(&e.name);
                self.description.clone_from(&e.description);
            }
            ProductEvent::PriceChanged(e) => self.price = e.price,
            ProductEvent::Deleted(_) => self.lifecycle = Lifecycle::Deleted,
            ProductEvent::StockAdded(e) => self.stock = from_wire(e.stock),
            ProductEvent::StockReserved(e) => {
                self.stock = from_wire(e.stock);
                self.reserved = from_wire(e.reserved);
                self.reservations.insert(e.order_id.clone(), from_wire(e.quantity));
            }
            ProductEvent::StockReservationRejected(_) => {}
            ProductEvent::StockReleased(e) => {
                self.stock = from_wire(e.stock);
                self.reserved = from_wire(e.reserved);
                self.reservations.remove(&e.order_id);
            }
        }
    }

    fn wrap(event: ProductEvent) -> Event {
        Event::Product(event)
    }

    fn unwrap(event: &Event) -> Option<&ProductEvent> {
        match event {
            Event::Product(e) => Some(e),
            _ => None,
        }
    }
}

impl Product {
    fn reserve(&self, c: &ReserveStock) -> Result<ProductEvent, Rejection> {
        EntityId::parse("orderId", &c.order_id)?;
        let quantity = Quantity::parse("quantity", i64::from(c.quantity))?;
        if self.lifecycle == Lifecycle::New {
            return Err(Rejection::not_found(super::ID_FIELD, "no such product"));
        }
        if self.reservations.contains_key(&c.order_id) {
            return Err(Rejection::conflict("stock is already reserved for this order"));
        }
        let rejected = |reason: &str| {
            ProductEvent::StockReservationRejected(StockReservationRejected {
                product_id: c.product_id.clone(),
                order_id: c.order_id.clone(),
                requested: to_wire(quantity.get()),
                available: to_wire(self.stock),
                reason: reason.to_owned(),
            })
        };
        if self.lifecycle == Lifecycle::Deleted {
            return Ok(rejected("the product has been deleted"));
        }
        if quantity.get() > self.stock {
            return Ok(rejected("not enough stock"));
        }
        Ok(ProductEvent::StockReserved(StockReserved {
            product_id: c.product_id.clone(),
            order_id: c.order_id.clone(),
            quantity: to_wire(quantity.get()),
            stock: to_wire(self.stock - quantity.get()),
            reserved: to_wire(self.reserved.saturating_add(quantity.get())),
        }))
    }

    fn release(&self, c: &ReleaseStock) -> Result<ProductEvent, Rejection> {
        EntityId::parse("orderId", &c.order_id)?;
        if self.lifecycle == Lifecycle::New {
            return Err(Rejection::not_found(super::ID_FIELD, "no such product"));
        }
        let held = self.reservations.get(&c.order_id).copied().ok_or_else(|| {
            Rejection::not_found("orderId", "no stock is reserved for this order")
        })?;
        Ok(ProductEvent::StockReleased(StockReleased {
            product_id: c.product_id.clone(),
            order_id: c.order_id.clone(),
            quantity: to_wire(held),
            stock: to_wire(self.stock.saturating_add(held)),
            reserved: to_wire(self.reserved.saturating_sub(held)),
        }))
    }
}

/// The id of a category that exists and is not deleted, or NOT_FOUND naming `categoryId`.
fn live_category(catalog: &Catalog, id: &str) -> Result<String, Rejection> {
    let id = EntityId::parse("categoryId", id)?.to_string();
    match catalog.live_category(&id) {
        Some(_) => Ok(id),
        None => Err(Rejection::not_found("categoryId", format!("no such category {id}"))),
    }
}

/// Counts are bounded by the value objects far below `i32::MAX`; saturate rather than panic.
fn to_wire(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn from_wire(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

#[cfg(test)]
#[path = "product_tests.rs"]
mod tests;
