//! The GraphQL client side of the scenarios that drive a server: one request, and the catalog
//! every such scenario starts from.

use serde_json::{Value, json};

const CREATE_CATEGORY: &str = "mutation($input: CreateCategoryInput!) {
    createCategory(input: $input, consistency: STRONG) { aggregateId } }";
const CREATE_PRODUCT: &str = "mutation($input: CreateProductInput!) {
    createProduct(input: $input, consistency: STRONG) { aggregateId } }";

/// Sends one GraphQL request; its `data`, or an error with the GraphQL errors.
pub(crate) async fn graphql(
    http: &reqwest::Client,
    url: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let response =
        http.post(url).json(&json!({ "query": query, "variables": variables })).send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() || body.get("errors").is_some_and(|e| !e.is_null()) {
        anyhow::bail!("GraphQL request answered {status}: {body}");
    }
    Ok(body["data"].clone())
}

/// A category and `products` products in it (one per client, so clients do not queue behind
/// one aggregate); their ids.
pub(crate) async fn create_catalog(
    http: &reqwest::Client,
    url: &str,
    products: usize,
) -> anyhow::Result<Vec<String>> {
    let category = json!({ "input": { "name": "Benchmark", "description": "generated" } });
    let category = graphql(http, url, CREATE_CATEGORY, category).await?;
    let category_id = aggregate_id(&category, "createCategory")?;
    let mut ids = Vec::with_capacity(products);
    for n in 0..products {
        let input = json!({ "input": {
            "categoryId": category_id, "name": format!("Product {n}"), "description": null,
            "price": 1000, "initialStock": 0 } });
        let product = graphql(http, url, CREATE_PRODUCT, input).await?;
        ids.push(aggregate_id(&product, "createProduct")?);
    }
    Ok(ids)
}

fn aggregate_id(data: &Value, field: &str) -> anyhow::Result<String> {
    data[field]["aggregateId"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("`{field}` answered without an aggregateId: {data}"))
}
