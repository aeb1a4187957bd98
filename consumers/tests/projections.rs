//! The projections against the real embedded log and store: events in, read models out.

mod support;

use nagare_consumers::{Error, OrderStatus, PageRequest, ProjectionConfig, ReadModels};
use nagare_schemas::events::{AggregateType, CategoryDeleted, CategoryEvent, Event};
use support::Harness;
use support::events::*;

fn page(first: usize, after: Option<String>) -> PageRequest {
    PageRequest { first, after }
}

/// Every item of a listing, read `first` at a time; checks the cursors chain correctly.
async fn read_all<T, F, Fut>(first: usize, mut fetch: F) -> Vec<T>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = nagare_consumers::Result<nagare_consumers::Page<T>>>,
{
    let mut items = Vec::new();
    let mut after = None;
    for _ in 0..10_000 {
        let page = fetch(page(first, after.clone())).await.expect("page");
        assert!(page.items.len() <= first);
        let has_next = page.has_next_page;
        if has_next {
            assert_eq!(page.items.len(), first, "a page before the last is full");
        }
        after = page.items.last().map(|(cursor, _)| cursor.clone()).or(after);
        items.extend(page.items.into_iter().map(|(_, item)| item));
        if !has_next {
            return items;
        }
    }
    panic!("paging does not end");
}

