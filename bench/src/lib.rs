//! Nagare's benchmarks. The harness (latency histograms, open- and closed-loop load, process
//! usage, progress, the table and the JSON line) is shared by every scenario; a scenario only
//! sets up, drives load and counts.
//!
//! Scenarios: `append` (raw batched appends through the `EventLog` port, against the storage
//! engine's own batched write rate), `commands` (GraphQL mutations against a real server),
//! `project` and `replay` (the projections over a pre-filled log, against reading it alone) and
//! `e2e` (a mutation until a query shows it, eventual and strong). New ones (WebSocket fan-out,
//! sagas) implement [`Scenario`] and reuse the rest.

pub mod append;
pub mod commands;
pub mod e2e;
mod graphql;
mod http_client;
#[cfg(feature = "kafka")]
mod kafka_baseline;
mod latency;
mod load;
mod measurement;
mod process;
mod progress;
pub mod project;
mod report;
mod scenario;
mod schedule;
mod scratch;
mod server;
mod shop_history;

pub use latency::LatencyRecorder;
pub use measurement::Measurement;
pub use process::{ProcessUsage, parse_cpu_seconds, parse_peak_rss_bytes};
pub use progress::Progress;
pub use report::{Report, Target};
pub use scenario::{Scenario, run_scenario};
pub use schedule::OpenLoopSchedule;
