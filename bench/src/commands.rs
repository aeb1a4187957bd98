//! `commands`: concurrent HTTP clients sending durable `addStock` mutations through `/graphql`
//! to a real server. Closed loop (each client sends its next command when the last one is
//! answered) measures throughput; with a rate, open loop measures latency from the time each
//! command was due.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::latency::LatencyRecorder;
use crate::measurement::Measurement;
use crate::process::ProcessUsage;
use crate::progress::Progress;
use crate::report::{Report, Target};
use crate::scenario::Scenario;
use crate::schedule::OpenLoopSchedule;
use crate::server::ServerProcess;

const TARGET_COMMANDS_PER_SECOND: f64 = 20_000.0;
const TARGET_P99_US: f64 = 10_000.0;
pub const MAX_CLIENTS: usize = 4096;
/// A command unanswered after this long counts as an error (and its latency as this long).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

const ADD_STOCK: &str =
    "mutation($id: ID!, $quantity: Int!) { addStock(id: $id, quantity: $quantity) { version } }";
const CREATE_CATEGORY: &str = "mutation($input: CreateCategoryInput!) {
    createCategory(input: $input, consistency: STRONG) { aggregateId } }";
const CREATE_PRODUCT: &str = "mutation($input: CreateProductInput!) {
    createProduct(input: $input, consistency: STRONG) { aggregateId } }";

/// Settings of the `commands` scenario.
#[derive(Debug, Clone)]
pub struct CommandsScenario {
    /// The `nagare` executable started as the server.
    pub server_exe: PathBuf,
    /// Where the server's fresh data directory is made.
    pub scratch_dir: PathBuf,
    pub clients: usize,
    pub duration: Duration,
    /// Commands per second in total for open-loop load; `None` runs closed loop.
    pub rate: Option<f64>,
}

impl Scenario for CommandsScenario {
    fn name(&self) -> &'static str {
        "commands"
    }

    async fn run(&self) -> anyhow::Result<Report> {
        if self.clients == 0 || self.clients > MAX_CLIENTS {
            anyhow::bail!("--clients must be between 1 and {MAX_CLIENTS}, not {}", self.clients);
        }
        if self.duration.is_zero() {
            anyhow::bail!("--duration must be longer than zero");
        }
        let scratch =
            tempfile::Builder::new().prefix("nagare-bench-").tempdir_in(&self.scratch_dir)?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(self.clients)
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        let server = ServerProcess::start(&self.server_exe, scratch.path(), &http).await?;
        let url = server.graphql_url();
        let products = create_catalog(&http, &url, self.clients).await?;

        let usage_before = ProcessUsage::of_pid(server.pid())?;
        let started = Instant::now();
        let (operations, errors, latency) = drive(self, &http, &url, &products).await?;
        let elapsed = started.elapsed();
        let usage = ProcessUsage::of_pid(server.pid())?.since(usage_before);
        server.stop().await;

        let backend = match self.rate {
            Some(rate) => format!("embedded@{rate:.0}/s"),
            None => "embedded".to_owned(),
        };
        let measurement = Measurement {
            scenario: "commands".into(),
            backend,
            operations,
            errors,
            elapsed,
            latency: Some(latency),
            usage: Some(usage),
        };
        let targets = match self.rate {
            None => vec![Target::at_least(
                format!("commands/s ({} clients)", self.clients),
                TARGET_COMMANDS_PER_SECOND,
                measurement.ops_per_second(),
            )],
            Some(rate) => vec![Target::at_most(
                format!("p99 µs at {rate:.0} commands/s (target rate 10,000)"),
                TARGET_P99_US,
                measurement.latency.as_ref().map_or(0, |l| l.quantile_us(0.99)) as f64,
            )],
        };
        Ok(Report {
            measurements: vec![measurement],
            extras: vec![("clients".into(), self.clients as f64)],
            targets,
        })
    }
}

/// A category and one product per client (so clients do not queue behind one aggregate).
async fn create_catalog(
    http: &reqwest::Client,
    url: &str,
    products: usize,
) -> anyhow::Result<Vec<String>> {
    let category = json!({ "input": { "name": "Benchmark", "description": "commands scenario" } });
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

/// Sends one GraphQL request; its `data`, or an error with the GraphQL errors.
async fn graphql(
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

/// Runs the clients until the duration is over: (answered, failed, latencies).
async fn drive(
    settings: &CommandsScenario,
    http: &reqwest::Client,
    url: &str,
    products: &[String],
) -> anyhow::Result<(u64, u64, LatencyRecorder)> {
    let progress = Progress::start("commands", None);
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + settings.duration;
    let schedule = settings.rate.map(|rate| OpenLoopSchedule::new(start, rate)).transpose()?;
    let mut clients = Vec::with_capacity(settings.clients);
    for client in 0..settings.clients {
        let (http, url, counter, errors) =
            (http.clone(), url.to_owned(), progress.counter(), errors.clone());
        let product = products[client % products.len().max(1)].clone();
        let stride = settings.clients as u64;
        clients.push(tokio::spawn(async move {
            let mut latency = LatencyRecorder::new();
            // Open loop: this client takes every `stride`-th send of the shared schedule.
            let mut next = client as u64;
            loop {
                let due = match schedule {
                    Some(schedule) => {
                        let due = schedule.due(next);
                        next += stride;
                        if due >= deadline {
                            break;
                        }
                        tokio::time::sleep_until(due).await;
                        due
                    }
                    None if Instant::now() >= deadline => break,
                    None => Instant::now(),
                };
                let variables = json!({ "id": product, "quantity": 1 });
                match graphql(&http, &url, ADD_STOCK, variables).await {
                    Ok(_) => {
                        latency.record(due.elapsed());
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        tracing::debug!(%error, "a command failed");
                        latency.record(due.elapsed());
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latency
        }));
    }
    let mut latency = LatencyRecorder::new();
    for client in clients {
        latency.merge(&client.await?);
    }
    let answered = progress.counter().load(Ordering::Relaxed);
    Ok((answered, errors.load(Ordering::Relaxed), latency))
}
