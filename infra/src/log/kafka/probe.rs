//! The capability probe at start-up: can the cluster be reached, and does it support
//! idempotent producers, transactions and compaction? Reported (logged and exposed through
//! `capabilities()`), never assumed.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::admin::{AdminOptions, ResourceSpecifier};
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer, ProducerContext};
use rdkafka::statistics::Statistics;
use tokio::sync::watch;

use super::blocking::run_blocking;
use super::broker_quirks;
use super::cluster::{Cluster, REQUEST_TIMEOUT};
use super::config::{self, client_config};
use super::url::KafkaUrl;
use crate::{Error, Result};

/// How long the idempotence and transaction probes wait for the broker.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the cluster supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Probed {
    pub(super) idempotence: bool,
    pub(super) transactions: bool,
    pub(super) compaction: bool,
}

/// Fails with "cannot reach Kafka at URL" unless the cluster answers a metadata request;
/// returns the broker ids.
pub(super) async fn reach(cluster: &Cluster, url: &KafkaUrl) -> Result<Vec<i32>> {
    match cluster.fetch(None).await {
        Ok((_, brokers)) if !brokers.is_empty() => Ok(brokers),
        Ok(_) => Err(Error::Storage(format!(
            "cannot reach Kafka at {}: the cluster reported no brokers",
            url.url
        ))),
        Err(error) => Err(Error::Storage(format!(
            "cannot reach Kafka at {} within {} s: {error}",
            url.url,
            REQUEST_TIMEOUT.as_secs()
        ))),
    }
}

/// Probes the three capabilities concurrently.
pub(super) async fn capabilities(cluster: &Cluster, url: &KafkaUrl, brokers: &[i32]) -> Probed {
    let (idempotence, transactions, compaction) =
        tokio::join!(idempotence(url), transactions(url), compaction(cluster, brokers));
    let probed = Probed { idempotence, transactions, compaction };
    tracing::info!(
        bootstrap_servers = %url.bootstrap_servers,
        idempotence,
        transactions,
        compaction,
        "probed Kafka capabilities"
    );
    probed
}

/// Sends librdkafka's statistics to the probe.
struct StatisticsContext {
    assigned: watch::Sender<bool>,
}

impl ClientContext for StatisticsContext {
    fn stats(&self, statistics: Statistics) {
        if broker_quirks::producer_id_assigned(&statistics) {
            self.assigned.send_replace(true);
        }
    }
}

impl ProducerContext for StatisticsContext {
    type DeliveryOpaque = ();

    /// The probe produces nothing.
    fn delivery(&self, _: &DeliveryResult<'_>, (): Self::DeliveryOpaque) {}
}

/// Whether an idempotent producer gets a producer id (InitProducerId) from the cluster.
async fn idempotence(url: &KafkaUrl) -> bool {
    let (assigned, mut watcher) = watch::channel(false);
    let config = client_config(url, config::idempotence_probe(url));
    let producer: BaseProducer<StatisticsContext> =
        match config.create_with_context(StatisticsContext { assigned }) {
            Ok(producer) => producer,
            Err(error) => {
                tracing::warn!(error = %error, "cannot create the idempotence probe");
                return false;
            }
        };
    let producer = Arc::new(producer);
    // Statistics are served by polling; a blocking thread polls until the answer or timeout.
    let poller = producer.clone();
    let polling = run_blocking(move || {
        let deadline = std::time::Instant::now() + PROBE_TIMEOUT;
        while std::time::Instant::now() < deadline && poller.client().fatal_error().is_none() {
            poller.poll(Duration::from_millis(100));
            if *poller.context().assigned.borrow() {
                break;
            }
        }
    });
    let _ = polling.await;
    let assigned = *watcher.borrow_and_update();
    if let Some((code, reason)) = producer.client().fatal_error() {
        tracing::info!(%code, reason, "the cluster refused an idempotent producer");
    }
    super::blocking::drop_off_runtime(producer);
    assigned
}

/// Whether the cluster lets a producer initialise transactions (KIP-98).
async fn transactions(url: &KafkaUrl) -> bool {
    let config = client_config(url, config::transactions_probe(url));
    let answer = run_blocking(move || {
        let producer: BaseProducer = config.create()?;
        producer.init_transactions(PROBE_TIMEOUT)
    })
    .await;
    match answer {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::info!(error = %error, "the cluster does not support transactions");
            false
        }
        Err(error) => {
            tracing::warn!(error = %error, "the transaction probe did not finish");
            false
        }
    }
}

/// Whether the brokers declare their log cleaner enabled (`log.cleaner.enable`, true by
/// default on Apache Kafka); anything else (including a broker that cannot describe its
/// configuration) reads as no compaction.
async fn compaction(cluster: &Cluster, brokers: &[i32]) -> bool {
    let Some(&broker) = brokers.first() else { return false };
    let options = AdminOptions::new().request_timeout(Some(REQUEST_TIMEOUT));
    let resource = ResourceSpecifier::Broker(broker);
    match cluster.admin.describe_configs([&resource], &options).await {
        Ok(results) => {
            results.into_iter().next().and_then(std::result::Result::ok).is_some_and(|config| {
                config.get("log.cleaner.enable").and_then(|entry| entry.value.as_deref())
                    == Some("true")
            })
        }
        Err(error) => {
            tracing::info!(broker, error = %error, "the broker did not describe its configuration");
            false
        }
    }
}
