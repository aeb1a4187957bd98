//! The JSON document `nagare topics describe --json` prints for scripts.

use nagare_infra::{Cleanup, TopicSpec};
use serde_json::{Value, json};

use super::report::{LogReport, Status, TopicReport};
use crate::topology::{policy, retention_words};

/// One document: the prefix, the co-partitioning verdict, whether the log compacts, and every
/// topic with its declared and actual settings (`null` when absent), records, partitions'
/// watermarks and drift.
pub(super) fn render(report: &LogReport) -> String {
    let document = json!({
        "prefix": report.prefix,
        "co_partitioning": {
            "declared_partitions": report.declared_co_partitions,
            "ok": report.co_partitioning_problem.is_none(),
            "problem": report.co_partitioning_problem,
        },
        "compaction": report.compaction,
        "topics": report.topics.iter().map(topic).collect::<Vec<_>>(),
    });
    // A `Value` always serialises; the fallback only keeps this free of panics.
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

fn topic(report: &TopicReport) -> Value {
    let status = report.status();
    let drift = match &status {
        Status::Drift(differences) => differences.clone(),
        _ => Vec::new(),
    };
    let partitions: Vec<Value> = report
        .watermarks
        .iter()
        .enumerate()
        .map(|(partition, marks)| {
            json!({
                "partition": partition,
                "low": marks.low,
                "high": marks.high,
                "records": marks.high.saturating_sub(marks.low),
            })
        })
        .collect();
    json!({
        "name": report.name,
        "status": status.word(),
        "declared": report.declared.as_ref().map(settings),
        "actual": report.actual.as_ref().map(settings),
        "records": report.actual.as_ref().map(|_| report.records()),
        "partitions": partitions,
        "drift": drift,
    })
}

fn settings(spec: &TopicSpec) -> Value {
    let retention_ms = match spec.cleanup {
        Cleanup::Delete { retention_ms } => retention_ms.filter(|ms| *ms >= 0),
        Cleanup::Compact => None,
    };
    json!({
        "partitions": spec.partitions,
        "cleanup": policy(spec.cleanup),
        "retention": retention_words(spec.cleanup),
        "retention_ms": retention_ms,
    })
}

#[cfg(test)]
mod tests {
    use nagare_infra::Watermarks;

    use super::*;

    #[test]
    fn the_document_parses_and_carries_every_field() {
        let spec = TopicSpec {
            name: "nagare.deadletter".into(),
            partitions: 1,
            cleanup: Cleanup::Delete { retention_ms: Some(30 * 86_400_000) },
        };
        let drifted =
            TopicSpec { cleanup: Cleanup::Delete { retention_ms: Some(-1) }, ..spec.clone() };
        let report = LogReport {
            prefix: "nagare.".into(),
            topics: vec![
                TopicReport {
                    name: spec.name.clone(),
                    declared: Some(spec.clone()),
                    actual: Some(drifted),
                    watermarks: vec![Watermarks { low: 2, high: 7 }],
                },
                TopicReport {
                    name: "nagare.audit".into(),
                    declared: None,
                    actual: None,
                    watermarks: Vec::new(),
                },
            ],
            declared_co_partitions: 8,
            co_partitioning_problem: Some("differs".into()),
            compaction: false,
        };
        let parsed: Value = serde_json::from_str(&render(&report)).unwrap();
        assert_eq!(parsed["prefix"], "nagare.");
        assert_eq!(parsed["co_partitioning"]["ok"], false);
        assert_eq!(parsed["co_partitioning"]["problem"], "differs");
        assert_eq!(parsed["compaction"], false);
        let deadletter = &parsed["topics"][0];
        assert_eq!(deadletter["status"], "drift");
        assert_eq!(deadletter["declared"]["retention"], "30d");
        assert_eq!(deadletter["declared"]["retention_ms"], 30 * 86_400_000_i64);
        assert_eq!(deadletter["actual"]["retention"], "forever");
        assert_eq!(deadletter["actual"]["retention_ms"], Value::Null);
        assert_eq!(deadletter["records"], 5);
        assert_eq!(deadletter["partitions"][0]["low"], 2);
        assert_eq!(deadletter["drift"][0], "retention forever instead of 30d");
        assert_eq!(parsed["topics"][1]["status"], "undeclared");
        assert_eq!(parsed["topics"][1]["records"], Value::Null);
    }
}