async fn category_names_and_counts(read: &ReadModels) -> Vec<(String, i64)> {
    read_all(100, |p| read.categories(p))
        .await
        .into_iter()
        .map(|c| (c.name, c.product_count))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn categories_list_with_counts_and_products_page_by_category() {
    let mut h = Harness::new().await;
    h.start("test.", 64);
    let (tea, coffee) = (new_id(), new_id());
    h.emit(vec![category_created(&tea, "Tea"), category_created(&coffee, "Coffee")]).await;
    let teas: Vec<String> = (0..5).map(|_| new_id()).collect();
    let mut events: Vec<Event> = teas
        .iter()
        .enumerate()
        .map(|(i, id)| product_created(id, &tea, &format!("tea {i}"), 100 + i as i64))
        .collect();
    events.push(product_created(&new_id(), &coffee, "Kona", 900));
    h.emit(events).await;
    h.settle().await;

    let categories = category_names_and_counts(&h.read).await;
    assert_eq!(categories, [("Tea".to_owned(), 5), ("Coffee".to_owned(), 1)]);
    let tea_view = h.read.category(&tea).await.unwrap().expect("tea");
    assert_eq!(tea_view.description.as_deref(), Some("all about Tea"));
    assert_eq!(tea_view.version, 1);

    let first = h.read.products(Some(&tea), page(2, None)).await.unwrap();
    assert_eq!(first.items.len(), 2);
    assert!(first.has_next_page);
    let listed: Vec<String> =
        read_all(2, |p| h.read.products(Some(&tea), p)).await.into_iter().map(|p| p.id).collect();
    assert_eq!(listed, teas, "oldest first, each once");
    assert_eq!(read_all(4, |p| h.read.products(None, p)).await.len(), 6);

    let by_id = h.read.products_by_id(&[teas[1].clone(), "nope".into(), new_id()]).await.unwrap();
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[&teas[1]].name, "tea 1");
    let cats = h.read.categories_by_id(&[tea.to_uppercase(), coffee.clone()]).await.unwrap();
    assert_eq!(cats[&tea.to_uppercase()].product_count, 5);
    assert_eq!(cats[&coffee].name, "Coffee");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_and_deleting_products_keeps_listings_and_counts_right() {
    let mut h = Harness::new().await;
    h.start("test.", 3);
    let (tea, coffee) = (new_id(), new_id());
    let (a, b) = (new_id(), new_id());
    h.emit(vec![
        category_created(&tea, "Tea"),
        category_created(&coffee, "Coffee"),
        product_created(&a, &tea, "Sencha", 100),
        product_created(&b, &tea, "Hojicha", 200),
        product_moved(&a, &tea, &coffee, "Sencha blend"),
    ])
    .await;
    h.settle().await;
    assert_eq!(
        category_names_and_counts(&h.read).await,
        [("Tea".to_owned(), 1), ("Coffee".to_owned(), 1)]
    );
    let in_coffee = h.read.products(Some(&coffee), page(10, None)).await.unwrap();
    assert_eq!(in_coffee.items.len(), 1);
    assert_eq!(in_coffee.items[0].1.name, "Sencha blend");
    assert_eq!(in_coffee.items[0].1.category_id, coffee);

    h.emit(vec![product_deleted(&b, &tea)]).await;
    h.settle().await;
    let deleted = h.read.product(&b).await.unwrap().expect("deleted products stay readable");
    assert!(deleted.deleted);
    assert_eq!(deleted.version, 2);
    assert!(h.read.products(Some(&tea), page(10, None)).await.unwrap().items.is_empty());
    assert_eq!(h.read.products(None, page(10, None)).await.unwrap().items.len(), 1);
    assert_eq!(h.read.category(&tea).await.unwrap().unwrap().product_count, 0);

    h.emit(vec![Event::Category(CategoryEvent::Deleted(CategoryDeleted {
        category_id: tea.clone(),
    }))])
    .await;
    h.settle().await;
    assert_eq!(h.read.category(&tea).await.unwrap(), None);
    assert_eq!(category_names_and_counts(&h.read).await, [("Coffee".to_owned(), 1)]);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_applying_different_partitions_keep_a_shared_categorys_count_exact() {
    // Products of one category are spread over every partition, and each partition is applied
    // by its own member of the projection's group, concurrently and in small batches: every
    // member changes the category's count, none may overwrite another's change.
    let mut h = Harness::new().await;
    h.start("test.", 2);
    let (tea, coffee) = (new_id(), new_id());
    let products: Vec<String> = (0..120).map(|_| new_id()).collect();
    let mut events = vec![category_created(&tea, "Tea"), category_created(&coffee, "Coffee")];
    for (n, product) in products.iter().enumerate() {
        events.push(product_created(product, &tea, &format!("Tea {n}"), 100));
    }
    for (n, product) in products.iter().enumerate().filter(|(n, _)| n.is_multiple_of(3)) {
        events.push(product_moved(product, &tea, &coffee, &format!("Coffee {n}")));
    }
    let deleted = |n: &usize| n % 5 == 1;
    for (_, product) in products.iter().enumerate().filter(|(n, _)| deleted(n)) {
        events.push(product_deleted(product, &tea));
    }
    h.emit(events).await;
    h.settle().await;
    let in_coffee = |n: &usize| n.is_multiple_of(3);
    let count = |keep: &dyn Fn(&usize) -> bool| (0..120).filter(|n| keep(n)).count() as i64;
    let tea_count = count(&|n| !in_coffee(n) && !deleted(n));
    let coffee_count = count(&|n| in_coffee(n) && !deleted(n));
    assert_eq!((tea_count, coffee_count), (64, 32));
    assert_eq!(
        category_names_and_counts(&h.read).await,
        [("Tea".to_owned(), tea_count), ("Coffee".to_owned(), coffee_count)]
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_list_newest_first_by_customer_and_status() {
    let mut h = Harness::new().await;
    h.start("test.", 16);
    let (alice, bob) = (new_id(), new_id());
    let orders: Vec<String> = (0..6).map(|_| new_id()).collect();
    for (i, id) in orders.iter().enumerate() {
        let customer = if i % 2 == 0 { &alice } else { &bob };
        h.emit(vec![order_created(id, customer, i as i32 + 1)]).await;
    }
    h.emit(vec![order_cancelled(&orders[2], "out of budget"), order_paid(&orders[4])]).await;
    h.settle().await;

    let ids = |views: Vec<nagare_consumers::OrderView>| -> Vec<String> {
        views.into_iter().map(|o| o.id).collect()
    };
    let alices = ids(read_all(2, |p| h.read.orders(Some(&alice), None, p)).await);
    assert_eq!(alices, [orders[4].clone(), orders[2].clone(), orders[0].clone()]);
    let all = ids(read_all(4, |p| h.read.orders(None, None, p)).await);
    assert_eq!(all, orders.iter().rev().cloned().collect::<Vec<_>>());
    let cancelled = read_all(10, |p| h.read.orders(None, Some(OrderStatus::Cancelled), p)).await;
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0].cancellation_reason.as_deref(), Some("out of budget"));
    let alice_pending =
        ids(read_all(1, |p| h.read.orders(Some(&alice), Some(OrderStatus::Pending), p)).await);
    assert_eq!(alice_pending, [orders[0].clone()]);
    let pending = ids(read_all(3, |p| h.read.orders(None, Some(OrderStatus::Pending), p)).await);
    assert_eq!(pending, [&orders[5], &orders[3], &orders[1], &orders[0]].map(|s| s.clone()));
    let paid = h.read.order(&orders[4]).await.unwrap().unwrap();
    assert_eq!((paid.status, paid.total, paid.lines[0].quantity), (OrderStatus::Paid, 2500, 5));
    assert_eq!(paid.customer_id, alice);
    let alice_upper = alice.to_uppercase();
    assert_eq!(
        h.read.orders(Some(&alice_upper), None, page(10, None)).await.unwrap().items.len(),
        3
    );

    let bad = h.read.orders(None, None, page(1, Some("not a cursor".into()))).await;
    assert!(matches!(bad, Err(Error::BadCursor(_))));
    let bad = h.read.products(Some("malformed"), page(1, Some("zz".into()))).await;
    assert!(matches!(bad, Err(Error::BadCursor(_))));
    h.stop().await;
}

/// Everything the read models hold, through their queries.
async fn everything(read: &ReadModels) -> String {
    let categories = read_all(3, |p| read.categories(p)).await;
    let products = read_all(3, |p| read.products(None, p)).await;
    let orders = read_all(3, |p| read.orders(None, None, p)).await;
    let mut by_id = Vec::new();
    for product in &products {
        by_id.push(format!("{:?}", read.product(&product.id).await.unwrap()));
    }
    format!("{categories:?}\n{products:?}\n{orders:?}\n{by_id:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_from_the_start_changes_nothing_and_a_rebuild_gives_the_same_rows() {
    let mut h = Harness::new().await;
    let (tea, coffee) = (new_id(), new_id());
    let (a, b, order) = (new_id(), new_id(), new_id());
    h.emit(vec![
        category_created(&tea, "Tea"),
        category_created(&coffee, "Coffee"),
        product_created(&a, &tea, "Sencha", 100),
        product_created(&b, &tea, "Hojicha", 200),
        product_moved(&a, &tea, &coffee, "Sencha blend"),
        product_deleted(&b, &tea),
        order_created(&order, &new_id(), 2),
        order_cancelled(&order, "changed my mind"),
    ])
    .await;
    h.start("test.", 2);
    h.settle().await;
    h.stop().await;
    let original = everything(&h.read).await;
    assert!(original.contains("Sencha blend") && original.contains("changed my mind"));

    for _ in 0..2 {
        h.reset_checkpoints().await;
        h.start("test.", 5);
        h.settle().await;
        h.stop().await;
        assert_eq!(everything(&h.read).await, original, "replay over existing rows");
    }

    for table in nagare_consumers::read_models::TABLES {
        h.store.truncate(table).await.unwrap();
    }
    h.reset_checkpoints().await;
    h.start("rebuild.", 1);
    h.settle().await;
    h.stop().await;
    assert_eq!(everything(&h.read).await, original, "rebuild into empty tables");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_batches_written_while_the_next_applies_and_a_tiny_row_cache_give_the_same_rows() {
    let mut h = Harness::new().await;
    let categories: Vec<String> = (0..3).map(|_| new_id()).collect();
    let products: Vec<String> = (0..24).map(|_| new_id()).collect();
    let mut events: Vec<_> =
        categories.iter().map(|c| category_created(c, &format!("Category {c}"))).collect();
    for (n, product) in products.iter().enumerate() {
        events.push(product_created(product, &categories[n % 3], &format!("Product {n}"), 100));
    }
    // Every product moves around the categories several times, so most events read a row
    // that an earlier batch wrote (still being written, cached, or evicted from the cache).
    for round in 1..=6 {
        for (n, product) in products.iter().enumerate() {
            let (from, to) = (&categories[(n + round - 1) % 3], &categories[(n + round) % 3]);
            events.push(product_moved(product, from, to, &format!("Product {n} v{round}")));
        }
    }
    for n in 0..6 {
        events.push(product_deleted(&products[n], &categories[(n + 6) % 3]));
    }
    h.emit(events).await;

    // Batches of 5 (full, so each is written while the next is applied) through a cache of a
    // few rows, which evicts nearly every row before its product's next event.
    h.start_with("pipelined.", 5, 2_048, ProjectionConfig::DEFAULT_LOCAL_WORKERS);
    h.settle().await;
    h.stop().await;
    let pipelined = everything(&h.read).await;
    let counts = category_names_and_counts(&h.read).await;
    assert_eq!(counts.iter().map(|(_, count)| count).sum::<i64>(), 18, "{counts:?}");

    for table in nagare_consumers::read_models::TABLES {
        h.store.truncate(table).await.unwrap();
    }
    h.reset_checkpoints().await;
    h.start_with("whole.", 4096, 0, 1);
    h.settle().await;
    h.stop().await;
    assert_eq!(everything(&h.read).await, pipelined);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_and_undecodable_events_are_passed_over() {
    let mut h = Harness::new().await;
    h.start("test.", 8);
    let tea = new_id();
    let product = new_id();
    h.emit(vec![category_created(&tea, "Tea"), product_created(&product, &tea, "Sencha", 100)])
        .await;
    let topic = h.topics.events(AggregateType::Product);
    h.emit_garbage(topic, &product).await;
    // A re-delivered creation (same version) must not reset the count or the row.
    h.emit_with_version(product_created(&product, &tea, "Imposter", 1), 1).await;
    h.emit(vec![product_moved(&product, &tea, &tea, "Sencha premium")]).await;
    h.settle().await;

    let view = h.read.product(&product).await.unwrap().unwrap();
    assert_eq!((view.name.as_str(), view.version), ("Sencha premium", 2));
    assert_eq!(h.read.category(&tea).await.unwrap().unwrap().product_count, 1);
    let products = h.progress.snapshot().into_iter().find(|p| p.name == "products").unwrap();
    assert_eq!(products.skipped, 1);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_resolves_after_restart_and_times_out_on_unwritten_offsets() {
    let mut h = Harness::new().await;
    let tea = new_id();
    let positions = h.emit(vec![category_created(&tea, "Tea")]).await;
    h.start("test.", 8);
    h.progress.wait_for(&positions, support::WAIT).await.unwrap();
    assert!(h.read.category(&tea).await.unwrap().is_some(), "visible once waited for");

    let mut ahead = positions[0].clone();
    ahead.offset += 1;
    let result = h.progress.wait_for(&[ahead], std::time::Duration::from_millis(200)).await;
    assert!(matches!(result, Err(Error::Timeout(_))));
    h.stop().await;

    // A restart resumes from the checkpoints: progress starts there, nothing is re-applied.
    h.start("test.", 8);
    h.progress.wait_for(&positions, support::WAIT).await.unwrap();
    let snapshot = h.progress.snapshot();
    let categories = snapshot.iter().find(|p| p.name == "categories").unwrap();
    let tp = h.partition_of(&positions[0]);
    assert!(categories.next_offsets.contains(&(tp, positions[0].offset + 1)));
    h.stop().await;
}

/// The group offsets follow the checkpoints for operators' lag figures: committed within about
/// a second of the last batch while the member waits for more, and again when it stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_offsets_are_committed_while_idle_and_on_stop() {
    let mut h = Harness::new().await;
    let tea = new_id();
    let positions = h.emit(vec![category_created(&tea, "Tea")]).await;
    let tp = h.partition_of(&positions[0]);
    h.start("idle.", 8);
    h.progress.wait_for(&positions, support::WAIT).await.unwrap();
    let deadline = tokio::time::Instant::now() + support::WAIT;
    while h.log.committed("idle.categories", &tp).await.unwrap() != Some(positions[0].offset + 1) {
        assert!(tokio::time::Instant::now() < deadline, "offsets committed while idle");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let coffee = new_id();
    let more = h.emit(vec![category_created(&coffee, "Coffee")]).await;
    h.progress.wait_for(&more, support::WAIT).await.unwrap();
    h.stop().await;
    let moved = h.partition_of(&more[0]);
    assert_eq!(h.log.committed("idle.categories", &moved).await.unwrap(), Some(more[0].offset + 1));
}

mod paging {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

        /// Any listing, read with any page size, yields every item exactly once, in order,
        /// including the customer listing filtered by status.
        #[test]
        fn every_item_once_in_order(statuses in proptest::collection::vec(0..3_u8, 0..20), first in 1_usize..25) {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(check_paging(statuses, first));
        }
    }

    async fn check_paging(statuses: Vec<u8>, first: usize) {
        let mut h = Harness::new().await;
        h.start("test.", 7);
        let customer = new_id();
        let mut expected: Vec<(String, OrderStatus)> = Vec::new();
        for status in statuses {
            let id = new_id();
            let mut events = vec![order_created(&id, &customer, 1)];
            let status = match status {
                0 => OrderStatus::Pending,
                1 => {
                    events.push(order_cancelled(&id, "no"));
                    OrderStatus::Cancelled
                }
                _ => {
                    events.push(order_paid(&id));
                    OrderStatus::Paid
                }
            };
            h.emit(events).await;
            expected.insert(0, (id, status));
        }
        h.settle().await;
        let all: Vec<String> = read_all(first, |p| h.read.orders(Some(&customer), None, p))
            .await
            .into_iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(all, expected.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>());
        for status in [OrderStatus::Pending, OrderStatus::Cancelled, OrderStatus::Paid] {
            let want: Vec<String> =
                expected.iter().filter(|(_, s)| *s == status).map(|(id, _)| id.clone()).collect();
            let by_customer: Vec<String> =
                read_all(first, |p| h.read.orders(Some(&customer), Some(status), p))
                    .await
                    .into_iter()
                    .map(|o| o.id)
                    .collect();
            let by_status: Vec<String> = read_all(first, |p| h.read.orders(None, Some(status), p))
                .await
                .into_iter()
                .map(|o| o.id)
                .collect();
            assert_eq!(by_customer, want);
            assert_eq!(by_status, want);
        }
        h.stop().await;
    }
}
