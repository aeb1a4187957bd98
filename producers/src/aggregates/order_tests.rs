use nagare_schemas::commands::OrderLineRequest;
use nagare_schemas::events::{
    OrderConfirmed, OrderPaymentProcessed, ProductCreated, ProductDeleted, ProductEvent,
    ProductPriceChanged,
};
use nagare_schemas::replies::RejectionCode;

use super::*;
use crate::test_framework::TestFramework;

const ID: &str = "0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b";
const CUSTOMER: &str = "0192f0c1-7a5e-7d2c-9b1e-0000000000c5";
const TEA: &str = "0192f0c1-7a5e-7d2c-9b1e-000000000001";
const CUP: &str = "0192f0c1-7a5e-7d2c-9b1e-000000000002";
const CATEGORY: &str = "0192f0c1-7a5e-7d2c-9b1e-00000000000c";

fn product(id: &str, name: &str, price: i64) -> Event {
    Event::Product(ProductEvent::Created(ProductCreated {
        product_id: id.into(),
        category_id: CATEGORY.into(),
        name: name.into(),
        description: None,
        price,
        initial_stock: 10,
    }))
}

fn shop() -> TestFramework<Order> {
    TestFramework::<Order>::new()
        .with_catalog(vec![product(TEA, "Sencha", 500), product(CUP, "Yunomi", 1200)])
}

fn place(lines: &[(&str, i32)]) -> Command {
    Command::PlaceOrder(PlaceOrder {
        order_id: ID.into(),
        customer_id: CUSTOMER.into(),
        lines: lines
            .iter()
            .map(|(product_id, quantity)| OrderLineRequest {
                product_id: (*product_id).into(),
                quantity: *quantity,
            })
            .collect(),
    })
}

fn line(product_id: &str, product_name: &str, quantity: i32, unit_price: i64) -> OrderLine {
    OrderLine {
        product_id: product_id.into(),
        product_name: product_name.into(),
        quantity,
        unit_price,
        subtotal: unit_price * i64::from(quantity),
    }
}

fn placed() -> OrderEvent {
    OrderEvent::Created(OrderCreated {
        order_id: ID.into(),
        customer_id: CUSTOMER.into(),
        lines: vec![line(TEA, "Sencha", 2, 500)],
        total: 1000,
    })
}

fn cancel(reason: &str) -> Command {
    Command::CancelOrder(CancelOrder { order_id: ID.into(), reason: reason.into() })
}

#[test]
fn placing_captures_names_and_prices_and_totals_exactly() {
    shop().when(place(&[(TEA, 2), (CUP, 3)])).then_expect(vec![OrderEvent::Created(
        OrderCreated {
            order_id: ID.into(),
            customer_id: CUSTOMER.into(),
            lines: vec![line(TEA, "Sencha", 2, 500), line(CUP, "Yunomi", 3, 1200)],
            total: 4600,
        },
    )]);
}

#[test]
fn the_captured_price_is_the_current_one() {
    let raised = Event::Product(ProductEvent::PriceChanged(ProductPriceChanged {
        product_id: TEA.into(),
        previous_price: 500,
        price: 800,
    }));
    let events = shop().with_catalog(vec![raised]).when(place(&[(TEA, 1)])).decided();
    assert!(matches!(
        events.as_deref(),
        Ok([OrderEvent::Created(OrderCreated { total: 800, .. })])
    ));
}

#[test]
fn lines_are_validated_and_named_by_index() {
    shop().when(place(&[])).then_reject(RejectionCode::ValidationFailed, Some("lines"));
    shop()
        .when(place(&[(TEA, 1), (CUP, 0)]))
        .then_reject(RejectionCode::ValidationFailed, Some("lines[1].quantity"));
    shop()
        .when(place(&[(TEA, -3)]))
        .then_reject(RejectionCode::ValidationFailed, Some("lines[0].quantity"));
    shop()
        .when(place(&[(TEA, 1), ("tea", 1)]))
        .then_reject(RejectionCode::ValidationFailed, Some("lines[1].productId"));
    let too_many: Vec<(&str, i32)> = vec![(TEA, 1); MAX_LINES + 1];
    shop().when(place(&too_many)).then_reject(RejectionCode::ValidationFailed, Some("lines"));
}

