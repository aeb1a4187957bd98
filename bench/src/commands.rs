//! `commands`: concurrent HTTP clients sending durable `addStock` mutations through `/graphql`
//! to a real server, each on a keep-alive connection of its own ([`crate::http_client`]).
//! Closed loop (each client sends its next command when the last one is answered) measures
//! throughput; with a rate, open loop measures latency from the time each command was due.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::Mutex;

use crate::graphql::create_catalog;
use crate::http_client::{GraphqlConnection, graphql_body};
use crate::load::{Load, drive};
use crate::measurement::Measurement;
use crate::process::ProcessUsage;
use crate::report::{Report, Target};
use crate::scenario::Scenario;
use crate::scratch::scratch_dir;
use crate::server::ServerProcess;

const TARGET_COMMANDS_PER_SECOND: f64 = 20_000.0;
const TARGET_P99_US: f64 = 10_000.0;
pub const MAX_CLIENTS: usize = 4096;
/// A command unanswered after this long counts as an error (and its latency as this long).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

const ADD_STOCK: &str =
    "mutation($id: ID!, $quantity: Int!) { addStock(id: $id, quantity: $quantity) { version } }";

/// Settings of the `commands` scenario.
#[derive(Debug, Clone)]
pub struct CommandsScenario {
    /// The `nagare` executable started as the server.
    pub server_exe: PathBuf,
    /// Where the server's fresh data directory is made.
    pub scratch_dir: PathBuf,
    /// The server's log; `None` is the embedded log in its data directory. On a shared log
    /// the server gets a fresh topic prefix.
    pub log_url: Option<String>,
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
        let scratch = scratch_dir(&self.scratch_dir)?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(self.clients)
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        let server =
            ServerProcess::start(&self.server_exe, scratch.path(), self.log_url.as_deref(), &http)
                .await?;
        let url = server.graphql_url();
        let products = create_catalog(&http, &url, self.clients).await?;

        // Each client adds stock to its own product, so its request never changes.
        let clients = (0..self.clients)
            .map(|client| {
                let product = &products[client % products.len()];
                let body = graphql_body(ADD_STOCK, &json!({ "id": product, "quantity": 1 }));
                let connection = GraphqlConnection::new(&url, REQUEST_TIMEOUT)?;
                Ok((body, Mutex::new(connection)))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let clients = Arc::new(clients);

        let usage_before = ProcessUsage::of_pid(server.pid())?;
        let load = Load { clients: self.clients, duration: self.duration, rate: self.rate };
        let outcome = drive("commands", load, move |client, _| {
            let clients = clients.clone();
            async move {
                let (body, connection) = &clients[client];
                // Only this client's task locks it.
                connection.lock().await.post(body.clone()).await
            }
        })
        .await?;
        let usage = ProcessUsage::of_pid(server.pid())?.since(usage_before);
        let backend = server.backend().to_owned();
        server.stop().await;

        let backend = match self.rate {
            Some(rate) => format!("{backend}@{rate:.0}/s"),
            None => backend,
        };
        let measurement = Measurement {
            scenario: "commands".into(),
            backend,
            operations: outcome.succeeded,
            errors: outcome.failed,
            elapsed: outcome.elapsed,
            latency: Some(outcome.latency),
            usage: Some(usage),
        };
        let targets = match self.rate {
            None => vec![Target::at_least(
                format!("commands/s ({} clients)", self.clients),
                TARGET_COMMANDS_PER_SECOND,
                measurement.ops_per_second(),
            )],
            Some(rate) => vec![Target::at_most(
                format!("p99 µs at {rate:.0} commands/s (the target is set at 10,000/s)"),
                TARGET_P99_US,
                measurement.latency.as_ref().map_or(0, |l| l.quantile_us(0.99)) as f64,
            )],
        };
        let report = Report {
            measurements: vec![measurement],
            extras: vec![("clients".into(), self.clients as f64)],
            targets,
        };
        #[cfg(feature = "kafka")]
        let report =
            crate::kafka_baseline::with_round_trips(self.log_url.as_deref(), report).await?;
        Ok(report)
    }
}
