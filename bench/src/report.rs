//! What a scenario hands back, printed as a table for people and one JSON line for scripts.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::measurement::Measurement;

/// A target from the benchmarks issue and whether the run met it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What is measured against what, e.g. `records/s (100 B)`.
    pub name: String,
    pub goal: f64,
    pub measured: f64,
    /// True when the goal is an upper bound (latency), false for a lower bound (throughput).
    pub at_most: bool,
}

impl Target {
    pub fn at_least(name: impl Into<String>, goal: f64, measured: f64) -> Self {
        Self { name: name.into(), goal, measured, at_most: false }
    }

    pub fn at_most(name: impl Into<String>, goal: f64, measured: f64) -> Self {
        Self { name: name.into(), goal, measured, at_most: true }
    }

    pub fn met(&self) -> bool {
        if self.at_most { self.measured <= self.goal } else { self.measured >= self.goal }
    }
}

/// The outcome of one scenario run: the main measurement first, baselines after it.
#[derive(Debug, Clone)]
pub struct Report {
    pub measurements: Vec<Measurement>,
    /// Derived figures, such as the ratio to the raw engine, by name.
    pub extras: Vec<(String, f64)>,
    pub targets: Vec<Target>,
}

impl Report {
    /// The table: one row per measurement, then the derived figures and the targets.
    pub fn write_table(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "{:<10} {:<24} {:>11} {:>7} {:>9} {:>12} {:>8} {:>8} {:>8} {:>8} {:>7} {:>9}",
            "scenario",
            "backend",
            "ops",
            "errors",
            "seconds",
            "ops/s",
            "p50 µs",
            "p99 µs",
            "p99.9 µs",
            "max µs",
            "cpu s",
            "peak MiB"
        )?;
        for m in &self.measurements {
            let latency = |q: f64| {
                m.latency.as_ref().map_or("-".to_owned(), |l| {
                    if q > 1.0 { l.max_us().to_string() } else { l.quantile_us(q).to_string() }
                })
            };
            let cpu = m.usage.map_or("-".to_owned(), |u| format!("{:.2}", u.cpu_seconds));
            let rss = m.usage.map_or("-".to_owned(), |u| {
                format!("{:.1}", u.peak_rss_bytes as f64 / (1024.0 * 1024.0))
            });
            writeln!(
                out,
                "{:<10} {:<24} {:>11} {:>7} {:>9.2} {:>12.0} {:>8} {:>8} {:>8} {:>8} {:>7} {:>9}",
                m.scenario,
                m.backend,
                m.operations,
                m.errors,
                m.elapsed.as_secs_f64(),
                m.ops_per_second(),
                latency(0.5),
                latency(0.99),
                latency(0.999),
                latency(2.0),
                cpu,
                rss
            )?;
        }
        for (name, value) in &self.extras {
            writeln!(out, "{name}: {}", figure(*value))?;
        }
        for target in &self.targets {
            let bound = if target.at_most { "≤" } else { "≥" };
            let verdict = if target.met() { "met" } else { "MISSED" };
            writeln!(
                out,
                "target {}: {bound} {} — measured {:.1} — {verdict}",
                target.name, target.goal, target.measured
            )?;
        }
        Ok(())
    }

    /// One JSON object on one line: the main measurement's figures at the top level, the
    /// derived figures beside them, `baselines` (the other measurements) and `targets`.
    pub fn json_line(&self) -> String {
        let mut fields = self.measurements.first().map(Measurement::to_json).unwrap_or_default();
        for (name, value) in &self.extras {
            let rounded = (value * 1000.0).round() / 1000.0;
            let value = if is_whole(rounded) { json!(rounded as i64) } else { json!(rounded) };
            fields.insert(name.clone(), value);
        }
        let baselines: Vec<Value> =
            self.measurements.iter().skip(1).map(|m| Value::Object(m.to_json())).collect();
        fields.insert("baselines".into(), Value::Array(baselines));
        let targets: Vec<Value> = self
            .targets
            .iter()
            .map(|t| {
                json!({ "name": t.name, "goal": t.goal, "measured": t.measured,
                        "at_most": t.at_most, "met": t.met() })
            })
            .collect();
        fields.insert("targets".into(), Value::Array(targets));
        Value::Object(fields).to_string()
    }
}

/// Whole numbers (counts, sizes) print without decimals; fractions with three.
fn figure(value: f64) -> String {
    if is_whole(value) { format!("{value:.0}") } else { format!("{value:.3}") }
}

fn is_whole(value: f64) -> bool {
    value.fract() == 0.0 && value.abs() < 1e15
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::latency::LatencyRecorder;

    fn report() -> Report {
        let mut latency = LatencyRecorder::new();
        latency.record(Duration::from_micros(900));
        let main = Measurement {
            scenario: "append".into(),
            backend: "embedded".into(),
            operations: 600_000,
            errors: 0,
            elapsed: Duration::from_secs(1),
            latency: Some(latency),
            usage: None,
        };
        let raw = Measurement {
            backend: "fjall".into(),
            operations: 1_000_000,
            latency: None,
            ..main.clone()
        };
        Report {
            measurements: vec![main, raw],
            extras: vec![("ratio_to_raw_engine".into(), 0.6), ("batch".into(), 100.0)],
            targets: vec![
                Target::at_least("records/s", 500_000.0, 600_000.0),
                Target::at_most("p99 µs", 500.0, 900.0),
            ],
        }
    }

    #[test]
    fn the_json_line_is_one_line_with_the_documented_keys() {
        let line = report().json_line();
        assert!(!line.contains('\n'));
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["scenario"], "append");
        assert_eq!(value["backend"], "embedded");
        assert_eq!(value["ops_per_s"], json!(600_000.0));
        assert_eq!(value["p50_us"], json!(900));
        assert_eq!(value["ratio_to_raw_engine"], json!(0.6));
        assert_eq!(value["batch"], json!(100));
        assert_eq!(value["baselines"][0]["backend"], "fjall");
        assert_eq!(value["targets"][0]["met"], json!(true));
        assert_eq!(value["targets"][1]["met"], json!(false));
    }

    #[test]
    fn the_table_shows_every_measurement_and_verdict() {
        let mut out = Vec::new();
        report().write_table(&mut out).unwrap();
        let table = String::from_utf8(out).unwrap();
        assert!(table.contains("fjall") && table.contains("embedded"), "{table}");
        assert!(table.contains("met") && table.contains("MISSED"), "{table}");
        assert!(table.contains("ratio_to_raw_engine: 0.600"), "{table}");
        assert!(table.contains("batch: 100\n"), "{table}");
    }
}