#[test]
fn the_customer_id_must_be_a_uuid() {
    shop()
        .when(Command::PlaceOrder(PlaceOrder {
            order_id: ID.into(),
            customer_id: "alice".into(),
            lines: vec![OrderLineRequest { product_id: TEA.into(), quantity: 1 }],
        }))
        .then_reject(RejectionCode::ValidationFailed, Some("customerId"));
}

#[test]
fn unknown_and_deleted_products_cannot_be_ordered() {
    let missing = "0192f0c1-7a5e-7d2c-9b1e-0000000000ff";
    shop()
        .when(place(&[(TEA, 1), (missing, 1)]))
        .then_reject(RejectionCode::NotFound, Some("lines[1].productId"));
    let deleted = Event::Product(ProductEvent::Deleted(ProductDeleted {
        product_id: CUP.into(),
        category_id: CATEGORY.into(),
    }));
    shop()
        .with_catalog(vec![deleted])
        .when(place(&[(CUP, 1)]))
        .then_reject(RejectionCode::NotFound, Some("lines[0].productId"));
}

#[test]
fn a_total_too_large_to_represent_is_refused() {
    let events = vec![product(TEA, "Gold leaf", i64::MAX / 2)];
    TestFramework::<Order>::new()
        .with_catalog(events)
        .when(place(&[(TEA, 3)]))
        .then_reject(RejectionCode::ValidationFailed, Some("lines[0].quantity"));
    let events =
        vec![product(TEA, "Gold leaf", i64::MAX / 2), product(CUP, "Gold cup", i64::MAX / 2)];
    TestFramework::<Order>::new()
        .with_catalog(events)
        .when(place(&[(TEA, 1), (CUP, 1), (TEA, 1)]))
        .then_reject(RejectionCode::ValidationFailed, Some("lines"));
}

#[test]
fn placing_twice_conflicts() {
    shop()
        .given(vec![placed()])
        .when(place(&[(TEA, 1)]))
        .then_reject(RejectionCode::Conflict, None);
}

#[test]
fn cancel_until_confirmed() {
    shop().given(vec![placed()]).when(cancel(" changed my mind ")).then_expect(vec![
        OrderEvent::Cancelled(OrderCancelled {
            order_id: ID.into(),
            reason: "changed my mind".into(),
        }),
    ]);
    let paid = OrderEvent::PaymentProcessed(OrderPaymentProcessed {
        order_id: ID.into(),
        payment_id: "pay-1".into(),
        amount: 1000,
    });
    shop().given(vec![placed(), paid.clone()]).when(cancel("late")).then_expect(vec![
        OrderEvent::Cancelled(OrderCancelled { order_id: ID.into(), reason: "late".into() }),
    ]);
    shop()
        .given(vec![placed(), paid, OrderEvent::Confirmed(OrderConfirmed { order_id: ID.into() })])
        .when(cancel("too late"))
        .then_reject(RejectionCode::Conflict, None);
}

#[test]
fn cancel_needs_a_reason_and_an_order() {
    shop()
        .given(vec![placed()])
        .when(cancel("  "))
        .then_reject(RejectionCode::ValidationFailed, Some("reason"));
    shop().when(cancel("why")).then_reject(RejectionCode::NotFound, Some("id"));
    shop()
        .given(vec![
            placed(),
            OrderEvent::Cancelled(OrderCancelled { order_id: ID.into(), reason: "x".into() }),
        ])
        .when(cancel("again"))
        .then_reject(RejectionCode::Conflict, None);
}
