//! `nagare bench` through the real binary, with tiny workloads: the scenarios run end to end
//! and print their table and JSON line. Figures are not checked (performance is measured by
//! the benchmark itself, never asserted in tests).

use std::process::Command;

use serde_json::Value;

fn bench(args: &[&str]) -> (Value, String) {
    let scratch = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_nagare"))
        .arg("bench")
        .args(args)
        .arg("--scratch-dir")
        .arg(scratch.path())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bench {args:?} failed:\n{stdout}\n{stderr}");
    let json_line = stdout.lines().last().unwrap_or_default();
    let json: Value = serde_json::from_str(json_line)
        .unwrap_or_else(|e| panic!("the last line is not JSON ({e}):\n{stdout}"));
    let left_behind: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().collect();
    assert!(left_behind.is_empty(), "temporary data left behind: {left_behind:?}");
    (json, stdout)
}

#[test]
fn append_writes_every_record_through_the_log_and_the_raw_engine() {
    let (json, table) = bench(&["append", "--records", "250", "--batch", "20", "--writers", "3"]);
    assert_eq!(json["scenario"], "append");
    assert_eq!(json["backend"], "embedded");
    assert_eq!(json["operations"], 250);
    assert_eq!(json["errors"], 0);
    assert_eq!(json["baselines"][0]["backend"], "raw fjall");
    assert_eq!(json["baselines"][0]["operations"], 250);
    for key in ["ops_per_s", "p50_us", "p99_us", "p999_us", "max_us", "cpu_s", "peak_rss_bytes"] {
        assert!(json[key].is_number(), "{key} missing: {json}");
    }
    assert!(json["ratio_to_raw_engine"].is_number(), "{json}");
    assert_eq!(json["targets"].as_array().map(Vec::len), Some(2), "{json}");
    assert!(table.contains("raw fjall") && table.contains("target"), "{table}");
}

#[test]
fn commands_drive_a_real_server_over_graphql() {
    let (json, _) = bench(&["commands", "--clients", "2", "--duration", "300ms"]);
    assert_eq!(json["scenario"], "commands");
    assert_eq!(json["errors"], 0, "{json}");
    assert!(json["operations"].as_u64().is_some_and(|n| n > 0), "{json}");
    // The server's usage, read from its /proc entry.
    assert!(json["peak_rss_bytes"].as_u64().is_some_and(|n| n > 0), "{json}");
}

#[test]
fn open_loop_commands_report_latency_from_the_schedule() {
    let (json, _) = bench(&["commands", "--clients", "2", "--duration", "300ms", "--rate", "50"]);
    assert_eq!(json["backend"], "embedded@50/s");
    assert_eq!(json["errors"], 0, "{json}");
    // 50/s for 0.3 s: sends due at 0, 20, …, 280 ms.
    assert_eq!(json["operations"], 15, "{json}");
    assert!(json["targets"][0]["name"].as_str().is_some_and(|n| n.contains("p99")), "{json}");
}

#[test]
fn project_applies_every_generated_event_and_reads_the_log_beside_it() {
    let (json, table) = bench(&["project", "--events", "3000"]);
    assert_eq!(json["scenario"], "project");
    assert_eq!(json["backend"], "embedded");
    assert_eq!(json["operations"], 3000, "{json}");
    assert_eq!(json["baselines"][0]["backend"], "embedded read+decode");
    assert_eq!(json["baselines"][0]["operations"], 3000, "{json}");
    assert!(json["ratio_to_log_read"].is_number(), "{json}");
    assert!(table.contains("events/s applied"), "{table}");
}

#[test]
fn replay_rebuilds_and_reports_time_per_million() {
    let (json, _) = bench(&["replay", "--events", "2000"]);
    assert_eq!(json["scenario"], "replay");
    assert_eq!(json["operations"], 2000, "{json}");
    let target = json["targets"][0]["name"].as_str().unwrap_or_default();
    assert!(target.contains("1,000,000"), "{json}");
}

#[test]
fn e2e_times_eventual_and_strong_writes_until_visible() {
    let (json, table) = bench(&["e2e", "--rate", "100", "--duration", "300ms"]);
    assert_eq!(json["scenario"], "e2e");
    assert_eq!(json["backend"], "embedded EVENTUAL");
    assert_eq!(json["baselines"][0]["backend"], "embedded STRONG");
    // 100/s for 0.3 s in each phase: 30 sends each, none failing.
    assert_eq!((json["operations"].as_u64(), json["errors"].as_u64()), (Some(30), Some(0)));
    assert_eq!(json["baselines"][0]["operations"], 30, "{json}");
    assert!(json["server_idle_rss_mib"].as_f64().is_some_and(|m| m > 0.0), "{json}");
    assert!(table.contains("STRONG"), "{table}");
}
