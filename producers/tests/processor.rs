//! The command processor end to end on the real embedded log.

mod support;

use nagare_infra::TopicPartition;
use nagare_producers::aggregates::{AnyAggregate, OrderStatus};
use nagare_producers::{AggregateEntry, AggregateKey, rebuild_partition};
use nagare_schemas::codec;
use nagare_schemas::commands::{
    AddStock, CancelOrder, ChangeProductPrice, Command, CreateCategory, CreateProduct,
    DeleteCategory, DeleteProduct, OrderLineRequest, PlaceOrder, UpdateCategory, UpdateProduct,
};
use nagare_schemas::events::{AggregateType, Event, OrderEvent};
use nagare_schemas::metadata;
use nagare_schemas::replies::{CommandReply, RejectionCode};
use nagare_schemas::values::EntityId;
use support::*;

fn id(seed: &str) -> String {
    EntityId::derived_from(seed).to_string()
}

fn create_category(category_id: &str, name: &str) -> Command {
    Command::CreateCategory(CreateCategory {
        category_id: category_id.into(),
        name: name.into(),
        description: None,
    })
}

fn create_product(product_id: &str, category_id: &str, price: i64) -> Command {
    Command::CreateProduct(CreateProduct {
        product_id: product_id.into(),
        category_id: category_id.into(),
        name: format!("Product {price}"),
        description: None,
        price,
        initial_stock: 10,
    })
}

fn place_order(order_id: &str, lines: &[(&str, i32)]) -> Command {
    Command::PlaceOrder(PlaceOrder {
        order_id: order_id.into(),
        customer_id: id("customer"),
        lines: lines
            .iter()
            .map(|(product_id, quantity)| OrderLineRequest {
                product_id: (*product_id).into(),
                quantity: *quantity,
            })
            .collect(),
    })
}

