//! `/health/live` and `/health/ready`.
//!
//! Live means the process answers. Ready means it can do its job: the log and the store answer
//! within a short time, and the reply listener is reading (without it every mutation would
//! time out).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use nagare_infra::{EventLog, ReadStore};
use nagare_schemas::topics::Topics;
use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{IntoResponse, Response, handler};
use serde::Serialize;

use crate::CommandBus;

/// How long a dependency may take to answer a readiness probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// The projection name under which the store is probed; nothing is ever recorded under it.
const STORE_PROBE: &str = "nagare.gateway.readiness-probe";

#[derive(Clone, Debug)]
pub(crate) struct Readiness {
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) store: Arc<dyn ReadStore>,
    pub(crate) bus: CommandBus,
    pub(crate) topics: Topics,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct DependencyState {
    pub(crate) ready: bool,
    pub(crate) detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReadinessReport {
    /// `ready` or `not_ready`.
    pub(crate) status: &'static str,
    pub(crate) log: DependencyState,
    pub(crate) store: DependencyState,
    pub(crate) reply_listener: DependencyState,
}

impl ReadinessReport {
    pub(crate) fn is_ready(&self) -> bool {
        self.log.ready && self.store.ready && self.reply_listener.ready
    }
}

impl Readiness {
    pub(crate) async fn check(&self) -> ReadinessReport {
        let commands = self.topics.commands();
        let (log, store) = tokio::join!(
            probe(self.log.partition_count(&commands), |partitions| {
                format!(
                    "{} reachable ({commands}: {partitions} partitions)",
                    self.log.capabilities().description
                )
            }),
            probe(self.store.checkpoints(STORE_PROBE), |_| {
                format!("{} reachable", self.store.capabilities().description)
            }),
        );
        let reply_listener = if self.bus.is_listening() {
            DependencyState {
                ready: true,
                detail: format!("reading {}", self.bus.replies_partition()),
            }
        } else {
            DependencyState {
                ready: false,
                detail: format!("not reading {}", self.bus.replies_partition()),
            }
        };
        let mut report = ReadinessReport { status: "not_ready", log, store, reply_listener };
        if report.is_ready() {
            report.status = "ready";
        }
        report
    }
}

async fn probe<T>(
    call: impl Future<Output = nagare_infra::Result<T>>,
    describe: impl FnOnce(T) -> String,
) -> DependencyState {
    match tokio::time::timeout(PROBE_TIMEOUT, call).await {
        Ok(Ok(value)) => DependencyState { ready: true, detail: describe(value) },
        Ok(Err(error)) => DependencyState { ready: false, detail: error.to_string() },
        Err(_) => {
            DependencyState { ready: false, detail: format!("no answer within {PROBE_TIMEOUT:?}") }
        }
    }
}

#[handler]
pub(crate) fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "live" }))
}

#[handler]
pub(crate) async fn ready(Data(readiness): Data<&Readiness>) -> Response {
    let report = readiness.check().await;
    let status = if report.is_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    Json(report).with_status(status).into_response()
}
