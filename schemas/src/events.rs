//! Domain events: what happened, past tense, one Avro record each (see `avro/`).
//!
//! Payloads use wire-level types (ids as UUID strings, yen as `i64`, counts as `i32`) so that any
//! Avro library reads them from the `.avsc` files alone; aggregates turn them back into values.

use serde::{Deserialize, Serialize};

/// The kinds of aggregate; each has its own events topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AggregateType {
    Category,
    Product,
    Order,
}

impl AggregateType {
    pub const ALL: [AggregateType; 3] =
        [AggregateType::Category, AggregateType::Product, AggregateType::Order];

    /// The name used in headers, topic names and the GraphQL API.
    pub fn as_str(self) -> &'static str {
        match self {
            AggregateType::Category => "Category",
            AggregateType::Product => "Product",
            AggregateType::Order => "Order",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(name))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCreated {
    pub category_id: String,
    pub name: String,
    pub description: Option<String>,
}

/// The category's name and description after the update.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryUpdated {
    pub category_id: String,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryDeleted {
    pub category_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductCreated {
    pub product_id: String,
    pub category_id: String,
    pub name: String,
    pub description: Option<String>,
    pub price: i64,
    pub initial_stock: i32,
}

/// The product's descriptive fields after the update (price and stock have their own events).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductUpdated {
    pub product_id: String,
    pub category_id: String,
    pub previous_category_id: String,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductPriceChanged {
    pub product_id: String,
    pub previous_price: i64,
    pub price: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductDeleted {
    pub product_id: String,
    pub category_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockAdded {
    pub product_id: String,
    pub quantity: i32,
    /// Items on hand afterwards (not counting reservations).
    pub stock: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockReserved {
    pub product_id: String,
    pub order_id: String,
    pub quantity: i32,
    /// Items on hand and items reserved afterwards.
    pub stock: i32,
    pub reserved: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockReservationRejected {
    pub product_id: String,
    pub order_id: String,
    pub requested: i32,
    pub available: i32,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockReleased {
    pub product_id: String,
    pub order_id: String,
    pub quantity: i32,
    pub stock: i32,
    pub reserved: i32,
}

/// One line of an order, with the unit price captured when the order was placed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: String,
    pub product_name: String,
    pub quantity: i32,
    pub unit_price: i64,
    pub subtotal: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCreated {
    pub order_id: String,
    pub customer_id: String,
    pub lines: Vec<OrderLine>,
    pub total: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPaymentProcessed {
    pub order_id: String,
    pub payment_id: String,
    pub amount: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPaymentFailed {
    pub order_id: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderConfirmed {
    pub order_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub order_id: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CategoryEvent {
    Created(CategoryCreated),
    Updated(CategoryUpdated),
    Deleted(CategoryDeleted),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProductEvent {
    Created(ProductCreated),
    Updated(ProductUpdated),
    PriceChanged(ProductPriceChanged),
    Deleted(ProductDeleted),
    StockAdded(StockAdded),
    StockReserved(StockReserved),
    StockReservationRejected(StockReservationRejected),
    StockReleased(StockReleased),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderEvent {
    Created(OrderCreated),
    PaymentProcessed(OrderPaymentProcessed),
    PaymentFailed(OrderPaymentFailed),
    Confirmed(OrderConfirmed),
    Cancelled(OrderCancelled),
}

/// Any domain event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Category(CategoryEvent),
    Product(ProductEvent),
    Order(OrderEvent),
}

impl Event {
    pub fn aggregate_type(&self) -> AggregateType {
        match self {
            Event::Category(_) => AggregateType::Category,
            Event::Product(_) => AggregateType::Product,
            Event::Order(_) => AggregateType::Order,
        }
    }

    /// The event's name: the Avro record's name, and the `event_type` header.
    pub fn event_type(&self) -> &'static str {
        match self {
            Event::Category(e) => match e {
                CategoryEvent::Created(_) => "CategoryCreated",
                CategoryEvent::Updated(_) => "CategoryUpdated",
                CategoryEvent::Deleted(_) => "CategoryDeleted",
            },
            Event::Product(e) => match e {
                ProductEvent::Created(_) => "ProductCreated",
                ProductEvent::Updated(_) => "ProductUpdated",
                ProductEvent::PriceChanged(_) => "ProductPriceChanged",
                ProductEvent::Deleted(_) => "ProductDeleted",
                ProductEvent::StockAdded(_) => "StockAdded",
                ProductEvent::StockReserved(_) => "StockReserved",
                ProductEvent::StockReservationRejected(_) => "StockReservationRejected",
                ProductEvent::StockReleased(_) => "StockReleased",
            },
            Event::Order(e) => match e {
                OrderEvent::Created(_) => "OrderCreated",
                OrderEvent::PaymentProcessed(_) => "OrderPaymentProcessed",
                OrderEvent::PaymentFailed(_) => "OrderPaymentFailed",
                OrderEvent::Confirmed(_) => "OrderConfirmed",
                OrderEvent::Cancelled(_) => "OrderCancelled",
            },
        }
    }

    /// The id of the aggregate the event belongs to (its log key).
    pub fn aggregate_id(&self) -> &str {
        match self {
            Event::Category(e) => e.category_id(),
            Event::Product(e) => e.product_id(),
            Event::Order(e) => e.order_id(),
        }
    }
}

impl CategoryEvent {
    /// The category the event belongs to.
    pub fn category_id(&self) -> &str {
        match self {
            CategoryEvent::Created(e) => &e.category_id,
            CategoryEvent::Updated(e) => &e.category_id,
            CategoryEvent::Deleted(e) => &e.category_id,
        }
    }
}

impl ProductEvent {
    /// The product the event belongs to.
    pub fn product_id(&self) -> &str {
        match self {
            ProductEvent::Created(e) => &e.product_id,
            ProductEvent::Updated(e) => &e.product_id,
            ProductEvent::PriceChanged(e) => &e.product_id,
            ProductEvent::Deleted(e) => &e.product_id,
            ProductEvent::StockAdded(e) => &e.product_id,
            ProductEvent::StockReserved(e) => &e.product_id,
            ProductEvent::StockReservationRejected(e) => &e.product_id,
            ProductEvent::StockReleased(e) => &e.product_id,
        }
    }
}

impl OrderEvent {
    /// The order the event belongs to.
    pub fn order_id(&self) -> &str {
        match self {
            OrderEvent::Created(e) => &e.order_id,
            OrderEvent::PaymentProcessed(e) => &e.order_id,
            OrderEvent::PaymentFailed(e) => &e.order_id,
            OrderEvent::Confirmed(e) => &e.order_id,
            OrderEvent::Cancelled(e) => &e.order_id,
        }
    }
}
