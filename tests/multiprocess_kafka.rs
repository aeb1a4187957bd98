//! The deployment of issue 3 under load and a crash: two `--roles commands` processes and two
//! `--roles gateway,projections` processes (each with its own embedded store) on one Kafka log.
//! Eight clients send commands to both gateways; one command processor is killed with
//! `kill -9` in the middle. Afterwards every command is answered (those that failed are retried
//! with the same `commandId`), every effect is applied exactly once, and both gateways' read
//! models show the same, right stock.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::cluster::{Gateway, Node, SharedLog};
use common::shop::{add_stock_query, create_category_query, create_product_query};
use nagare_testkit::Broker;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

/// Partitions of the commands and events topics: two processors take two each.
const PARTITIONS: u32 = 4;
/// Products the clients add stock to.
const PRODUCTS: usize = 6;
const CLIENTS: usize = 8;
/// Every this many requests a client creates a product instead of adding stock.
const CREATE_EVERY: usize = 8;
/// Stock of a product created under load.
const CREATED_STOCK: i64 = 3;
/// Load before the kill, and after it.
const LOAD_BEFORE_KILL: Duration = Duration::from_secs(4);
const LOAD_AFTER_KILL: Duration = Duration::from_secs(6);
/// Bounds on the waits: generous, since a failure only comes later; nothing asserts speed.
const ANSWER_DEADLINE: Duration = Duration::from_secs(150);
const CATCH_UP_DEADLINE: Duration = Duration::from_secs(90);
const ASSIGNMENT_DEADLINE: Duration = Duration::from_secs(90);
/// Acknowledged commands sent again to check they are recognised.
const RESENT: usize = 12;
/// How long a client under load waits for an answer before it gives up and counts the command
/// as unanswered: shorter than the takeover of a killed processor's partitions (its session
/// timeout, then a rebalance), so some commands are left to the retries.
const CLIENT_PATIENCE: Duration = Duration::from_secs(3);

/// What a command does, so its expected effect can be summed.
#[derive(Clone, Debug)]
enum Op {
    AddStock { product: String, quantity: i64 },
    CreateProduct { category: String, name: String },
}

/// One command and its fate.
#[derive(Clone, Debug)]
struct Sent {
    command_id: String,
    op: Op,
    /// The receipt, once answered.
    receipt: Option<Value>,
    /// Why the first attempt got no receipt.
    failure: Option<String>,
    retries: usize,
}

/// How an attempt ended.
enum Answer {
    Receipt(Value),
    /// No answer, or one that says to try again (`TIMEOUT`, `UNAVAILABLE`).
    Retry(String),
    /// A rejection: the command is wrong, and retrying cannot help.
    Rejected(Value),
}

async fn send(gateway: &Gateway, command_id: &str, op: &Op) -> Answer {
    let (query, variables, field) = match op {
        Op::AddStock { product, quantity } => (
            add_stock_query(),
            json!({ "id": product, "quantity": quantity, "commandId": command_id }),
            "addStock",
        ),
        Op::CreateProduct { category, name } => (
            create_product_query(),
            json!({ "input": {
                "categoryId": category, "name": name, "price": 500,
                "initialStock": CREATED_STOCK, "commandId": command_id,
            } }),
            "createProduct",
        ),
    };
    let response = match gateway.graphql(&query, variables).await {
        Ok(response) => response,
        Err(error) => return Answer::Retry(error),
    };
    let receipt = &response["data"][field];
    if receipt.is_object() {
        return Answer::Receipt(receipt.clone());
    }
    let code = response["errors"][0]["extensions"]["code"].as_str().unwrap_or("");
    match code {
        "TIMEOUT" | "UNAVAILABLE" => Answer::Retry(format!("{}: {code}", gateway.name)),
        _ => Answer::Rejected(response),
    }
}

