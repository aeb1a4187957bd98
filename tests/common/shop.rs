//! The shop's GraphQL operations as the tests use them.

use serde_json::{Value, json};

use super::Server;

/// What a mutation answers.
pub(crate) const RECEIPT: &str =
    "commandId aggregateId version duplicate positions { topic partition offset }";

pub(crate) fn create_category_query() -> String {
    format!(
        "mutation($input: CreateCategoryInput!, $consistency: Consistency! = EVENTUAL) {{
           createCategory(input: $input, consistency: $consistency) {{ {RECEIPT} }} }}"
    )
}

pub(crate) fn create_product_query() -> String {
    format!(
        "mutation($input: CreateProductInput!, $consistency: Consistency! = EVENTUAL) {{
           createProduct(input: $input, consistency: $consistency) {{ {RECEIPT} }} }}"
    )
}

pub(crate) fn add_stock_query() -> String {
    format!(
        "mutation($id: ID!, $quantity: Int!, $commandId: String, $consistency: Consistency! = EVENTUAL) {{
           addStock(id: $id, quantity: $quantity, commandId: $commandId, consistency: $consistency) {{ {RECEIPT} }} }}"
    )
}

pub(crate) fn change_price_query() -> String {
    format!(
        "mutation($id: ID!, $price: Yen!, $consistency: Consistency! = EVENTUAL) {{
           changeProductPrice(id: $id, price: $price, consistency: $consistency) {{ {RECEIPT} }} }}"
    )
}

pub(crate) fn delete_product_query() -> String {
    format!(
        "mutation($id: ID!, $consistency: Consistency! = EVENTUAL) {{
           deleteProduct(id: $id, consistency: $consistency) {{ {RECEIPT} }} }}"
    )
}

pub(crate) fn place_order_query() -> String {
    format!(
        "mutation($input: PlaceOrderInput!, $consistency: Consistency! = EVENTUAL) {{
           placeOrder(input: $input, consistency: $consistency) {{ {RECEIPT} }} }}"
    )
}

/// Everything a product query shows.
pub(crate) const PRODUCT_FIELDS: &str = "id name description price stock reserved deleted version
    category { id name } createdAt updatedAt";

/// Everything an order query shows.
pub(crate) const ORDER_FIELDS: &str =
    "id customerId status total cancellationReason createdAt updatedAt
    lines { productId productName quantity unitPrice subtotal }";

/// Creates a category, waiting until the read models show it; returns its id.
pub(crate) async fn create_category(server: &Server, name: &str) -> String {
    let input = json!({ "name": name, "description": format!("{name} and more") });
    let data = server
        .data(&create_category_query(), json!({ "input": input, "consistency": "STRONG" }))
        .await;
    aggregate_id(&data["createCategory"])
}

/// Creates a product, waiting until the read models show it; returns its id.
pub(crate) async fn create_product(
    server: &Server,
    category_id: &str,
    name: &str,
    price: i64,
    initial_stock: i64,
) -> String {
    let input = json!({
        "categoryId": category_id, "name": name, "description": null,
        "price": price, "initialStock": initial_stock,
    });
    let data = server
        .data(&create_product_query(), json!({ "input": input, "consistency": "STRONG" }))
        .await;
    aggregate_id(&data["createProduct"])
}

/// Adds stock and returns the receipt.
pub(crate) async fn add_stock(server: &Server, product_id: &str, quantity: i64) -> Value {
    let variables = json!({ "id": product_id, "quantity": quantity, "consistency": "STRONG" });
    server.data(&add_stock_query(), variables).await["addStock"].clone()
}

/// Places an order of `(product id, quantity)` lines; returns its id.
pub(crate) async fn place_order(
    server: &Server,
    customer_id: &str,
    lines: &[(&str, i64)],
) -> String {
    let lines: Vec<Value> =
        lines.iter().map(|(id, qty)| json!({ "productId": id, "quantity": qty })).collect();
    let input = json!({ "customerId": customer_id, "lines": lines });
    let data =
        server.data(&place_order_query(), json!({ "input": input, "consistency": "STRONG" })).await;
    aggregate_id(&data["placeOrder"])
}

pub(crate) async fn product(server: &Server, id: &str) -> Value {
    let query = format!("query($id: ID!) {{ product(id: $id) {{ {PRODUCT_FIELDS} }} }}");
    server.data(&query, json!({ "id": id })).await["product"].clone()
}

pub(crate) async fn order(server: &Server, id: &str) -> Value {
    let query = format!("query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}");
    server.data(&query, json!({ "id": id })).await["order"].clone()
}

/// Every category with its products, and every live product, as the queries show them.
pub(crate) async fn catalog(server: &Server) -> Value {
    let query = format!(
        "{{ categories(first: 100) {{ edges {{ cursor node {{ id name description productCount
              createdAt updatedAt }} }} pageInfo {{ hasNextPage }} }}
            products(first: 100) {{ edges {{ node {{ {PRODUCT_FIELDS} }} }} pageInfo {{ hasNextPage }} }} }}"
    );
    let mut catalog = server.data(&query, json!({})).await;
    // Each category's own product listing (by category), queried one category at a time to
    // keep every query well inside the gateway's complexity limit.
    let mut by_category = serde_json::Map::new();
    let ids: Vec<String> = catalog["categories"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|edge| edge["node"]["id"].as_str().map(str::to_owned))
        .collect();
    for id in ids {
        let query = "query($id: ID!) { category(id: $id) {
            products(first: 100) { edges { cursor node { id name } } pageInfo { hasNextPage } } } }";
        let listing = server.data(query, json!({ "id": id })).await;
        by_category.insert(id, listing["category"]["products"].clone());
    }
    catalog["productsByCategory"] = Value::Object(by_category);
    catalog
}

/// A customer's orders, as the query by customer shows them.
pub(crate) async fn orders_of(server: &Server, customer_id: &str) -> Value {
    let query = format!(
        "query($customer: ID!) {{ orders(customerId: $customer, first: 100) {{
             edges {{ node {{ {ORDER_FIELDS} }} }} pageInfo {{ hasNextPage }} }} }}"
    );
    server.data(&query, json!({ "customer": customer_id })).await["orders"].clone()
}

/// The aggregate id of a receipt.
pub(crate) fn aggregate_id(receipt: &Value) -> String {
    match receipt["aggregateId"].as_str() {
        Some(id) => id.to_owned(),
        None => panic!("no aggregateId in {receipt:#}"),
    }
}

/// A new customer id (customers are not aggregates; any UUID names one).
pub(crate) fn customer_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
