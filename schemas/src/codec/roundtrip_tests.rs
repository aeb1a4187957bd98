//! Every command, event and reply survives encode → decode unchanged, for any field values, and
//! its JSON form carries exactly the Rust struct's fields.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde::Serialize;
use uuid::Uuid;

use super::*;
use crate::commands::*;
use crate::events::*;
use crate::replies::*;

fn id() -> impl Strategy<Value = String> {
    any::<u128>().prop_map(|n| Uuid::from_u128(n).to_string())
}

fn text() -> impl Strategy<Value = String> {
    any::<String>()
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    option::of(text())
}

fn json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("plain structs serialise")
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        (id(), text(), opt_text()).prop_map(|(category_id, name, description)| {
            Command::CreateCategory(CreateCategory { category_id, name, description })
        }),
        (id(), opt_text(), opt_text()).prop_map(|(category_id, name, description)| {
            Command::UpdateCategory(UpdateCategory { category_id, name, description })
        }),
        id().prop_map(|category_id| Command::DeleteCategory(DeleteCategory { category_id })),
        (id(), id(), text(), opt_text(), any::<i64>(), any::<i32>()).prop_map(
            |(product_id, category_id, name, description, price, initial_stock)| {
                Command::CreateProduct(CreateProduct {
                    product_id,
                    category_id,
                    name,
                    description,
                    price,
                    initial_stock,
                })
            }
        ),
        (id(), option::of(id()), opt_text(), opt_text()).prop_map(
            |(product_id, category_id, name, description)| {
                Command::UpdateProduct(UpdateProduct { product_id, category_id, name, description })
            }
        ),
        (id(), any::<i64>()).prop_map(|(product_id, price)| {
            Command::ChangeProductPrice(ChangeProductPrice { product_id, price })
        }),
        (id(), any::<i32>()).prop_map(|(product_id, quantity)| Command::AddStock(AddStock {
            product_id,
            quantity
        })),
        id().prop_map(|product_id| Command::DeleteProduct(DeleteProduct { product_id })),
        (id(), id(), any::<i32>()).prop_map(|(product_id, order_id, quantity)| {
            Command::ReserveStock(ReserveStock { product_id, order_id, quantity })
        }),
        (id(), id()).prop_map(|(product_id, order_id)| {
            Command::ReleaseStock(ReleaseStock { product_id, order_id })
        }),
        (id(), id(), vec((id(), any::<i32>()), 0..5)).prop_map(|(order_id, customer_id, lines)| {
            let lines = lines
                .into_iter()
                .map(|(product_id, quantity)| OrderLineRequest { product_id, quantity })
                .collect();
            Command::PlaceOrder(PlaceOrder { order_id, customer_id, lines })
        }),
        (id(), text())
            .prop_map(|(order_id, reason)| Command::CancelOrder(CancelOrder { order_id, reason })),
    ]
}

fn command_json(command: &Command) -> serde_json::Value {
    match command {
        Command::CreateCategory(c) => json(c),
        Command::UpdateCategory(c) => json(c),
        Command::DeleteCategory(c) => json(c),
        Command::CreateProduct(c) => json(c),
        Command::UpdateProduct(c) => json(c),
        Command::ChangeProductPrice(c) => json(c),
        Command::AddStock(c) => json(c),
        Command::DeleteProduct(c) => json(c),
        Command::ReserveStock(c) => json(c),
        Command::ReleaseStock(c) => json(c),
        Command::PlaceOrder(c) => json(c),
        Command::CancelOrder(c) => json(c),
    }
}

fn category_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (id(), text(), opt_text()).prop_map(|(category_id, name, description)| {
            CategoryEvent::Created(CategoryCreated { category_id, name, description })
        }),
        (id(), text(), opt_text()).prop_map(|(category_id, name, description)| {
            CategoryEvent::Updated(CategoryUpdated { category_id, name, description })
        }),
        id().prop_map(|category_id| CategoryEvent::Deleted(CategoryDeleted { category_id })),
    ]
    .prop_map(Event::Category)
}

