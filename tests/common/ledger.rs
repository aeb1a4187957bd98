//! Concurrent writers that keep an exact record of what they sent, so a test can interrupt the
//! server at any moment and still check "every acknowledged mutation exactly once".
//!
//! Each writer owns one product and sends `addStock` with a fresh `commandId` each time; every
//! fifth mutation creates a product (with a `commandId`) instead. A mutation is *acknowledged*
//! when a receipt came back. After the interruption the test re-sends every mutation with its
//! original `commandId`: acknowledged ones must come back as duplicates with the same receipt,
//! the others are applied now unless they had been applied before. Then each product's stock
//! must equal the sum of all quantities, and each created product must exist exactly once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use super::shop;
use super::{Api, Server, command_id};

/// Bounds each writer, so a server that never fails cannot make a test loop forever.
const MAX_MUTATIONS_PER_WRITER: usize = 3_000;
/// Concurrent clients re-sending mutations after the interruption. Each mutation is still
/// answered on its own; order does not matter, as stock only adds up.
const RESENDERS: usize = 8;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    AddStock { product_id: String, quantity: i64 },
    CreateProduct { category_id: String, name: String },
}

/// One mutation as sent, and its receipt if one came back.
#[derive(Clone, Debug)]
pub(crate) struct Mutation {
    pub(crate) command_id: String,
    pub(crate) kind: Kind,
    pub(crate) receipt: Option<Value>,
}

impl Mutation {
    fn request(&self, consistency: &str) -> (String, Value) {
        match &self.kind {
            Kind::AddStock { product_id, quantity } => (
                shop::add_stock_query(),
                json!({ "id": product_id, "quantity": quantity,
                        "commandId": self.command_id, "consistency": consistency }),
            ),
            Kind::CreateProduct { category_id, name } => (
                shop::create_product_query(),
                json!({ "input": { "categoryId": category_id, "name": name, "price": 500,
                                   "initialStock": 0, "commandId": self.command_id },
                        "consistency": consistency }),
            ),
        }
    }
}

/// The receipt in a response, if the mutation was answered with one.
pub(crate) fn receipt_of(response: &Value) -> Option<Value> {
    let data = response.get("data")?.as_object()?;
    let receipt = data.values().next()?;
    receipt.get("aggregateId")?.as_str()?;
    Some(receipt.clone())
}

/// Shared state of the writers.
#[derive(Debug, Default)]
pub(crate) struct Writers {
    pub(crate) acknowledged: AtomicUsize,
    pub(crate) stop: AtomicBool,
}

/// Sends mutations until `writers.stop` is set, the server stops answering, or the bound.
pub(crate) async fn write_until_stopped(
    api: Api,
    writer: usize,
    product_id: String,
    category_id: String,
    writers: Arc<Writers>,
) -> Vec<Mutation> {
    let mut sent = Vec::new();
    for n in 0..MAX_MUTATIONS_PER_WRITER {
        if writers.stop.load(Ordering::Relaxed) {
            break;
        }
        let kind = if n % 5 == 4 {
            Kind::CreateProduct {
                category_id: category_id.clone(),
                name: format!("writer {writer} product {n}"),
            }
        } else {
            Kind::AddStock { product_id: product_id.clone(), quantity: 1 + (n % 7) as i64 }
        };
        let mut mutation = Mutation { command_id: command_id(), kind, receipt: None };
        let (query, variables) = mutation.request("EVENTUAL");
        let answered = api.try_graphql(&query, variables).await;
        let server_gone = answered.is_err();
        mutation.receipt = answered.ok().as_ref().and_then(receipt_of);
        if mutation.receipt.is_some() {
            writers.acknowledged.fetch_add(1, Ordering::Relaxed);
        }
        sent.push(mutation);
        if server_gone {
            break;
        }
    }
    sent
}

/// Re-sends every mutation with its original command id and checks the outcome (see the
/// module docs). Returns the expected stock per product and the names of created products.
pub(crate) async fn reconcile(
    server: &Server,
    sent: &[Mutation],
) -> (HashMap<String, i64>, Vec<String>) {
    let responses = resend_all(server, sent).await;
    let mut stock: HashMap<String, i64> = HashMap::new();
    let mut created = Vec::new();
    for (mutation, response) in sent.iter().zip(responses) {
        let response = response.unwrap_or_else(|error| {
            panic!("re-sending {mutation:?} got no answer: {error}; stderr:\n{}", server.stderr())
        });
        let Some(receipt) = receipt_of(&response) else {
            panic!("re-sending {mutation:?} was refused: {response:#}");
        };
        if let Some(original) = &mutation.receipt {
            assert_eq!(receipt["duplicate"], true, "acknowledged {mutation:?} applied twice");
            for field in ["commandId", "aggregateId", "version", "positions"] {
                assert_eq!(receipt[field], original[field], "{field} of {mutation:?} changed");
            }
        }
        match &mutation.kind {
            Kind::AddStock { product_id, quantity } => {
                *stock.entry(product_id.clone()).or_default() += quantity;
            }
            Kind::CreateProduct { name, .. } => created.push(name.clone()),
        }
    }
    (stock, created)
}

/// Sends every mutation again with `consistency: STRONG`, [`RESENDERS`] at a time; the answers
/// in the order of `sent`.
async fn resend_all(server: &Server, sent: &[Mutation]) -> Vec<Result<Value, String>> {
    let mut tasks = Vec::new();
    for resender in 0..RESENDERS {
        let api = server.api();
        let share: Vec<(usize, Mutation)> =
            sent.iter().cloned().enumerate().skip(resender).step_by(RESENDERS).collect();
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for (index, mutation) in share {
                let (query, variables) = mutation.request("STRONG");
                answers.push((index, api.try_graphql(&query, variables).await));
            }
            answers
        }));
    }
    let mut answers: Vec<Option<Result<Value, String>>> = vec![None; sent.len()];
    for task in tasks {
        for (index, answer) in task.await.expect("a re-sending task panicked") {
            answers[index] = Some(answer);
        }
    }
    answers.into_iter().map(|answer| answer.unwrap_or_else(|| Err("never sent".into()))).collect()
}

/// Checks that the read models show each product's stock and each created product once.
pub(crate) async fn check_exactly_once(
    server: &Server,
    category_id: &str,
    initial_stock: &HashMap<String, i64>,
    added: &HashMap<String, i64>,
    created: &[String],
) {
    for (product_id, initial) in initial_stock {
        let expected = initial + added.get(product_id).copied().unwrap_or(0);
        let product = shop::product(server, product_id).await;
        assert_eq!(product["stock"], expected, "stock of {product_id}: {product:#}");
    }
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut after: Option<String> = None;
    // Bounded paging: more pages than products could ever exist means a broken cursor.
    for _ in 0..1_000 {
        let query = "query($category: ID!, $after: String) {
            products(categoryId: $category, first: 100, after: $after) {
              edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }";
        let data = server.data(query, json!({ "category": category_id, "after": after })).await;
        let page = &data["products"];
        for edge in page["edges"].as_array().into_iter().flatten() {
            let name = edge["node"]["name"].as_str().unwrap_or_default().to_owned();
            *names.entry(name).or_default() += 1;
        }
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    for name in created {
        assert_eq!(names.get(name).copied().unwrap_or(0), 1, "`{name}` is not there exactly once");
    }
}

/// Waits until the writers have `count` acknowledgements between them, at most `limit`.
pub(crate) async fn wait_for_acknowledgements(writers: &Writers, count: usize, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while writers.acknowledged.load(Ordering::Relaxed) < count
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
