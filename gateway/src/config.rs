//! What the gateway needs to run: its dependencies and its timeouts.

use std::sync::Arc;
use std::time::Duration;

use nagare_consumers::{Progress, ReadModels};
use nagare_infra::{EventLog, ReadStore};
use nagare_schemas::reply_handoff::ReplyHandoff;
use nagare_schemas::topics::Topics;

/// The components the gateway talks to, built by the binary.
#[derive(Clone, Debug)]
pub struct GatewayDeps {
    /// Where commands are sent and replies are read.
    pub log: Arc<dyn EventLog>,
    /// Probed by readiness; queries go through `read_models`.
    pub store: Arc<dyn ReadStore>,
    pub read_models: ReadModels,
    /// The projections' progress, for `consistency: STRONG`.
    pub progress: Progress,
    pub topics: Topics,
    /// Other roles of this process whose readiness `/health/ready` includes.
    pub role_checks: Vec<RoleCheck>,
    /// Where a command processor of this process hands over the replies for this gateway
    /// (an empty one when none runs here: every reply then comes through the replies topic).
    pub reply_handoff: ReplyHandoff,
}

/// How readiness asks another role of this process (the command processor, say) whether it is
/// ready, without the gateway depending on that role's crate: `probe` answers whether it is
/// ready and a line saying what it is doing.
/// What the health endpoints of a process without the gateway report on.
#[derive(Clone, Debug)]
pub struct HealthDeps {
    pub log: Arc<dyn nagare_infra::EventLog>,
    pub topics: nagare_schemas::topics::Topics,
    /// The roles this process runs, reported as they are.
    pub roles: Vec<String>,
    /// The roles that must be ready for the process to be.
    pub role_checks: Vec<RoleCheck>,
}

#[derive(Clone)]
pub struct RoleCheck {
    pub name: String,
    pub probe: Arc<dyn Fn() -> (bool, String) + Send + Sync>,
}

impl std::fmt::Debug for RoleCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleCheck").field("name", &self.name).finish_non_exhaustive()
    }
}

/// The gateway's timeouts, and what readiness reports about its process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayConfig {
    /// How long a mutation waits for the command processor's reply before answering `TIMEOUT`.
    pub command_timeout: Duration,
    /// How long a `STRONG` mutation waits for the read models to show its events.
    pub consistency_timeout: Duration,
    /// The roles the gateway's process runs (`gateway`, `commands`, `projections`), as
    /// `/health/ready` reports them.
    pub roles: Vec<String>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            command_timeout: Duration::from_secs(10),
            consistency_timeout: Duration::from_secs(5),
            roles: vec!["gateway".to_owned()],
        }
    }
}

impl GatewayConfig {
    /// How long a graceful shutdown waits for in-flight requests: the longest a mutation can
    /// legitimately take, plus a margin for writing its response.
    pub fn drain_timeout(&self) -> Duration {
        self.command_timeout + self.consistency_timeout + Duration::from_secs(2)
    }
}
