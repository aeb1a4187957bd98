//! Nagare's benchmarks. The harness (latency histograms, process usage, progress, the table and
//! the JSON line) is shared by every scenario; a scenario only drives load and counts.
//!
//! Scenarios today: `append` (raw batched appends through the `EventLog` port, against the
//! storage engine's own batched write rate) and `commands` (GraphQL mutations against a real
//! server). New ones (projections, replay, end to end, WebSocket fan-out, sagas) implement
//! [`Scenario`] and reuse the rest.

pub mod append;
pub mod commands;
mod latency;
mod measurement;
mod process;
mod progress;
mod report;
mod scenario;
mod schedule;
mod server;

pub use latency::LatencyRecorder;
pub use measurement::Measurement;
pub use process::{ProcessUsage, parse_cpu_seconds, parse_peak_rss_bytes};
pub use progress::Progress;
pub use report::{Report, Target};
pub use scenario::{Scenario, run_scenario};
pub use schedule::OpenLoopSchedule;