fn stock_event() -> impl Strategy<Value = ProductEvent> {
    let counts = (any::<i32>(), any::<i32>(), any::<i32>());
    prop_oneof![
        (id(), any::<i32>(), any::<i32>()).prop_map(|(product_id, quantity, stock)| {
            ProductEvent::StockAdded(StockAdded { product_id, quantity, stock })
        }),
        (id(), id(), counts).prop_map(|(product_id, order_id, (quantity, stock, reserved))| {
            ProductEvent::StockReserved(StockReserved {
                product_id,
                order_id,
                quantity,
                stock,
                reserved,
            })
        }),
        (id(), id(), any::<i32>(), any::<i32>(), text()).prop_map(
            |(product_id, order_id, requested, available, reason)| {
                ProductEvent::StockReservationRejected(StockReservationRejected {
                    product_id,
                    order_id,
                    requested,
                    available,
                    reason,
                })
            }
        ),
        (id(), id(), counts).prop_map(|(product_id, order_id, (quantity, stock, reserved))| {
            ProductEvent::StockReleased(StockReleased {
                product_id,
                order_id,
                quantity,
                stock,
                reserved,
            })
        }),
    ]
}

fn product_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (id(), id(), text(), opt_text(), any::<i64>(), any::<i32>()).prop_map(
            |(product_id, category_id, name, description, price, initial_stock)| {
                ProductEvent::Created(ProductCreated {
                    product_id,
                    category_id,
                    name,
                    description,
                    price,
                    initial_stock,
                })
            }
        ),
        (id(), id(), id(), text(), opt_text()).prop_map(
            |(product_id, category_id, previous_category_id, name, description)| {
                ProductEvent::Updated(ProductUpdated {
                    product_id,
                    category_id,
                    previous_category_id,
                    name,
                    description,
                })
            }
        ),
        (id(), any::<i64>(), any::<i64>()).prop_map(|(product_id, previous_price, price)| {
            ProductEvent::PriceChanged(ProductPriceChanged { product_id, previous_price, price })
        }),
        (id(), id()).prop_map(|(product_id, category_id)| {
            ProductEvent::Deleted(ProductDeleted { product_id, category_id })
        }),
        stock_event(),
    ]
    .prop_map(Event::Product)
}

fn order_line() -> impl Strategy<Value = OrderLine> {
    (id(), text(), any::<i32>(), any::<i64>(), any::<i64>()).prop_map(
        |(product_id, product_name, quantity, unit_price, subtotal)| OrderLine {
            product_id,
            product_name,
            quantity,
            unit_price,
            subtotal,
        },
    )
}

fn order_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (id(), id(), vec(order_line(), 0..4), any::<i64>()).prop_map(
            |(order_id, customer_id, lines, total)| {
                OrderEvent::Created(OrderCreated { order_id, customer_id, lines, total })
            }
        ),
        (id(), text(), any::<i64>()).prop_map(|(order_id, payment_id, amount)| {
            OrderEvent::PaymentProcessed(OrderPaymentProcessed { order_id, payment_id, amount })
        }),
        (id(), text()).prop_map(|(order_id, reason)| {
            OrderEvent::PaymentFailed(OrderPaymentFailed { order_id, reason })
        }),
        id().prop_map(|order_id| OrderEvent::Confirmed(OrderConfirmed { order_id })),
        (id(), text()).prop_map(|(order_id, reason)| OrderEvent::Cancelled(OrderCancelled {
            order_id,
            reason
        })),
    ]
    .prop_map(Event::Order)
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![category_event(), product_event(), order_event()]
}

fn event_json(event: &Event) -> serde_json::Value {
    match event {
        Event::Category(CategoryEvent::Created(e)) => json(e),
        Event::Category(CategoryEvent::Updated(e)) => json(e),
        Event::Category(CategoryEvent::Deleted(e)) => json(e),
        Event::Product(ProductEvent::Created(e)) => json(e),
        Event::Product(ProductEvent::Updated(e)) => json(e),
        Event::Product(ProductEvent::PriceChanged(e)) => json(e),
        Event::Product(ProductEvent::Deleted(e)) => json(e),
        Event::Product(ProductEvent::StockAdded(e)) => json(e),
        Event::Product(ProductEvent::StockReserved(e)) => json(e),
        Event::Product(ProductEvent::StockReservationRejected(e)) => json(e),
        Event::Product(ProductEvent::StockReleased(e)) => json(e),
        Event::Order(OrderEvent::Created(e)) => json(e),
        Event::Order(OrderEvent::PaymentProcessed(e)) => json(e),
        Event::Order(OrderEvent::PaymentFailed(e)) => json(e),
        Event::Order(OrderEvent::Confirmed(e)) => json(e),
        Event::Order(OrderEvent::Cancelled(e)) => json(e),
    }
}