fn header<'r>(record: &'r nagare_infra::Record, name: &str) -> Option<&'r str> {
    record.header(name).and_then(|v| std::str::from_utf8(v).ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_become_events_in_the_commands_partition_and_replies() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let log = open_log(dir.path()).await;
    let processor = start(&log, Some(2));
    let (category, product, order) = (new_id(), new_id(), new_id());

    let created = accept(&log, &create_category(&category, "Tea"), "c-1").await;
    assert_eq!((created.version, created.duplicate, created.positions.len()), (1, false, 1));
    accept(&log, &create_product(&product, &category, 480), "p-1").await;
    let command_position = send(&log, &place_order(&order, &[(&product, 3)]), "o-1").await;
    let CommandReply::Accepted(placed) = reply_to(&log, "o-1").await else { panic!() };

    // The order's event sits in the order events topic, in the command's partition number.
    let [position] = &placed.positions[..] else { panic!("{placed:?}") };
    assert_eq!(position.topic, topics().events(AggregateType::Order));
    assert_eq!(position.partition as u32, command_position.partition);
    let tp = TopicPartition::new(position.topic.clone(), command_position.partition);
    let stored = log.read(&tp, position.offset as u64, 1).await.unwrap_or_default();
    let record = &stored[0].record;
    assert_eq!(record.key.as_deref(), Some(order.as_bytes()));
    assert_eq!(header(record, metadata::EVENT_TYPE), Some("OrderCreated"));
    assert_eq!(header(record, metadata::AGGREGATE_TYPE), Some("Order"));
    assert_eq!(header(record, metadata::AGGREGATE_ID), Some(order.as_str()));
    assert_eq!(header(record, metadata::AGGREGATE_VERSION), Some("1"));
    assert_eq!(header(record, metadata::COMMAND_ID), Some("o-1"));
    assert_eq!(header(record, metadata::CAUSATION_ID), Some("o-1"));
    assert_eq!(header(record, metadata::CORRELATION_ID), Some("corr-o-1"));
    assert!(record.timestamp_ms > 0);
    let event = record.value.as_deref().map(codec::decode_event);
    let Some(Ok(Event::Order(OrderEvent::Created(created)))) = event else { panic!("{event:?}") };
    assert_eq!((created.total, created.lines[0].unit_price), (1440, 480));
    assert_eq!(created.lines[0].product_name, "Product 480");

    // Every reply goes to the waiting gateway's partition.
    let replies = read_topic(&log, &topics().replies()).await;
    assert_eq!(replies.len(), 3);
    assert!(replies.iter().all(|r| r.partition == replies[0].partition));
    processor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_commands_are_rejected_naming_the_field_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let log = open_log(dir.path()).await;
    let processor = start(&log, None);
    let category = new_id();
    accept(&log, &create_category(&category, "Tea"), "c-1").await;

    let cases = [
        (
            create_category(&new_id(), &"x".repeat(51)),
            RejectionCode::ValidationFailed,
            Some("name"),
        ),
        (create_product(&new_id(), &new_id(), 100), RejectionCode::NotFound, Some("categoryId")),
        (create_product(&new_id(), &category, -1), RejectionCode::ValidationFailed, Some("price")),
        (
            place_order(&new_id(), &[(&new_id(), 1)]),
            RejectionCode::NotFound,
            Some("lines[0].productId"),
        ),
        (
            Command::DeleteProduct(DeleteProduct { product_id: new_id() }),
            RejectionCode::NotFound,
            Some("id"),
        ),
    ];
    for (n, (command, code, field)) in cases.iter().enumerate() {
        let rejected = reject(&log, command, &format!("bad-{n}")).await;
        assert_eq!((rejected.code, rejected.field.as_deref()), (*code, *field), "{rejected:?}");
    }
    let written: usize = {
        let mut n = 0;
        for topic in topics().all_events() {
            n += read_topic(&log, &topic).await.len();
        }
        n
    };
    assert_eq!(written, 1, "only the category's creation was written");
    processor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_command_is_applied_once_and_answered_as_duplicate() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let log = open_log(dir.path()).await;
    let processor = start(&log, None);
    // A retried create carries the same key, so the gateway derives the same aggregate id.
    let command = create_category(&EntityId::derived_from("key-1").to_string(), "Tea");
    send(&log, &command, "key-1").await;
    send(&log, &command, "key-1").await;
    let replies = replies_to(&log, "key-1", 2).await;
    let [CommandReply::Accepted(first), CommandReply::Accepted(second)] = &replies[..] else {
        panic!("{replies:?}")
    };
    assert!(!first.duplicate && second.duplicate);
    assert_eq!((first.version, &first.positions), (second.version, &second.positions));
    assert_eq!(read_topic(&log, &topics().events(AggregateType::Category)).await.len(), 1);
    processor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_record_goes_to_the_deadletter_and_the_partition_keeps_flowing() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let log = open_log(dir.path()).await;
    let processor = start(&log, None);
    let category = new_id();
    let poison =
        send_raw(&log, &category, Some(b"\xc3\x01 not avro".to_vec()), "poison", "CreateCategory")
            .await;
    let good = send(&log, &create_category(&category, "Tea"), "good").await;
    assert_eq!(poison.partition, good.partition, "same key, same partition");

    let CommandReply::Rejected(rejected) = reply_to(&log, "poison").await else { panic!() };
    assert_eq!(rejected.code, RejectionCode::ValidationFailed);
    assert!(matches!(reply_to(&log, "good").await, CommandReply::Accepted(_)));
    let dead = read_topic(&log, &topics().deadletter()).await;
    assert_eq!(dead.len(), 1);
    assert!(dead[0].record.header("reason").is_some());
    assert_eq!(dead[0].record.value.as_deref(), Some(&b"\xc3\x01 not avro"[..]));
    processor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_without_reapplying() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let category = new_id();
    {
        let log = open_log(dir.path()).await;
        let processor = start(&log, Some(3));
        accept(&log, &create_category(&category, "Tea"), "c-1").await;
        let update = Command::UpdateCategory(UpdateCategory {
            category_id: category.clone(),
            name: Some("Green tea".into()),
            description: None,
        });
        accept(&log, &update, "c-2").await;
        processor.stop().await;
    }
    let log = open_log(dir.path()).await;
    let processor = start(&log, None);
    send(&log, &create_category(&category, "Tea"), "c-1").await;
    // The first reply to c-1 is from before the restart.
    let replies = replies_to(&log, "c-1", 2).await;
    let Some(CommandReply::Accepted(again)) = replies.last() else { panic!("{replies:?}") };
    assert!(again.duplicate);
    assert_eq!(again.version, 1);
    let deleted =
        accept(&log, &Command::DeleteCategory(DeleteCategory { category_id: category }), "c-3")
            .await;
    assert_eq!(deleted.version, 3);
    assert_eq!(read_topic(&log, &topics().events(AggregateType::Category)).await.len(), 3);
    processor.stop().await;
}

