//! Everything survives a restart, whatever the snapshot interval: the read models show the same
//! state, and the command processor rebuilds the same aggregates (versions continue, rules hold).
//! On each backend; on Kafka the restarted server finds its topics on the same broker and its
//! read models in the same store directory.

mod common;

use std::time::Duration;

use common::shop::{self, PRODUCT_FIELDS};
use common::{Backend, DataDir, Server, first_error, on_each_backend};
use serde_json::{Value, json};

/// The ids the scenario created.
#[derive(Debug, Default)]
struct Created {
    customer: String,
    products: Vec<String>,
    deleted_product: String,
    orders: Vec<String>,
}

/// Everything the queries show about the scenario's data.
async fn state(server: &Server, created: &Created) -> Value {
    let mut products = Vec::new();
    for id in created.products.iter().chain([&created.deleted_product]) {
        products.push(shop::product(server, id).await);
    }
    let mut orders = Vec::new();
    for id in &created.orders {
        orders.push(shop::order(server, id).await);
    }
    json!({
        "catalog": shop::catalog(server).await,
        "products": products,
        "orders": orders,
        "ordersOfCustomer": shop::orders_of(server, &created.customer).await,
    })
}

async fn change_price(server: &Server, id: &str, price: i64) -> Value {
    let variables = json!({ "id": id, "price": price, "consistency": "STRONG" });
    server.data(&shop::change_price_query(), variables).await["changeProductPrice"].clone()
}

/// Categories, products with a history of stock and price changes, a deleted product, orders.
async fn build(server: &Server) -> Created {
    let tea = shop::create_category(server, "Tea").await;
    let ware = shop::create_category(server, "Teaware").await;
    let sencha = shop::create_product(server, &tea, "Sencha", 1200, 10).await;
    let hojicha = shop::create_product(server, &tea, "Hōjicha", 900, 5).await;
    let kyusu = shop::create_product(server, &ware, "Kyūsu", 4800, 2).await;
    let gone = shop::create_product(server, &ware, "Chipped cup", 100, 1).await;
    for quantity in 1..=5 {
        shop::add_stock(server, &sencha, quantity).await;
    }
    for price in [1300, 1250, 1280] {
        change_price(server, &sencha, price).await;
    }
    let variables = json!({ "id": gone, "consistency": "STRONG" });
    server.data(&shop::delete_product_query(), variables).await;
    let customer = shop::customer_id();
    let first = shop::place_order(server, &customer, &[(&sencha, 2), (&kyusu, 1)]).await;
    // A price change after an order does not alter the order's unit price.
    change_price(server, &sencha, 1400).await;
    let second = shop::place_order(server, &customer, &[(&hojicha, 3)]).await;
    Created {
        customer,
        products: vec![sencha, hojicha, kyusu],
        deleted_product: gone,
        orders: vec![first, second],
    }
}

/// Commands after a restart continue from the rebuilt aggregates.
async fn check_aggregates_were_rebuilt(server: &Server, created: &Created) {
    let sencha = &created.products[0];
    let before = shop::product(server, sencha).await;
    let receipt = shop::add_stock(server, sencha, 1).await;
    assert_eq!(receipt["duplicate"], false, "{receipt:#}");
    let expected_version = before["version"].as_i64().map(|v| v + 1);
    assert_eq!(receipt["version"].as_i64(), expected_version, "{receipt:#} after {before:#}");
    let after = shop::product(server, sencha).await;
    assert_eq!(after["stock"].as_i64(), before["stock"].as_i64().map(|s| s + 1), "{after:#}");

    // The processor still knows the product was deleted.
    let variables = json!({ "id": created.deleted_product, "quantity": 1 });
    let response = server.graphql(&shop::add_stock_query(), variables).await;
    let error = first_error(&response).unwrap_or_else(|| panic!("accepted: {response:#}"));
    assert!(["CONFLICT", "NOT_FOUND"].contains(&error.code.as_str()), "{response:#}");
}

on_each_backend!(state_survives_restarts_with_every_snapshot_interval);

async fn state_survives_restarts_with_every_snapshot_interval(backend: Backend) {
    let dir = DataDir::on(backend);
    let server = Server::start(&dir, &["--snapshot-every", "1"]).await;
    let created = build(&server).await;
    let mut expected = state(&server, &created).await;
    let order = &expected["orders"][0];
    assert_eq!(order["lines"][0]["unitPrice"], 1280, "{order:#}");
    assert_eq!(order["total"], 2 * 1280 + 4800, "{order:#}");
    let status = server.terminate(Duration::from_secs(30)).await;
    assert!(status.success(), "{status}");

    for interval in ["3", "never", "1", "100"] {
        let server = Server::start(&dir, &["--snapshot-every", interval]).await;
        let found = state(&server, &created).await;
        assert_eq!(found, expected, "state after a restart with --snapshot-every {interval}");
        check_aggregates_were_rebuilt(&server, &created).await;
        expected = state(&server, &created).await;
        let status = server.terminate(Duration::from_secs(30)).await;
        assert!(status.success(), "{status} with --snapshot-every {interval}");
    }
}

on_each_backend!(a_killed_server_restarts_with_the_same_state);

async fn a_killed_server_restarts_with_the_same_state(backend: Backend) {
    let dir = DataDir::on(backend);
    let server = Server::start(&dir, &["--snapshot-every", "never"]).await;
    let created = build(&server).await;
    let expected = state(&server, &created).await;
    server.kill().await;
    let server = Server::start(&dir, &["--snapshot-every", "2"]).await;
    assert_eq!(state(&server, &created).await, expected);
    check_aggregates_were_rebuilt(&server, &created).await;
    let query = format!("query($id: ID!) {{ product(id: $id) {{ {PRODUCT_FIELDS} }} }}");
    let sencha = server.data(&query, json!({ "id": created.products[0] })).await;
    assert_eq!(sencha["product"]["price"], 1400, "{sencha:#}");
}