/// Sends until a receipt comes, alternating gateways; counts the extra attempts.
async fn send_until_answered(
    gateways: &[Gateway],
    command_id: &str,
    op: &Op,
    deadline: Instant,
) -> (Value, usize) {
    let mut attempts = 0;
    loop {
        let gateway = &gateways[attempts % gateways.len()];
        match send(gateway, command_id, op).await {
            Answer::Receipt(receipt) => return (receipt, attempts),
            Answer::Rejected(response) => {
                panic!("{command_id} ({op:?}) was rejected: {response:#}")
            }
            Answer::Retry(reason) if Instant::now() > deadline => {
                panic!("{command_id} ({op:?}) still unanswered after {attempts} retries: {reason}")
            }
            Answer::Retry(_) => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// One client: alternates gateways, mostly adds stock, now and then creates a product.
async fn client(
    index: usize,
    gateways: Vec<Gateway>,
    products: Vec<String>,
    category: String,
    stop: Arc<AtomicBool>,
) -> Vec<Sent> {
    let mut sent = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let op = if n % CREATE_EVERY == 0 {
            Op::CreateProduct { category: category.clone(), name: format!("Load {index}-{n}") }
        } else {
            let product = products[(index + n) % products.len()].clone();
            Op::AddStock { product, quantity: 1 + ((index * 7 + n) % 5) as i64 }
        };
        let command_id = format!("load-{index}-{n}-{}", uuid::Uuid::new_v4().simple());
        let gateway = &gateways[(index + n) % gateways.len()];
        let (receipt, failure) = match send(gateway, &command_id, &op).await {
            Answer::Receipt(receipt) => (Some(receipt), None),
            Answer::Retry(reason) => (None, Some(reason)),
            Answer::Rejected(response) => panic!("{command_id} ({op:?}) rejected: {response:#}"),
        };
        sent.push(Sent { command_id, op, receipt, failure, retries: 0 });
    }
    sent
}

/// Waits until the two processors own disjoint, non-empty sets of all the command partitions.
async fn wait_for_split(first: &Node, second: &Node) -> (Vec<u32>, Vec<u32>) {
    let deadline = Instant::now() + ASSIGNMENT_DEADLINE;
    loop {
        if let (Some(a), Some(b)) =
            (first.owned_command_partitions(), second.owned_command_partitions())
        {
            let union: BTreeSet<u32> = a.iter().chain(&b).copied().collect();
            let overlap = a.iter().any(|p| b.contains(p));
            if !a.is_empty() && !b.is_empty() && !overlap && union.len() == PARTITIONS as usize {
                return (a, b);
            }
        }
        assert!(
            Instant::now() < deadline,
            "the processors never split the command partitions; {}:\n{}\n{}:\n{}",
            first.name,
            first.stderr(),
            second.name,
            second.stderr()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads a product's stock on a gateway until it equals `expected`; a stock above it means an
/// effect was applied twice and fails at once.
async fn wait_for_stock(gateway: &Gateway, product: &str, expected: i64) {
    let deadline = Instant::now() + CATCH_UP_DEADLINE;
    let query = "query($id: ID!) { product(id: $id) { stock } }";
    loop {
        let response = gateway.graphql(query, json!({ "id": product })).await;
        let stock = response.as_ref().ok().and_then(|r| r["data"]["product"]["stock"].as_i64());
        if let Some(stock) = stock {
            assert!(
                stock <= expected,
                "{}: product {product} has stock {stock} > {expected}: applied twice",
                gateway.name
            );
            if stock == expected {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{}: product {product} never reached stock {expected}; last answer {response:?}",
            gateway.name
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_survive_a_killed_processor_and_apply_exactly_once_on_every_replica() {
    let broker = Broker::shared();
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let log = SharedLog {
        url: broker.url(),
        topic_prefix: format!("mp{}.", &unique[..12]),
        partitions: PARTITIONS,
    };
    // The first processor declares the topics; the others start together once they exist.
    let mut processor_1 = Node::start("processor-1", "commands", &log).await;
    let (processor_2, gateway_1, gateway_2) = tokio::join!(
        Node::start("processor-2", "commands", &log),
        Node::start("gateway-1", "gateway,projections", &log),
        Node::start("gateway-2", "gateway,projections", &log),
    );
    let readiness = gateway_1.readiness().await;
    assert_eq!(readiness["roles"], json!(["gateway", "projections"]), "{readiness:#}");
    assert_eq!(readiness["logCapabilities"]["atomicAppend"], json!(false), "{readiness:#}");
    assert_eq!(readiness["storeCapabilities"]["shared"], json!(false), "{readiness:#}");
    let gateways = vec![gateway_1.client(), gateway_2.client()];

    // The catalog, through gateway 1, waiting for its own read models.
    let deadline = Instant::now() + ANSWER_DEADLINE;
    let first_only = &gateways[..1];
    let category_response = loop {
        let input = json!({ "input": { "name": "Tea", "commandId": format!("setup-category-{unique}") }, "consistency": "STRONG" });
        match first_only[0].graphql(&create_category_query(), input).await {
            Ok(r) if r["data"]["createCategory"].is_object() => break r,
            other if Instant::now() > deadline => panic!("no category: {other:?}"),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let category = category_response["data"]["createCategory"]["aggregateId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut products = Vec::new();
    for n in 0..PRODUCTS {
        let op = Op::CreateProduct { category: category.clone(), name: format!("Setup {n}") };
        let (receipt, _) =
            send_until_answered(first_only, &format!("setup-product-{n}-{unique}"), &op, deadline)
                .await;
        products.push(receipt["aggregateId"].as_str().unwrap_or_default().to_owned());
    }
    let (owned_1, owned_2) = wait_for_split(&processor_1, &processor_2).await;
    println!("command partitions: processor-1 {owned_1:?}, processor-2 {owned_2:?}");

    // Load, with a processor killed in the middle.
    let stop = Arc::new(AtomicBool::new(false));
    let impatient: Vec<Gateway> =
        gateways.iter().map(|g| g.with_timeout(CLIENT_PATIENCE)).collect();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|index| {
            tokio::spawn(client(
                index,
                impatient.clone(),
                products.clone(),
                category.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(LOAD_BEFORE_KILL).await;
    processor_1.kill().await;
    let killed_at = Instant::now();
    tokio::time::sleep(LOAD_AFTER_KILL).await;
    stop.store(true, Ordering::SeqCst);
    let mut sent: Vec<Sent> = Vec::new();
    for client in clients {
        sent.extend(client.await.expect("a client task panicked"));
    }
    let acknowledged = sent.iter().filter(|s| s.receipt.is_some()).count();
    let failed = sent.len() - acknowledged;

    // Every command without a receipt is retried with its commandId until answered.
    let permits = Arc::new(Semaphore::new(CLIENTS));
    let deadline = Instant::now() + ANSWER_DEADLINE;
    let retrying: Vec<_> = sent
        .iter()
        .enumerate()
        .filter(|(_, s)| s.receipt.is_none())
        .map(|(index, s)| {
            let (gateways, permits, s) = (gateways.clone(), permits.clone(), s.clone());
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                let (receipt, retries) =
                    send_until_answered(&gateways, &s.command_id, &s.op, deadline).await;
                (index, receipt, retries + 1)
            })
        })
        .collect();
    for retry in retrying {
        let (index, receipt, retries) = retry.await.expect("a retry task panicked");
        sent[index].receipt = Some(receipt);
        sent[index].retries = retries;
    }
    let recovered_after = killed_at.elapsed();
    let retries: usize = sent.iter().map(|s| s.retries).sum();
    let retried_as_duplicates = sent
        .iter()
        .filter(|s| {
            s.retries > 0 && s.receipt.as_ref().is_some_and(|r| r["duplicate"] == json!(true))
        })
        .count();

    // What every product's stock must be: each command applied exactly once.
    let mut expected: BTreeMap<String, i64> =
        products.iter().map(|p| (p.clone(), CREATED_STOCK)).collect();
    for s in &sent {
        let receipt = s.receipt.as_ref().expect("every command is answered by now");
        match &s.op {
            Op::AddStock { product, quantity } => {
                *expected.entry(product.clone()).or_default() += quantity
            }
            Op::CreateProduct { .. } => {
                let id = receipt["aggregateId"].as_str().unwrap_or_default().to_owned();
                assert!(!id.is_empty(), "{receipt}");
                expected.insert(id, CREATED_STOCK);
            }
        }
    }
    for gateway in &gateways {
        for (product, stock) in &expected {
            wait_for_stock(gateway, product, *stock).await;
        }
    }

    // Acknowledged commands sent again are recognised, and change nothing.
    let again: Vec<&Sent> = sent.iter().filter(|s| s.retries == 0).take(RESENT).collect();
    for (n, s) in again.iter().enumerate() {
        let (receipt, _) = send_until_answered(
            &gateways[n % 2..n % 2 + 1],
            &s.command_id,
            &s.op,
            Instant::now() + ANSWER_DEADLINE,
        )
        .await;
        assert_eq!(receipt["duplicate"], json!(true), "{} sent again: {receipt}", s.command_id);
        let first = s.receipt.as_ref().map(|r| (&r["aggregateId"], &r["version"], &r["positions"]));
        assert_eq!(
            Some((&receipt["aggregateId"], &receipt["version"], &receipt["positions"])),
            first
        );
    }
    for gateway in &gateways {
        for (product, stock) in &expected {
            wait_for_stock(gateway, product, *stock).await;
        }
    }
    let survivor = processor_2.owned_command_partitions().unwrap_or_default();
    let first_failures: Vec<&str> =
        sent.iter().filter_map(|s| s.failure.as_deref()).take(3).collect();

    println!(
        "commands sent: {}; acknowledged: {acknowledged}; errors or no answer: {failed}; \
         retries: {retries} (answered as duplicates: {retried_as_duplicates}); \
         seconds from the kill until every command was answered: {:.1}; \
         products checked on both gateways: {}; resent as duplicates: {}; \
         processor-2 owns {survivor:?}; first failures: {first_failures:?}",
        sent.len(),
        recovered_after.as_secs_f64(),
        expected.len(),
        again.len(),
    );
    assert!(acknowledged > 0, "no command was acknowledged under load");
    drop((gateway_1, gateway_2, processor_2));
}
