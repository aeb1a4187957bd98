//! The Order aggregate. Placing an order captures each line's product name and unit price from
//! the catalog at that moment, so later price changes never alter it; the total is computed with
//! overflow-checked `Money`. An order can be cancelled until it is confirmed. Payment and
//! confirmation commands come with the order saga; their events are already folded here.

use nagare_schemas::commands::{CancelOrder, Command, PlaceOrder};
use nagare_schemas::events::{
    AggregateType, Event, OrderCancelled, OrderCreated, OrderEvent, OrderLine,
};
use nagare_schemas::values::{EntityId, Money, Quantity, Reason};
use serde::{Deserialize, Serialize};

use super::{Aggregate, Rejection};
use crate::catalog::Catalog;

/// At most this many lines per order: bounds the size of one event.
pub const MAX_LINES: usize = 100;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderStatus {
    /// Not placed yet.
    #[default]
    New,
    Pending,
    Paid,
    PaymentFailed,
    Confirmed,
    Cancelled,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub status: OrderStatus,
    pub customer_id: String,
    pub lines: Vec<OrderLine>,
    /// Yen.
    pub total: i64,
    pub payment_id: Option<String>,
    pub payment_failure: Option<String>,
    pub cancellation_reason: Option<String>,
}

impl Aggregate for Order {
    type Event = OrderEvent;

    const TYPE: AggregateType = AggregateType::Order;

    fn decide(&self, command: &Command, catalog: &Catalog) -> Result<Vec<OrderEvent>, Rejection> {
        match command {
            Command::PlaceOrder(c) => self.place(c, catalog).map(|e| vec![e]),
            Command::CancelOrder(c) => self.cancel(c).map(|e| vec![e]),
            other => Err(Rejection::validation(
                super::ID_FIELD,
                format!("{} is not an order command", other.command_type()),
            )),
        }
    }

    fn apply(&mut self, event: &OrderEvent) {
        match event {
            OrderEvent::Created(e) => {
                self.status = OrderStatus::Pending;
                self.customer_id.clone_from(&e.customer_id);
                self.lines.clone_from(&e.lines);
                self.total = e.total;
            }
            OrderEvent::PaymentProcessed(e) => {
                self.status = OrderStatus::Paid;
                self.payment_id = Some(e.payment_id.clone());
            }
            OrderEvent::PaymentFailed(e) => {
                self.status = OrderStatus::PaymentFailed;
                self.payment_failure = Some(e.reason.clone());
            }
            OrderEvent::Confirmed(_) => self.status = OrderStatus::Confirmed,
            OrderEvent::Cancelled(e) => {
                self.status = OrderStatus::Cancelled;
                self.cancellation_reason = Some(e.reason.clone());
            }
        }
    }

    fn wrap(event: OrderEvent) -> Event {
        Event::Order(event)
    }

    fn unwrap(event: &Event) -> Option<&OrderEvent> {
        match event {
            Event::Order(e) => Some(e),
            _ => None,
        }
    }
}

impl Order {
    fn place(&self, c: &PlaceOrder, catalog: &Catalog) -> Result<OrderEvent, Rejection> {
        let customer_id = EntityId::parse("customerId", &c.customer_id)?;
        if c.lines.is_empty() {
            return Err(Rejection::validation("lines", "an order needs at least one line"));
        }
        if c.lines.len() > MAX_LINES {
            return Err(Rejection::validation(
                "lines",
                format!("an order has at most {MAX_LINES} lines (got {})", c.lines.len()),
            ));
        }
        let mut lines = Vec::with_capacity(c.lines.len());
        let mut total = Money::ZERO;
        for (i, line) in c.lines.iter().enumerate() {
            let product_field = format!("lines[{i}].productId");
            let quantity_field = format!("lines[{i}].quantity");
            let product_id = EntityId::parse(&product_field, &line.product_id)?.to_string();
            let quantity = Quantity::parse(&quantity_field, i64::from(line.quantity))?;
            let product = catalog.product(&product_id).ok_or_else(|| {
                Rejection::not_found(&product_field, format!("no such product {product_id}"))
            })?;
            if product.deleted {
                return Err(Rejection::not_found(
                    &product_field,
                    format!("the product {product_id} has been deleted"),
                ));
            }
            let unit_price = Money::yen(&product_field, product.price)?;
            let subtotal = unit_price.times(quantity.get(), &quantity_field)?;
            total = total.plus(subtotal, "lines")?;
            lines.push(OrderLine {
                product_id,
                product_name: product.name.clone(),
                quantity: i32::try_from(quantity.get()).unwrap_or(i32::MAX),
                unit_price: unit_price.as_yen(),
                subtotal: subtotal.as_yen(),
            });
        }
        if self.status != OrderStatus::New {
            return Err(Rejection::conflict("this order already exists"));
        }
        Ok(OrderEvent::Created(OrderCreated {
            order_id: c.order_id.clone(),
            customer_id: customer_id.to_string(),
            lines,
            total: total.as_yen(),
        }))
    }

    fn cancel(&self, c: &CancelOrder) -> Result<OrderEvent, Rejection> {
        let reason = Reason::parse("reason", &c.reason)?;
        match self.status {
            OrderStatus::New => Err(Rejection::not_found(super::ID_FIELD, "no such order")),
            OrderStatus::Confirmed => {
                Err(Rejection::conflict("a confirmed order can no longer be cancelled"))
            }
            OrderStatus::Cancelled => Err(Rejection::conflict("the order is already cancelled")),
            OrderStatus::Pending | OrderStatus::Paid | OrderStatus::PaymentFailed => {
                Ok(OrderEvent::Cancelled(OrderCancelled {
                    order_id: c.order_id.clone(),
                    reason: reason.into_string(),
                }))
            }
        }
    }
}

#[cfg(test)]
#[path = "order_tests.rs"]
mod tests;
