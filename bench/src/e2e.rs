//! `e2e`: read-your-write through a real server. Open-loop `addStock` mutations at a fixed rate
//! (1,000/s by default), each timed from when it was due until a query shows it:
//!
//! - `EVENTUAL`: the mutation answers once its events are durable; the client then queries the
//!   product (every millisecond) until its version reaches the receipt's, as a client that
//!   reads after writing does.
//! - `STRONG`: the mutation itself answers once the read models show it; no query is needed.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::commands::REQUEST_TIMEOUT;
use crate::graphql::{create_catalog, graphql};
use crate::load::{Load, drive};
use crate::measurement::Measurement;
use crate::process::ProcessUsage;
use crate::report::{Report, Target};
use crate::scenario::Scenario;
use crate::scratch::scratch_dir;
use crate::server::ServerProcess;

const TARGET_P99_US: f64 = 10_000.0;
pub const MAX_RATE: f64 = 100_000.0;
/// Clients sharing the schedule: enough that one slow answer does not hold later sends back.
const CLIENTS: usize = 32;
/// How long an `EVENTUAL` client waits before querying again; also the resolution of its
/// latency figures.
const POLL_INTERVAL: Duration = Duration::from_millis(1);

const ADD_STOCK: &str = "mutation($id: ID!, $consistency: Consistency!) {
    addStock(id: $id, quantity: 1, consistency: $consistency) { version } }";
const PRODUCT_VERSION: &str = "query($id: ID!) { product(id: $id) { version } }";

/// Settings of the `e2e` scenario.
#[derive(Debug, Clone)]
pub struct E2eScenario {
    pub server_exe: PathBuf,
    pub scratch_dir: PathBuf,
    /// The server's log; `None` is the embedded log in its data directory.
    pub log_url: Option<String>,
    /// Mutations per second, open loop.
    pub rate: f64,
    /// How long each of the two phases (EVENTUAL, STRONG) runs.
    pub duration: Duration,
}

impl Scenario for E2eScenario {
    fn name(&self) -> &'static str {
        "e2e"
    }

    async fn run(&self) -> anyhow::Result<Report> {
        if !(self.rate > 0.0 && self.rate <= MAX_RATE) {
            anyhow::bail!("--rate must be above 0 and at most {MAX_RATE}, not {}", self.rate);
        }
        if self.duration.is_zero() {
            anyhow::bail!("--duration must be longer than zero");
        }
        let scratch = scratch_dir(&self.scratch_dir)?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(CLIENTS * 2)
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        let server =
            ServerProcess::start(&self.server_exe, scratch.path(), self.log_url.as_deref(), &http)
                .await?;
        let idle_rss = ProcessUsage::resident_bytes(server.pid())?;
        let url = server.graphql_url();
        let products = create_catalog(&http, &url, CLIENTS).await?;

        let mut measurements = Vec::new();
        for consistency in ["EVENTUAL", "STRONG"] {
            let usage_before = ProcessUsage::of_pid(server.pid())?;
            let load = Load { clients: CLIENTS, duration: self.duration, rate: Some(self.rate) };
            let (http, url, products) = (http.clone(), url.clone(), products.clone());
            let label = format!("e2e {consistency}");
            let outcome = drive(&label, load, move |client, _| {
                let (http, url) = (http.clone(), url.clone());
                let product = products[client % products.len()].clone();
                async move { write_then_read(&http, &url, &product, consistency).await }
            })
            .await?;
            measurements.push(Measurement {
                scenario: "e2e".into(),
                backend: format!("{} {consistency}", server.backend()),
                operations: outcome.succeeded,
                errors: outcome.failed,
                elapsed: outcome.elapsed,
                latency: Some(outcome.latency),
                usage: Some(ProcessUsage::of_pid(server.pid())?.since(usage_before)),
            });
        }
        server.stop().await;

        let targets = measurements
            .iter()
            .map(|m| {
                Target::at_most(
                    format!("p99 µs write → visible, {} at {:.0}/s", m.backend, self.rate),
                    TARGET_P99_US,
                    m.latency.as_ref().map_or(0, |l| l.quantile_us(0.99)) as f64,
                )
            })
            .collect();
        let report = Report {
            measurements,
            extras: vec![
                ("rate".into(), self.rate),
                ("server_idle_rss_mib".into(), idle_rss as f64 / (1024.0 * 1024.0)),
            ],
            targets,
        };
        #[cfg(feature = "kafka")]
        let report =
            crate::kafka_baseline::with_round_trips(self.log_url.as_deref(), report).await?;
        Ok(report)
    }
}

/// One mutation, then (for `EVENTUAL`) queries until the product shows its version.
async fn write_then_read(
    http: &reqwest::Client,
    url: &str,
    product: &str,
    consistency: &str,
) -> anyhow::Result<()> {
    let variables = json!({ "id": product, "consistency": consistency });
    let receipt = graphql(http, url, ADD_STOCK, variables).await?;
    if consistency == "STRONG" {
        return Ok(());
    }
    let written = version(&receipt["addStock"])?;
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    loop {
        let read = graphql(http, url, PRODUCT_VERSION, json!({ "id": product })).await?;
        if version(&read["product"])? >= written {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("version {written} of {product} not visible after {REQUEST_TIMEOUT:?}");
        }
        // A pause between reads, as a polling client makes: back-to-back queries from every
        // client would take the cores the projections need on a small machine.
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

fn version(object: &Value) -> anyhow::Result<i64> {
    object["version"].as_i64().ok_or_else(|| anyhow::anyhow!("no version in {object}"))
}
