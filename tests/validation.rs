//! Bad input is refused with an error that names the field, and nothing reaches the log. On each
//! backend.

mod common;

use std::time::Duration;

use common::shop;
use common::{Backend, DataDir, Server, first_error, on_each_backend};
use nagare_infra::TopicPartition;
use serde_json::{Value, json};

/// What one bad request must be answered with.
struct Refusal {
    what: &'static str,
    query: String,
    variables: Value,
    /// Accepted error codes.
    codes: &'static [&'static str],
    /// A word the error's field (or, for NOT_FOUND, its message) must contain.
    field: &'static str,
}

fn product_input(category_id: &str, name: &str, price: Value) -> Value {
    json!({ "categoryId": category_id, "name": name, "price": price, "initialStock": 1 })
}

const VALIDATION: &[&str] = &["VALIDATION_FAILED"];
const MISSING: &[&str] = &["NOT_FOUND", "VALIDATION_FAILED"];

fn refusals(category_id: &str, product_id: &str) -> Vec<Refusal> {
    let create_product = shop::create_product_query();
    let create_category = shop::create_category_query();
    let add_stock = shop::add_stock_query();
    let place_order = shop::place_order_query();
    let unknown_id = uuid::Uuid::now_v7().to_string();
    vec![
        Refusal {
            what: "a 101-character product name",
            query: create_product.clone(),
            variables: json!({ "input": product_input(category_id, &"茶".repeat(101), json!(100)) }),
            codes: VALIDATION,
            field: "name",
        },
        Refusal {
            what: "an empty category name",
            query: create_category.clone(),
            variables: json!({ "input": { "name": "" } }),
            codes: VALIDATION,
            field: "name",
        },
        Refusal {
            what: "a blank category name",
            query: create_category.clone(),
            variables: json!({ "input": { "name": "   " } }),
            codes: VALIDATION,
            field: "name",
        },
        Refusal {
            what: "a 51-character category name",
            query: create_category,
            variables: json!({ "input": { "name": "a".repeat(51) } }),
            codes: VALIDATION,
            field: "name",
        },
        Refusal {
            what: "a negative price",
            query: create_product.clone(),
            variables: json!({ "input": product_input(category_id, "Kettle", json!(-1)) }),
            codes: VALIDATION,
            field: "price",
        },
        Refusal {
            what: "a non-integer price",
            query: create_product.clone(),
            variables: json!({ "input": product_input(category_id, "Kettle", json!(12.5)) }),
            codes: VALIDATION,
            field: "price",
        },
        Refusal {
            what: "a negative price change",
            query: shop::change_price_query(),
            variables: json!({ "id": product_id, "price": -5 }),
            codes: VALIDATION,
            field: "price",
        },
        Refusal {
            what: "an unknown category",
            query: create_product.clone(),
            variables: json!({ "input": product_input(&unknown_id, "Kettle", json!(100)) }),
            codes: MISSING,
            field: "category",
        },
        Refusal {
            what: "a malformed category id",
            query: create_product,
            variables: json!({ "input": product_input("not-an-id", "Kettle", json!(100)) }),
            codes: VALIDATION,
            field: "categoryid",
        },
        Refusal {
            what: "a malformed product id",
            query: add_stock.clone(),
            variables: json!({ "id": "42", "quantity": 1 }),
            codes: VALIDATION,
            field: "id",
        },
        Refusal {
            what: "a zero stock quantity",
            query: add_stock,
            variables: json!({ "id": product_id, "quantity": 0 }),
            codes: VALIDATION,
            field: "quantity",
        },
        Refusal {
            what: "a zero order quantity",
            query: place_order.clone(),
            variables: json!({ "input": {
                "customerId": shop::customer_id(),
                "lines": [{ "productId": product_id, "quantity": 0 }],
            } }),
            codes: VALIDATION,
            field: "quantity",
        },
        Refusal {
            what: "an order of an unknown product",
            query: place_order,
            variables: json!({ "input": {
                "customerId": shop::customer_id(),
                "lines": [{ "productId": unknown_id, "quantity": 1 }],
            } }),
            codes: MISSING,
            field: "product",
        },
    ]
}

