//! Mutations through the real command processor and projections, read back with queries.

mod support;

use serde_json::{Value, json};
use support::{Platform, only_error};

const CREATE_CATEGORY: &str = r#"mutation($input: CreateCategoryInput!) {
    createCategory(input: $input, consistency: STRONG) {
        commandId aggregateId version duplicate positions { topic partition offset }
    }
}"#;

const CREATE_PRODUCT: &str = r#"mutation($input: CreateProductInput!) {
    createProduct(input: $input, consistency: STRONG) { aggregateId version }
}"#;

async fn create_category(platform: &Platform, name: &str) -> String {
    let data = platform.data(CREATE_CATEGORY, json!({ "input": { "name": name } })).await;
    text(&data["createCategory"]["aggregateId"])
}

async fn create_product(platform: &Platform, category_id: &str, name: &str, price: i64) -> String {
    let input = json!({ "input": {
        "categoryId": category_id, "name": name, "price": price, "initialStock": 10
    } });
    let data = platform.data(CREATE_PRODUCT, input).await;
    text(&data["createProduct"]["aggregateId"])
}

fn text(value: &Value) -> String {
    value.as_str().map(str::to_owned).unwrap_or_else(|| panic!("expected a string, got {value}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strong_create_is_visible_at_once_with_its_receipt() {
    let platform = Platform::start().await;
    let data = platform
        .data(CREATE_CATEGORY, json!({ "input": { "name": "  Tea ", "description": "Leaves" } }))
        .await;
    let receipt = &data["createCategory"];
    assert_eq!(receipt["version"], json!(1));
    assert_eq!(receipt["duplicate"], json!(false));
    assert_eq!(receipt["positions"].as_array().map(Vec::len), Some(1), "{receipt}");
    assert!(receipt["positions"][0]["offset"].is_u64(), "offsets are JSON integers");

    let id = text(&receipt["aggregateId"]);
    let data = platform
        .data(
            "query($id: ID!) { category(id: $id) { id name description productCount createdAt } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["category"]["name"], json!("Tea"));
    assert_eq!(data["category"]["description"], json!("Leaves"));
    assert_eq!(data["category"]["productCount"], json!(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_command_id_is_applied_once() {
    let platform = Platform::start().await;
    let input = json!({ "input": { "name": "Tea", "commandId": "client-key-1" } });
    let first = platform.data(CREATE_CATEGORY, input.clone()).await;
    let second = platform.data(CREATE_CATEGORY, input).await;
    assert_eq!(first["createCategory"]["aggregateId"], second["createCategory"]["aggregateId"]);
    assert_eq!(first["createCategory"]["commandId"], json!("client-key-1"));
    assert_eq!(second["createCategory"]["duplicate"], json!(true));
    assert_eq!(first["createCategory"]["positions"], second["createCategory"]["positions"]);

    let data = platform.data("{ categories { edges { node { name } } } }", json!({})).await;
    assert_eq!(data["categories"]["edges"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_orders_and_their_relations_resolve() {
    let platform = Platform::start().await;
    let tea = create_category(&platform, "Tea").await;
    let sencha = create_product(&platform, &tea, "Sencha", 1200).await;
    let matcha = create_product(&platform, &tea, "Matcha", 3000).await;

    let data = platform
        .data(
            r#"query($id: ID!) { category(id: $id) {
                productCount
                products(first: 10) { edges { node { name price category { name } } } }
            } }"#,
            json!({ "id": tea }),
        )
        .await;
    assert_eq!(data["category"]["productCount"], json!(2));
    let names: Vec<_> = data["category"]["products"]["edges"]
        .as_array()
        .map(|edges| edges.iter().map(|e| e["node"]["name"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(names, [json!("Sencha"), json!("Matcha")], "oldest first");
    assert_eq!(data["category"]["products"]["edges"][0]["node"]["price"], json!(1200));
    assert_eq!(data["category"]["products"]["edges"][1]["node"]["category"]["name"], json!("Tea"));

    let customer = "0192f0c1-7a5e-7d2c-9b1e-00000000c001";
    let placed = platform
        .data(
            r#"mutation($input: PlaceOrderInput!) {
                placeOrder(input: $input, consistency: STRONG) { aggregateId }
            }"#,
            json!({ "input": { "customerId": customer, "lines": [
                { "productId": sencha, "quantity": 2 },
                { "productId": matcha, "quantity": 1 }
            ] } }),
        )
        .await;
    let order_id = text(&placed["placeOrder"]["aggregateId"]);

    // A later price change does not alter the order.
    platform
        .data(
            r#"mutation($id: ID!) { changeProductPrice(id: $id, price: 1500, consistency: STRONG) { version } }"#,
            json!({ "id": sencha }),
        )
        .await;
    let data = platform
        .data(
            r#"query($id: ID!, $customer: ID!) {
                order(id: $id) { status total lines { productName quantity unitPrice subtotal product { price } } }
                orders(customerId: $customer) { edges { node { id } } }
            }"#,
            json!({ "id": order_id, "customer": customer }),
        )
        .await;
    let order = &data["order"];
    assert_eq!(order["status"], json!("PENDING"));
    assert_eq!(order["total"], json!(2 * 1200 + 3000));
    assert_eq!(order["lines"][0]["unitPrice"], json!(1200));
    assert_eq!(order["lines"][0]["subtotal"], json!(2400));
    assert_eq!(order["lines"][0]["product"]["price"], json!(1500));
    assert_eq!(data["orders"]["edges"][0]["node"]["id"], json!(order_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processor_rejections_keep_their_code_and_field() {
    let platform = Platform::start().await;

    let unknown_category = "0192f0c1-7a5e-7d2c-9b1e-00000000dead";
    let response = platform
        .run(
            CREATE_PRODUCT,
            json!({ "input": { "categoryId": unknown_category, "name": "Tea", "price": 1 } }),
        )
        .await;
    let (code, field, _) = only_error(&response);
    assert_eq!(code, "NOT_FOUND", "{response:#}");
    assert_eq!(field.as_deref(), Some("categoryId"));

    let tea = create_category(&platform, "Tea").await;
    create_product(&platform, &tea, "Sencha", 1200).await;
    let response = platform
        .run("mutation($id: ID!) { deleteCategory(id: $id) { version } }", json!({ "id": tea }))
        .await;
    let (code, _, message) = only_error(&response);
    assert_eq!(code, "CONFLICT", "{response:#}");
    assert!(message.contains("product"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn categories_page_with_cursors() {
    let platform = Platform::start().await;
    for name in ["A", "B", "C"] {
        create_category(&platform, name).await;
    }
    let page = r#"query($after: String) { categories(first: 2, after: $after) {
        edges { cursor node { name } }
        pageInfo { hasNextPage hasPreviousPage endCursor }
    } }"#;

    let first = platform.data(page, json!({})).await;
    let names = |data: &Value| -> Vec<Value> {
        data["categories"]["edges"]
            .as_array()
            .map(|edges| edges.iter().map(|e| e["node"]["name"].clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(names(&first), [json!("A"), json!("B")]);
    assert_eq!(first["categories"]["pageInfo"]["hasNextPage"], json!(true));
    let cursor = first["categories"]["pageInfo"]["endCursor"].clone();

    let second = platform.data(page, json!({ "after": cursor })).await;
    assert_eq!(names(&second), [json!("C")]);
    assert_eq!(second["categories"]["pageInfo"]["hasNextPage"], json!(false));
    assert_eq!(second["categories"]["pageInfo"]["hasPreviousPage"], json!(true));

    let response = platform.run(page, json!({ "after": "not a cursor" })).await;
    let (code, field, _) = only_error(&response);
    assert_eq!((code.as_str(), field.as_deref()), ("VALIDATION_FAILED", Some("after")));
}
