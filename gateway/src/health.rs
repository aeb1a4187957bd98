//! `/health/live` and `/health/ready`.
//!
//! Live means the process answers. Ready means it can do its job: the log and the store answer
//! within a short time, and the reply listener is reading (without it every mutation would
//! time out). The report also says what the backends promise (their capabilities, probed at
//! start-up) and which roles this process runs, so an operator sees how a deployment is laid
//! out from any gateway. A process without the gateway (a command processor on its own) serves
//! the same two endpoints on `--health-listen`, without a store or a reply listener to check.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use nagare_infra::{EventLog, LogCapabilities, ReadStore, StoreCapabilities};
use nagare_schemas::topics::Topics;
use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{IntoResponse, Response, handler};
use serde::Serialize;

use crate::CommandBus;
use crate::config::RoleCheck;

/// How long a dependency may take to answer a readiness probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// The projection name under which the store is probed; nothing is ever recorded under it.
const STORE_PROBE: &str = "nagare.gateway.readiness-probe";

#[derive(Clone, Debug)]
pub(crate) struct Readiness {
    pub(crate) log: Arc<dyn EventLog>,
    /// Absent in a process whose roles do not use the read store (a command processor).
    pub(crate) store: Option<Arc<dyn ReadStore>>,
    /// Absent in a process that sends no commands (no gateway).
    pub(crate) bus: Option<CommandBus>,
    pub(crate) topics: Topics,
    /// The roles of this process, reported as they are.
    pub(crate) roles: Vec<String>,
    /// The other roles of this process that must be ready for it to be.
    pub(crate) role_checks: Vec<RoleCheck>,
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
    /// The roles this process runs.
    pub(crate) roles: Vec<String>,
    /// The readiness of this process's other roles (the command processor, once it has joined
    /// its group and rebuilt its partitions).
    pub(crate) local_roles: Vec<RoleState>,
    pub(crate) log_capabilities: LogCapabilityReport,
    /// `null` where this process uses no read store.
    pub(crate) store_capabilities: Option<StoreCapabilityReport>,
}

/// One role of this process, as its check reported it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct RoleState {
    pub(crate) name: String,
    pub(crate) ready: bool,
    pub(crate) detail: String,
}

/// What the log promises; see [`LogCapabilities`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LogCapabilityReport {
    pub(crate) description: String,
    pub(crate) atomic_append: bool,
    pub(crate) transactions: bool,
    pub(crate) idempotence: bool,
    pub(crate) compaction: bool,
}

impl From<LogCapabilities> for LogCapabilityReport {
    fn from(c: LogCapabilities) -> Self {
        Self {
            description: c.description,
            atomic_append: c.atomic_append,
            transactions: c.transactions,
            idempotence: c.idempotence,
            compaction: c.compaction,
        }
    }
}

/// What the store promises; see [`StoreCapabilities`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StoreCapabilityReport {
    pub(crate) description: String,
    /// Shared by every process (one set of read models), or this process's own replica.
    pub(crate) shared: bool,
}

impl From<StoreCapabilities> for StoreCapabilityReport {
    fn from(c: StoreCapabilities) -> Self {
        Self { description: c.description, shared: c.shared }
    }
}

impl ReadinessReport {
    pub(crate) fn is_ready(&self) -> bool {
        self.log.ready
            && self.store.ready
            && self.reply_listener.ready
            && self.local_roles.iter().all(|role| role.ready)
    }
}

impl Readiness {
    pub(crate) async fn check(&self) -> ReadinessReport {
        let commands = self.topics.commands();
        let store_probe = async {
            match &self.store {
                Some(store) => {
                    probe(store.checkpoints(STORE_PROBE), |_| {
                        format!("{} reachable", store.capabilities().description)
                    })
                    .await
                }
                None => not_used("this process's roles use no read store"),
            }
        };
        let (log, store) = tokio::join!(
            probe(self.log.partition_count(&commands), |partitions| {
                format!(
                    "{} reachable ({commands}: {partitions} partitions)",
                    self.log.capabilities().description
                )
            }),
            store_probe,
        );
        let reply_listener = match &self.bus {
            Some(bus) if bus.is_listening() => DependencyState {
                ready: true,
                detail: format!("reading {}", bus.replies_partition()),
            },
            Some(bus) => DependencyState {
                ready: false,
                detail: format!("not reading {}", bus.replies_partition()),
            },
            None => not_used("this process sends no commands"),
        };
        let mut report = ReadinessReport {
            status: "not_ready",
            log,
            store,
            reply_listener,
            roles: self.roles.clone(),
            local_roles: self
                .role_checks
                .iter()
                .map(|check| {
                    let (is_ready, detail) = (check.probe)();
                    RoleState { name: check.name.clone(), ready: is_ready, detail }
                })
                .collect(),
            log_capabilities: self.log.capabilities().into(),
            store_capabilities: self.store.as_ref().map(|store| store.capabilities().into()),
        };
        if report.is_ready() {
            report.status = "ready";
        }
        report
    }
}

/// A dependency this process does not have: nothing to wait for.
fn not_used(why: &str) -> DependencyState {
    DependencyState { ready: true, detail: format!("not used: {why}") }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_keeps_its_fields_and_adds_capabilities_and_roles() {
        let state = |up: bool| DependencyState { ready: up, detail: "d".into() };
        let report = ReadinessReport {
            status: "ready",
            log: state(true),
            store: state(true),
            reply_listener: state(true),
            roles: vec!["gateway".into(), "projections".into()],
            local_roles: vec![RoleState {
                name: "commands".into(),
                ready: true,
                detail: "deciding".into(),
            }],
            log_capabilities: LogCapabilities {
                description: "kafka://k:9092".into(),
                atomic_append: false,
                compaction: true,
                transactions: false,
                idempotence: true,
                local_groups: false,
            }
            .into(),
            store_capabilities: Some(
                StoreCapabilities { description: "s".into(), shared: false }.into(),
            ),
        };
        let json = serde_json::to_value(&report).unwrap_or_default();
        assert_eq!(json["status"], "ready");
        assert_eq!(json["replyListener"]["ready"], true);
        assert_eq!(json["roles"], serde_json::json!(["gateway", "projections"]));
        let log = &json["logCapabilities"];
        assert_eq!(
            (&log["atomicAppend"], &log["transactions"], &log["idempotence"], &log["compaction"]),
            (&false.into(), &false.into(), &true.into(), &true.into())
        );
        assert_eq!(json["storeCapabilities"]["shared"], false);
        assert_eq!(json["localRoles"][0]["name"], "commands");
        assert!(report.is_ready());
        let starting =
            RoleState { name: "commands".into(), ready: false, detail: "joining".into() };
        let report = ReadinessReport { local_roles: vec![starting], ..report };
        assert!(!report.is_ready(), "a process whose processor is starting is not ready");
    }
}