fn receipt_events(receipt: &Value) -> u64 {
    receipt["positions"].as_array().map_or(0, |p| p.len() as u64)
}

on_each_backend!(bad_input_is_refused_naming_the_field_and_nothing_is_written);

async fn bad_input_is_refused_naming_the_field_and_nothing_is_written(backend: Backend) {
    let dir = DataDir::on(backend);
    let server = Server::start(&dir, &[]).await;

    // The valid writes, whose events are all the log may hold in the end.
    let category_query = shop::create_category_query();
    let category = server
        .data(
            &category_query,
            json!({ "input": { "name": "a".repeat(50) }, "consistency": "STRONG" }),
        )
        .await["createCategory"]
        .clone();
    let category_id = shop::aggregate_id(&category);
    let product = server
        .data(
            &shop::create_product_query(),
            json!({ "input": product_input(&category_id, &"茶".repeat(100), json!(0)),
                    "consistency": "STRONG" }),
        )
        .await["createProduct"]
        .clone();
    let product_id = shop::aggregate_id(&product);
    let valid_events = receipt_events(&category) + receipt_events(&product);
    let catalog_before = shop::catalog(&server).await;

    let refusals = refusals(&category_id, &product_id);
    let lenient = refusals.iter().filter(|r| r.codes == MISSING).count() as u64;
    for refusal in &refusals {
        let response = server.graphql(&refusal.query, refusal.variables.clone()).await;
        let Some(error) = first_error(&response) else {
            panic!("{} was accepted: {response:#}", refusal.what);
        };
        assert!(
            refusal.codes.contains(&error.code.as_str()),
            "{}: code {:?} is not one of {:?}: {response:#}",
            refusal.what,
            error.code,
            refusal.codes
        );
        let named = match (&error.field, error.code.as_str()) {
            (Some(field), _) => field.to_lowercase().contains(refusal.field),
            (None, "NOT_FOUND") => error.message.to_lowercase().contains(refusal.field),
            (None, _) => false,
        };
        assert!(
            named,
            "{}: the error does not name `{}`: {response:#}",
            refusal.what, refusal.field
        );
        assert!(!error.message.is_empty(), "{}: no message: {response:#}", refusal.what);
        let no_receipt =
            response["data"].as_object().is_none_or(|d| d.values().all(Value::is_null));
        assert!(no_receipt, "{}: a receipt came back: {response:#}", refusal.what);
    }

    // A malformed id in a query is refused the same way.
    let query = format!("{{ product(id: \"not-an-id\") {{ {} }} }}", shop::PRODUCT_FIELDS);
    let response = server.graphql(&query, json!({})).await;
    let error = first_error(&response).unwrap_or_else(|| panic!("accepted: {response:#}"));
    assert_eq!(error.code, "VALIDATION_FAILED", "{response:#}");

    // Nothing changed in the read models...
    let product_now = shop::product(&server, &product_id).await;
    assert_eq!(product_now["version"], product["version"], "{product_now:#}");
    assert_eq!(shop::catalog(&server).await, catalog_before);
    let status = server.terminate(Duration::from_secs(30)).await;
    assert!(status.success(), "{status}");

    // ...and nothing reached the events topics; commands only where the processor itself had to
    // look the referenced aggregate up.
    let log = nagare_infra::open_log(&dir.log_url()).await.expect("reopen the log");
    let topics = dir.topics();
    let mut events = 0;
    for topic in topics.all_events() {
        events += high_watermark_sum(&*log, &topic).await;
    }
    assert_eq!(events, valid_events, "events beyond those of the two valid commands were written");
    let commands = high_watermark_sum(&*log, &topics.commands()).await;
    assert!((2..=2 + lenient).contains(&commands), "{commands} commands were written");
}

async fn high_watermark_sum(log: &dyn nagare_infra::EventLog, topic: &str) -> u64 {
    let partitions = log.partition_count(topic).await.expect("partition count");
    let mut sum = 0;
    for partition in 0..partitions {
        let tp = TopicPartition::new(topic, partition);
        sum += log.watermarks(&tp).await.expect("watermarks").high;
    }
    sum
}
