//! The table `nagare topics describe` prints for people.

use std::fmt::Write as _;

use nagare_infra::{TopicSpec, Watermarks};

use super::report::{LogReport, Status, TopicReport};
use crate::topology::{policy, retention_words};

/// Partitions whose watermarks the compact form lists; `--partitions-detail` lists them all.
const COMPACT_PARTITIONS: usize = 16;

const HEADERS: [&str; 7] =
    ["TOPIC", "PARTITIONS", "CLEANUP", "RETENTION", "RECORDS", "WATERMARKS", "DRIFT"];

pub(super) fn render(report: &LogReport, detail: bool) -> String {
    let rows: Vec<[String; 7]> = report.topics.iter().map(|topic| row(topic, detail)).collect();
    let mut widths = HEADERS.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    push_row(&mut text, &HEADERS.map(str::to_owned), &widths);
    for (row, topic) in rows.iter().zip(&report.topics) {
        push_row(&mut text, row, &widths);
        if detail {
            push_partitions(&mut text, &topic.watermarks);
        }
    }
    let _ = writeln!(
        text,
        "\npartitions, cleanup and retention: declared/actual (`-`: none); watermarks: low..high \
         per partition, in partition order"
    );
    match &report.co_partitioning_problem {
        None => {
            let _ = writeln!(
                text,
                "co-partitioning: ok (commands, events and snapshots: {} partitions declared)",
                report.declared_co_partitions
            );
        }
        Some(problem) => {
            let _ = writeln!(text, "co-partitioning: BROKEN: {problem}");
        }
    }
    if !report.compaction {
        let _ = writeln!(
            text,
            "compaction: this log does not compact; compacted topics keep every record"
        );
    }
    text
}

fn row(topic: &TopicReport, detail: bool) -> [String; 7] {
    let (declared, actual) = (topic.declared.as_ref(), topic.actual.as_ref());
    let pair = |show: fn(&TopicSpec) -> String| {
        format!("{}/{}", declared.map_or("-".into(), show), actual.map_or("-".into(), show))
    };
    let records = match actual {
        Some(_) => topic.records().to_string(),
        None => "-".to_owned(),
    };
    let watermarks = match (actual, detail) {
        (None, _) => "-".to_owned(),
        (Some(_), true) => "(below)".to_owned(),
        (Some(_), false) => compact(&topic.watermarks),
    };
    let drift = match topic.status() {
        Status::AsDeclared => "none".to_owned(),
        Status::Missing => "missing".to_owned(),
        Status::Undeclared => "not declared".to_owned(),
        Status::Drift(differences) => differences.join("; "),
    };
    [
        topic.name.clone(),
        pair(|spec| spec.partitions.to_string()),
        pair(|spec| policy(spec.cleanup).to_owned()),
        pair(|spec| retention_words(spec.cleanup)),
        records,
        watermarks,
        drift,
    ]
}

/// `0..3 0..2 0..0`, and how many partitions more when there are many.
fn compact(watermarks: &[Watermarks]) -> String {
    let mut shown: Vec<String> = watermarks
        .iter()
        .take(COMPACT_PARTITIONS)
        .map(|marks| format!("{}..{}", marks.low, marks.high))
        .collect();
    if watermarks.len() > COMPACT_PARTITIONS {
        shown.push(format!("… +{} (--partitions-detail)", watermarks.len() - COMPACT_PARTITIONS));
    }
    shown.join(" ")
}

fn push_partitions(text: &mut String, watermarks: &[Watermarks]) {
    for (partition, marks) in watermarks.iter().enumerate() {
        let _ = writeln!(
            text,
            "    partition {partition}: low {}, high {}, {} records",
            marks.low,
            marks.high,
            marks.high.saturating_sub(marks.low)
        );
    }
}

fn push_row(text: &mut String, cells: &[String; 7], widths: &[usize; 7]) {
    let mut line = String::new();
    for (cell, width) in cells.iter().zip(widths) {
        let _ = write!(line, "{cell:<width$}  ");
    }
    let _ = writeln!(text, "{}", line.trim_end());
}

#[cfg(test)]
mod tests {
    use nagare_infra::Cleanup;

    use super::*;

    fn spec(name: &str, partitions: u32, cleanup: Cleanup) -> TopicSpec {
        TopicSpec { name: name.into(), partitions, cleanup }
    }

    fn report() -> LogReport {
        let day = Cleanup::Delete { retention_ms: Some(86_400_000) };
        let marks = vec![Watermarks { low: 0, high: 3 }, Watermarks { low: 1, high: 2 }];
        LogReport {
            prefix: "nagare.".into(),
            topics: vec![
                TopicReport {
                    name: "nagare.replies".into(),
                    declared: Some(spec("nagare.replies", 2, day)),
                    actual: Some(spec("nagare.replies", 2, day)),
                    watermarks: marks,
                },
                TopicReport {
                    name: "nagare.snapshots".into(),
                    declared: Some(spec("nagare.snapshots", 8, Cleanup::Compact)),
                    actual: None,
                    watermarks: Vec::new(),
                },
            ],
            declared_co_partitions: 8,
            co_partitioning_problem: None,
            compaction: true,
        }
    }

    #[test]
    fn a_row_per_topic_with_declared_and_actual_side_by_side() {
        let text = render(&report(), false);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("TOPIC "), "{text}");
        let replies: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            replies,
            ["nagare.replies", "2/2", "delete/delete", "1d/1d", "4", "0..3", "1..2", "none"]
        );
        let snapshots: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(snapshots, ["nagare.snapshots", "8/-", "compact/-", "-/-", "-", "-", "missing"]);
        assert!(text.contains("co-partitioning: ok"), "{text}");
        assert!(!text.contains("does not compact"), "{text}");
    }

    #[test]
    fn detail_lists_every_partition_and_a_problem_is_shouted() {
        let mut broken = report();
        broken.co_partitioning_problem = Some("counts differ".into());
        broken.compaction = false;
        let text = render(&broken, true);
        assert!(text.contains("    partition 0: low 0, high 3, 3 records"), "{text}");
        assert!(text.contains("    partition 1: low 1, high 2, 1 records"), "{text}");
        assert!(text.contains("co-partitioning: BROKEN: counts differ"), "{text}");
        assert!(text.contains("compaction: this log does not compact"), "{text}");
    }

    #[test]
    fn many_partitions_are_shortened() {
        let marks = vec![Watermarks::default(); COMPACT_PARTITIONS + 5];
        let shown = compact(&marks);
        assert!(shown.ends_with("… +5 (--partitions-detail)"), "{shown}");
        assert_eq!(shown.matches("0..0").count(), COMPACT_PARTITIONS);
    }
}
