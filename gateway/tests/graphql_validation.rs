//! Bad input is refused with VALIDATION_FAILED naming the field, and nothing is written.

mod support;

use serde_json::json;
use support::{Platform, only_error};

const CATEGORY_ID: &str = "0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b";

const CREATE_CATEGORY: &str = r#"mutation($input: CreateCategoryInput!) {
    createCategory(input: $input) { aggregateId }
}"#;

const CREATE_PRODUCT: &str = r#"mutation($input: CreateProductInput!) {
    createProduct(input: $input) { aggregateId }
}"#;

async fn assert_refused(
    platform: &Platform,
    query: &str,
    variables: serde_json::Value,
    field: &str,
) {
    let response = platform.run(query, variables.clone()).await;
    let (code, got_field, message) = only_error(&response);
    assert_eq!(code, "VALIDATION_FAILED", "{variables}: {response:#}");
    assert_eq!(got_field.as_deref(), Some(field), "{variables}: {response:#}");
    assert!(!message.is_empty());
}

fn product(name: &str, price: serde_json::Value) -> serde_json::Value {
    json!({ "input": { "categoryId": CATEGORY_ID, "name": name, "price": price } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_the_field_and_writes_nothing() {
    let platform = Platform::start().await;

    for name in ["", "   ", &"c".repeat(51)] {
        assert_refused(&platform, CREATE_CATEGORY, json!({ "input": { "name": name } }), "name")
            .await;
    }
    assert_refused(&platform, CREATE_PRODUCT, product(&"p".repeat(101), json!(100)), "name").await;
    assert_refused(&platform, CREATE_PRODUCT, product("Tea", json!(-1)), "price").await;
    assert_refused(&platform, CREATE_PRODUCT, product("Tea", json!(12.5)), "price").await;
    assert_refused(&platform, CREATE_PRODUCT, product("Tea", json!("100")), "price").await;
    assert_refused(
        &platform,
        CREATE_PRODUCT,
        product("Tea", json!(9_223_372_036_854_775_808_u64)),
        "price",
    )
    .await;
    assert_refused(
        &platform,
        CREATE_PRODUCT,
        json!({ "input": { "categoryId": "not-a-uuid", "name": "Tea", "price": 100 } }),
        "categoryId",
    )
    .await;
    assert_refused(
        &platform,
        "mutation($id: ID!) { deleteProduct(id: $id) { aggregateId } }",
        json!({ "id": "12345" }),
        "id",
    )
    .await;
    assert_refused(
        &platform,
        r#"mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { aggregateId } }"#,
        json!({ "input": { "customerId": CATEGORY_ID, "lines": [
            { "productId": CATEGORY_ID, "quantity": 1 },
            { "productId": CATEGORY_ID, "quantity": 0 }
        ] } }),
        "lines[1].quantity",
    )
    .await;
    assert_refused(
        &platform,
        r#"mutation { changeProductPrice(id: "0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b", price: 1.5) { version } }"#,
        json!({}),
        "price",
    )
    .await;
    assert_refused(
        &platform,
        "query($id: ID!) { product(id: $id) { name } }",
        json!({ "id": "nope" }),
        "id",
    )
    .await;

    assert_eq!(platform.commands_written().await, 0, "a refused mutation must write nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_integer_price_gets_a_clear_message() {
    let platform = Platform::start().await;
    let response = platform.run(CREATE_PRODUCT, product("Tea", json!(99.9))).await;
    let (_, _, message) = only_error(&response);
    assert!(message.contains("whole number of yen"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_pages_and_too_deep_queries_are_limit_exceeded() {
    let platform = Platform::start().await;

    let response = platform.run("{ categories(first: 101) { edges { cursor } } }", json!({})).await;
    let (code, field, message) = only_error(&response);
    assert_eq!(code, "LIMIT_EXCEEDED");
    assert_eq!(field.as_deref(), Some("first"));
    assert!(message.contains("at most 100"), "{message}");

    let response = platform.run("{ categories(first: -1) { edges { cursor } } }", json!({})).await;
    assert_eq!(only_error(&response).0, "VALIDATION_FAILED");

    let deep = r#"{ categories { edges { node { products { edges { node { category {
        products { edges { node { category { products { edges { node { name } } } } } } }
    } } } } } } } }"#;
    let response = platform.run(deep, json!({})).await;
    assert_eq!(only_error(&response).0, "LIMIT_EXCEEDED", "{response:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_document_is_a_validation_error() {
    let platform = Platform::start().await;
    let response = platform.run("{ categories { nope } }", json!({})).await;
    assert_eq!(only_error(&response).0, "VALIDATION_FAILED");
}
