//! Outgrowing one machine: a shop run on the embedded log is stopped, exported, imported into
//! Kafka and started there with a fresh store — and every query answers exactly as before,
//! while new commands continue the same aggregates.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::shop;
use common::{Backend, DataDir, Server};
use serde_json::{Value, json};

/// What the shop's queries show: the catalog, every product and order by id, and a
/// customer's orders.
async fn every_query(
    server: &Server,
    products: &[String],
    orders: &[String],
    customer: &str,
) -> Value {
    let mut each_product = Vec::new();
    for id in products {
        each_product.push(shop::product(server, id).await);
    }
    let mut each_order = Vec::new();
    for id in orders {
        each_order.push(shop::order(server, id).await);
    }
    json!({
        "catalog": shop::catalog(server).await,
        "products": each_product,
        "orders": each_order,
        "customer": shop::orders_of(server, customer).await,
    })
}

fn nagare(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_nagare"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the nagare binary");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "nagare {args:?} failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shop_exported_from_embedded_and_imported_into_kafka_answers_every_query_the_same() {
    // The Kafka side decides the topic prefix, so tests sharing a broker never meet; the
    // embedded shop uses the same prefix, since an import keeps the topics' names.
    let on_kafka = DataDir::on(Backend::Kafka);
    let prefix = on_kafka.topic_prefix().to_owned();
    let on_disk = DataDir::new();

    let server = Server::start(&on_disk, &["--topic-prefix", &prefix]).await;
    let tea = shop::create_category(&server, "Tea").await;
    let cups = shop::create_category(&server, "Cups").await;
    let mut products = Vec::new();
    for i in 0..6 {
        let category = if i % 2 == 0 { &tea } else { &cups };
        products
            .push(shop::create_product(&server, category, &format!("Item {i}"), 100 + i, 10).await);
    }
    for (i, id) in products.iter().enumerate() {
        shop::add_stock(&server, id, i as i64 + 1).await;
    }
    let customer = shop::customer_id();
    let mut orders = Vec::new();
    for i in 0..4 {
        let lines = [(products[i].as_str(), 2), (products[i + 1].as_str(), 1)];
        orders.push(shop::place_order(&server, &customer, &lines).await);
    }
    let before = every_query(&server, &products, &orders, &customer).await;
    server.terminate(Duration::from_secs(30)).await;

    let file = on_disk.path().join("shop.nagare-log");
    let file = file.display().to_string();
    let exported =
        nagare(&["export", "--log", &on_disk.url(), "--topic-prefix", &prefix, "--output", &file]);
    assert!(exported.contains("exported"), "{exported}");
    let imported = nagare(&["import", "--log", &on_kafka.log_url(), "--input", &file]);
    assert!(imported.contains("imported"), "{imported}");

    // A fresh store: the read models are rebuilt from the imported events.
    let server = Server::start(&on_kafka, &[]).await;
    let patience = Duration::from_secs(60);
    let started = Instant::now();
    let mut after = every_query(&server, &products, &orders, &customer).await;
    while after != before && started.elapsed() < patience {
        tokio::time::sleep(Duration::from_millis(250)).await;
        after = every_query(&server, &products, &orders, &customer).await;
    }
    assert_eq!(after, before, "the queries on Kafka differ from those on the embedded log");

    // The command processor on Kafka continues the same aggregates where they were.
    let version_before = shop::product(&server, &products[0]).await["version"].as_i64();
    let receipt = shop::add_stock(&server, &products[0], 5).await;
    assert_eq!(receipt["version"].as_i64(), version_before.map(|v| v + 1), "{receipt:#}");
    assert_eq!(receipt["duplicate"], json!(false), "{receipt:#}");
    server.terminate(Duration::from_secs(30)).await;
}