fn reply() -> impl Strategy<Value = CommandReply> {
    let position = (text(), any::<i32>(), any::<i64>())
        .prop_map(|(topic, partition, offset)| LogPosition { topic, partition, offset });
    let code = prop_oneof![
        Just(RejectionCode::ValidationFailed),
        Just(RejectionCode::NotFound),
        Just(RejectionCode::Conflict),
    ];
    prop_oneof![
        (text(), id(), any::<i64>(), vec(position, 0..4), any::<bool>()).prop_map(
            |(command_id, aggregate_id, version, positions, duplicate)| {
                CommandReply::Accepted(CommandAccepted {
                    command_id,
                    aggregate_id,
                    version,
                    positions,
                    duplicate,
                })
            }
        ),
        // A rejected command's aggregate id is whatever the command said, valid or not.
        (text(), text(), code, opt_text(), text()).prop_map(
            |(command_id, aggregate_id, code, field, message)| {
                CommandReply::Rejected(CommandRejected {
                    command_id,
                    aggregate_id,
                    code,
                    field,
                    message,
                })
            }
        ),
    ]
}

proptest! {
    #[test]
    fn every_command_round_trips(command in command()) {
        let bytes = encode_command(&command);
        prop_assert_eq!(decode_command(&bytes).expect("decodes"), command.clone());
        let (name, fields) = decode_to_json(&bytes).expect("json");
        prop_assert_eq!(name, format!("nagare.commands.{}", command.command_type()));
        prop_assert_eq!(fields, command_json(&command));
    }

    #[test]
    fn every_event_round_trips(event in event()) {
        let bytes = encode_event(&event);
        prop_assert_eq!(decode_event(&bytes).expect("decodes"), event.clone());
        let (name, fields) = decode_to_json(&bytes).expect("json");
        let namespace = event.aggregate_type().as_str().to_lowercase();
        prop_assert_eq!(name, format!("nagare.events.{namespace}.{}", event.event_type()));
        prop_assert_eq!(fields, event_json(&event));
    }

    #[test]
    fn every_reply_round_trips(reply in reply()) {
        let bytes = encode_reply(&reply);
        prop_assert_eq!(decode_reply(&bytes).expect("decodes"), reply.clone());
        let (name, fields) = decode_to_json(&bytes).expect("json");
        let (expected_name, expected_fields) = match &reply {
            CommandReply::Accepted(a) => ("nagare.replies.CommandAccepted", json(a)),
            CommandReply::Rejected(r) => ("nagare.replies.CommandRejected", json(r)),
        };
        prop_assert_eq!(name, expected_name);
        prop_assert_eq!(fields, expected_fields);
    }
}

/// Each variant once, so a record missing from the tables above fails even on an unlucky draw.
#[test]
fn every_variant_has_a_record() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut commands = std::collections::HashSet::new();
    let mut events = std::collections::HashSet::new();
    for _ in 0..2_000 {
        let c = command().new_tree(&mut runner).expect("value").current();
        decode_command(&encode_command(&c)).expect("decodes");
        commands.insert(c.command_type());
        let e = event().new_tree(&mut runner).expect("value").current();
        decode_event(&encode_event(&e)).expect("decodes");
        events.insert(e.event_type());
    }
    assert_eq!(commands.len(), 12, "{commands:?}");
    assert_eq!(events.len(), 16, "{events:?}");
    // Every record named in the registry is a record the Rust types produce.
    let produced = commands.len() + events.len() + 2;
    let records: std::collections::HashSet<&str> =
        known_schemas().iter().map(|v| v.full_name.as_str()).collect();
    assert_eq!(records.len(), produced);
}
