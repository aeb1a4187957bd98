//! A repeated `commandId` is applied once, also across a restart and when the copies race;
//! `consistency: STRONG` makes a write visible to the very next query. On each backend.

mod common;

use std::time::Duration;

use common::shop;
use common::{Backend, DataDir, Server, command_id, on_each_backend};
use serde_json::{Value, json};

fn same_receipt(first: &Value, again: &Value) {
    for field in ["commandId", "aggregateId", "version", "positions"] {
        assert_eq!(first[field], again[field], "{field}: {first:#} vs {again:#}");
    }
}

on_each_backend!(a_repeated_command_id_is_applied_once);

async fn a_repeated_command_id_is_applied_once(backend: Backend) {
    let dir = DataDir::on(backend);
    let server = Server::start(&dir, &[]).await;
    let category_key = command_id();
    let create = shop::create_category_query();
    let variables = json!({ "input": { "name": "Sweets", "commandId": category_key },
                            "consistency": "STRONG" });
    let first = server.data(&create, variables.clone()).await["createCategory"].clone();
    assert_eq!(first["duplicate"], false, "{first:#}");
    assert_eq!(first["commandId"], category_key.as_str(), "{first:#}");
    let again = server.data(&create, variables.clone()).await["createCategory"].clone();
    assert_eq!(again["duplicate"], true, "{again:#}");
    same_receipt(&first, &again);
    let categories = shop::catalog(&server).await["categories"]["edges"].clone();
    assert_eq!(categories.as_array().map(Vec::len), Some(1), "{categories:#}");

    let category_id = shop::aggregate_id(&first);
    let product_id = shop::create_product(&server, &category_id, "Dorayaki", 250, 0).await;
    let stock_key = command_id();
    let add = shop::add_stock_query();
    let stock_variables = json!({ "id": product_id, "quantity": 7, "commandId": stock_key,
                                  "consistency": "STRONG" });
    let added = server.data(&add, stock_variables.clone()).await["addStock"].clone();
    let added_again = server.data(&add, stock_variables.clone()).await["addStock"].clone();
    assert_eq!(added["duplicate"], false, "{added:#}");
    assert_eq!(added_again["duplicate"], true, "{added_again:#}");
    same_receipt(&added, &added_again);
    let product = shop::product(&server, &product_id).await;
    assert_eq!(product["stock"], 7, "{product:#}");
    assert_eq!(product["version"], added["version"], "{product:#}");

    // The record of applied commands survives a restart.
    let status = server.terminate(Duration::from_secs(30)).await;
    assert!(status.success(), "{status}");
    let server = Server::start(&dir, &["--snapshot-every", "never"]).await;
    let after_restart = server.data(&create, variables).await["createCategory"].clone();
    assert_eq!(after_restart["duplicate"], true, "{after_restart:#}");
    same_receipt(&first, &after_restart);
    let stock_after_restart = server.data(&add, stock_variables).await["addStock"].clone();
    assert_eq!(stock_after_restart["duplicate"], true, "{stock_after_restart:#}");
    assert_eq!(shop::product(&server, &product_id).await["stock"], 7);
}

on_each_backend!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    racing_copies_of_one_command_are_applied_once
);

async fn racing_copies_of_one_command_are_applied_once(backend: Backend) {
    let dir = DataDir::on(backend);
    let server = Server::start(&dir, &[]).await;
    let category_id = shop::create_category(&server, "Snacks").await;
    let product_id = shop::create_product(&server, &category_id, "Senbei", 180, 0).await;
    let key = command_id();
    let mut copies = Vec::new();
    for _ in 0..8 {
        let api = server.api();
        let variables = json!({ "id": product_id, "quantity": 5, "commandId": key,
                                "consistency": "STRONG" });
        copies.push(tokio::spawn(async move {
            api.try_graphql(&shop::add_stock_query(), variables).await
        }));
    }
    let mut receipts = Vec::new();
    for copy in copies {
        let response = copy.await.expect("task").expect("an answer");
        receipts.push(response["data"]["addStock"].clone());
    }
    let fresh = receipts.iter().filter(|r| r["duplicate"] == false).count();
    assert_eq!(fresh, 1, "{receipts:#?}");
    for receipt in &receipts[1..] {
        same_receipt(&receipts[0], receipt);
    }
    assert_eq!(shop::product(&server, &product_id).await["stock"], 5);
}

on_each_backend!(a_strong_mutation_is_visible_to_the_next_query);

async fn a_strong_mutation_is_visible_to_the_next_query(backend: Backend) {
    let dir = DataDir::on(backend);
    let server = Server::start(&dir, &[]).await;
    let category_id = shop::create_category(&server, "Noodles").await;
    for round in 0..20 {
        let name = format!("Soba {round}");
        let product_id = shop::create_product(&server, &category_id, &name, 700, round).await;
        let product = shop::product(&server, &product_id).await;
        assert_eq!(product["name"], name.as_str(), "round {round}: {product:#}");
        assert_eq!(product["stock"], round, "round {round}: {product:#}");
        let receipt = shop::add_stock(&server, &product_id, 2).await;
        let product = shop::product(&server, &product_id).await;
        assert_eq!(product["stock"], round + 2, "round {round}: {product:#}");
        assert_eq!(product["version"], receipt["version"], "round {round}: {product:#}");
        let category = server
            .data(
                "query($id: ID!) { category(id: $id) { productCount } }",
                json!({ "id": category_id }),
            )
            .await;
        assert_eq!(category["category"]["productCount"], round + 1, "round {round}");
    }
}