/// One fixed history of the shop, sent one command at a time, so offsets are deterministic.
async fn shop_history(log: &std::sync::Arc<dyn nagare_infra::EventLog>, part: u8) {
    let (tea, cups) = (id("cat-tea"), id("cat-cups"));
    let (sencha, matcha, yunomi) = (id("p-sencha"), id("p-matcha"), id("p-yunomi"));
    let commands: Vec<(Command, &str)> = if part == 0 {
        vec![
            (create_category(&tea, "Tea"), "h-1"),
            (create_category(&cups, "Cups"), "h-2"),
            (create_product(&sencha, &tea, 500), "h-3"),
            (create_product(&matcha, &tea, 900), "h-4"),
            (create_product(&yunomi, &cups, 1200), "h-5"),
            (Command::AddStock(AddStock { product_id: sencha.clone(), quantity: 5 }), "h-6"),
            (place_order(&id("o-1"), &[(&sencha, 2), (&yunomi, 1)]), "h-7"),
        ]
    } else {
        vec![
            (
                Command::ChangeProductPrice(ChangeProductPrice {
                    product_id: sencha.clone(),
                    price: 650,
                }),
                "h-8",
            ),
            (
                Command::UpdateProduct(UpdateProduct {
                    product_id: matcha.clone(),
                    category_id: Some(cups.clone()),
                    name: None,
                    description: Some("Ceremonial".into()),
                }),
                "h-9",
            ),
            (place_order(&id("o-2"), &[(&sencha, 1), (&matcha, 4)]), "h-10"),
            (
                Command::CancelOrder(CancelOrder {
                    order_id: id("o-1"),
                    reason: "changed my mind".into(),
                }),
                "h-11",
            ),
            (Command::DeleteProduct(DeleteProduct { product_id: yunomi.clone() }), "h-12"),
            (create_category(&tea, "Tea"), "h-1"),
            (Command::DeleteCategory(DeleteCategory { category_id: tea.clone() }), "h-13"),
        ]
    };
    for (command, command_id) in &commands {
        send(log, command, command_id).await;
        // Wait for the last reply to this id (h-1 is sent twice on purpose).
        let expected = if *command_id == "h-1" && part == 1 { 2 } else { 1 };
        replies_to(log, command_id, expected).await;
    }
}

/// Runs the history in a fresh directory, restarting between its two halves with the given
/// intervals; returns the state every partition rebuilds to, and how many snapshot records exist.
async fn rebuilt_after(
    intervals: [Option<u64>; 2],
) -> (Vec<Vec<(AggregateKey, AggregateEntry)>>, usize) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (part, interval) in intervals.into_iter().enumerate() {
        let log = open_log(dir.path()).await;
        let processor = start(&log, interval);
        shop_history(&log, part as u8).await;
        processor.stop().await;
    }
    let log = open_log(dir.path()).await;
    let mut states = Vec::new();
    for partition in 0..PARTITIONS {
        let state = rebuild_partition(log.as_ref(), &topics(), partition)
            .await
            .unwrap_or_else(|e| panic!("rebuild: {e}"));
        let aggregates = state.aggregates_sorted();
        states.push(aggregates.into_iter().map(|(k, e)| (k.clone(), e.clone())).collect());
    }
    (states, read_topic(&log, &topics().snapshots()).await.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_every_1_every_3_or_never_rebuild_the_same_state() {
    let (never, none_written) = rebuilt_after([None, None]).await;
    let (every_1, many) = rebuilt_after([Some(1), Some(1)]).await;
    let (every_3_then_never, some) = rebuilt_after([Some(3), None]).await;
    let (never_then_every_3, _) = rebuilt_after([None, Some(3)]).await;
    assert_eq!(none_written, 0);
    assert!(many > some && some > 0, "snapshots were written: {many} and {some}");
    assert_eq!(every_1, never);
    assert_eq!(every_3_then_never, never);
    assert_eq!(never_then_every_3, never);
    let cancelled = never.iter().flatten().filter(|(_, entry)| {
        matches!(&entry.state, AnyAggregate::Order(order) if order.status == OrderStatus::Cancelled)
    });
    assert_eq!(cancelled.count(), 1, "the history was applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_commands_are_each_answered_once() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let log = open_log(dir.path()).await;
    let processor = start(&log, Some(10));
    let category = new_id();
    accept(&log, &create_category(&category, "Tea"), "c-0").await;
    let mut senders = Vec::new();
    for client in 0..8 {
        let log = log.clone();
        let category = category.clone();
        senders.push(tokio::spawn(async move {
            for n in 0..25 {
                let product = create_product(&new_id(), &category, 100 + n);
                send(&log, &product, &format!("p-{client}-{n}")).await;
            }
        }));
    }
    for sender in senders {
        sender.await.unwrap_or_else(|e| panic!("{e}"));
    }
    for client in 0..8 {
        for n in 0..25 {
            let replies = replies_to(&log, &format!("p-{client}-{n}"), 1).await;
            assert!(matches!(&replies[..], [CommandReply::Accepted(a)] if a.version == 1));
        }
    }
    assert_eq!(read_topic(&log, &topics().events(AggregateType::Product)).await.len(), 200);
    // The category now has live products: deleting it conflicts.
    let delete = Command::DeleteCategory(DeleteCategory { category_id: category });
    assert_eq!(reject(&log, &delete, "c-del").await.code, RejectionCode::Conflict);
    processor.stop().await;
}
