//! Events as the aggregates emit them, for feeding the projections.

use nagare_schemas::events::*;
use uuid::Uuid;

pub(crate) fn new_id() -> String {
    Uuid::now_v7().to_string()
}

pub(crate) fn category_created(id: &str, name: &str) -> Event {
    Event::Category(CategoryEvent::Created(CategoryCreated {
        category_id: id.into(),
        name: name.into(),
        description: Some(format!("all about {name}")),
    }))
}

pub(crate) fn product_created(id: &str, category: &str, name: &str, price: i64) -> Event {
    Event::Product(ProductEvent::Created(ProductCreated {
        product_id: id.into(),
        category_id: category.into(),
        name: name.into(),
        description: None,
        price,
        initial_stock: 10,
    }))
}

pub(crate) fn product_moved(id: &str, from: &str, to: &str, name: &str) -> Event {
    Event::Product(ProductEvent::Updated(ProductUpdated {
        product_id: id.into(),
        category_id: to.into(),
        previous_category_id: from.into(),
        name: name.into(),
        description: Some("moved".into()),
    }))
}

pub(crate) fn product_deleted(id: &str, category: &str) -> Event {
    Event::Product(ProductEvent::Deleted(ProductDeleted {
        product_id: id.into(),
        category_id: category.into(),
    }))
}

pub(crate) fn order_created(id: &str, customer: &str, quantity: i32) -> Event {
    Event::Order(OrderEvent::Created(OrderCreated {
        order_id: id.into(),
        customer_id: customer.into(),
        lines: vec![OrderLine {
            product_id: new_id(),
            product_name: "Sencha".into(),
            quantity,
            unit_price: 500,
            subtotal: 500 * i64::from(quantity),
        }],
        total: 500 * i64::from(quantity),
    }))
}

pub(crate) fn order_cancelled(id: &str, reason: &str) -> Event {
    Event::Order(OrderEvent::Cancelled(OrderCancelled {
        order_id: id.into(),
        reason: reason.into(),
    }))
}

pub(crate) fn order_paid(id: &str) -> Event {
    Event::Order(OrderEvent::PaymentProcessed(OrderPaymentProcessed {
        order_id: id.into(),
        payment_id: new_id(),
        amount: 500,
    }))
}
