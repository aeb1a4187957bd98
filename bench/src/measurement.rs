//! One measured run: what was done, how long it took, how fast and at what cost.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::latency::LatencyRecorder;
use crate::process::ProcessUsage;

/// The figures of one run of one workload.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The scenario (`append`, `commands`, …).
    pub scenario: String,
    /// Where it ran: the log URL's scheme (`embedded`, `kafka`) or the engine (`fjall`).
    pub backend: String,
    /// Operations completed (records appended, commands answered).
    pub operations: u64,
    /// Operations that failed; they do not count in `operations`.
    pub errors: u64,
    pub elapsed: Duration,
    /// Per-operation latency, when the scenario measures it.
    pub latency: Option<LatencyRecorder>,
    /// CPU and peak memory of the process doing the work (this one, or the server).
    pub usage: Option<ProcessUsage>,
}

impl Measurement {
    pub fn ops_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 { self.operations as f64 / seconds } else { 0.0 }
    }

    /// The flat JSON object of the figures: `scenario`, `backend`, `operations`, `errors`,
    /// `elapsed_s`, `ops_per_s`, then `p50_us`, `p99_us`, `p999_us`, `max_us` when latency was
    /// measured, and `cpu_s`, `peak_rss_bytes` when usage was.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("scenario".into(), json!(self.scenario));
        fields.insert("backend".into(), json!(self.backend));
        fields.insert("operations".into(), json!(self.operations));
        fields.insert("errors".into(), json!(self.errors));
        fields.insert("elapsed_s".into(), json!(round3(self.elapsed.as_secs_f64())));
        fields.insert("ops_per_s".into(), json!(self.ops_per_second().round()));
        if let Some(latency) = &self.latency {
            fields.insert("p50_us".into(), json!(latency.quantile_us(0.5)));
            fields.insert("p99_us".into(), json!(latency.quantile_us(0.99)));
            fields.insert("p999_us".into(), json!(latency.quantile_us(0.999)));
            fields.insert("max_us".into(), json!(latency.max_us()));
        }
        if let Some(usage) = &self.usage {
            fields.insert("cpu_s".into(), json!(round3(usage.cpu_seconds)));
            fields.insert("peak_rss_bytes".into(), json!(usage.peak_rss_bytes));
        }
        fields
    }
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measurement() -> Measurement {
        Measurement {
            scenario: "append".into(),
            backend: "embedded".into(),
            operations: 1_000,
            errors: 0,
            elapsed: Duration::from_millis(500),
            latency: None,
            usage: None,
        }
    }

    #[test]
    fn throughput_is_operations_per_second_and_zero_without_time() {
        assert_eq!(measurement().ops_per_second(), 2_000.0);
        let instant = Measurement { elapsed: Duration::ZERO, ..measurement() };
        assert_eq!(instant.ops_per_second(), 0.0);
    }

    #[test]
    fn the_json_has_latency_and_usage_only_when_measured() {
        let plain = measurement().to_json();
        assert_eq!(plain["ops_per_s"], json!(2000.0));
        assert!(!plain.contains_key("p99_us") && !plain.contains_key("cpu_s"));

        let mut latency = LatencyRecorder::new();
        latency.record(Duration::from_micros(250));
        let usage = ProcessUsage { cpu_seconds: 1.23456, peak_rss_bytes: 4096 };
        let full = Measurement { latency: Some(latency), usage: Some(usage), ..measurement() };
        let json = full.to_json();
        for key in ["p50_us", "p99_us", "p999_us", "max_us", "cpu_s", "peak_rss_bytes"] {
            assert!(json.contains_key(key), "{key} missing from {json:?}");
        }
        assert_eq!(json["cpu_s"], json!(1.235));
        assert_eq!(json["peak_rss_bytes"], json!(4096));
    }
}
