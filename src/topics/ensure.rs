//! `nagare topics ensure`: creates the missing topics and prints one line per topic.

use std::fmt::Write as _;

use nagare_infra::{EventLog, TopicSpec};
use nagare_schemas::topics::Topics;

use super::print;
use crate::topology::{
    Declaration, TopicOutcome, apply_declaration, check_co_partitioning, co_partitioned,
};

pub(super) async fn run(
    log: &dyn EventLog,
    topics: &Topics,
    declaration: &Declaration,
    partitions: Option<u32>,
) -> anyhow::Result<()> {
    let outcomes = apply_declaration(log, topics, declaration, partitions).await?;
    print(&lines(&outcomes))?;
    let actual: Vec<TopicSpec> = outcomes.into_iter().map(|outcome| outcome.actual).collect();
    // Exit status 1: the processor refuses to run on such a log, so this is no mere drift.
    check_co_partitioning(&co_partitioned(topics), &actual)
        .map_err(|error| error.context("the log's topics cannot be used as they are"))
}

/// One line per topic (`NAME  STATE  DETAILS`), then a summary.
fn lines(outcomes: &[TopicOutcome]) -> String {
    let width = outcomes.iter().map(|outcome| outcome.actual.name.len()).max().unwrap_or(0);
    let mut text = String::new();
    for outcome in outcomes {
        let _ = writeln!(
            text,
            "{:<width$}  {:<7}  {}",
            outcome.actual.name,
            outcome.state(),
            outcome.details()
        );
    }
    let count = |state: &str| outcomes.iter().filter(|outcome| outcome.state() == state).count();
    let _ = writeln!(
        text,
        "{} topics: {} created, {} as declared, {} with drift",
        outcomes.len(),
        count("created"),
        count("exists"),
        count("drift")
    );
    if outcomes.iter().any(|outcome| outcome.drift().is_some()) {
        let _ =
            writeln!(text, "drift is reported, not repaired: existing topics keep their settings");
    }
    text
}

#[cfg(test)]
mod tests {
    use nagare_infra::Cleanup;

    use super::*;

    fn outcome(name: &str, declared: u32, actual: u32, created: bool) -> TopicOutcome {
        let spec = |partitions| TopicSpec {
            name: name.into(),
            partitions,
            cleanup: Cleanup::Delete { retention_ms: None },
        };
        TopicOutcome { declared: spec(declared), actual: spec(actual), created }
    }

    #[test]
    fn each_topic_has_a_line_and_the_summary_counts_them() {
        let text = lines(&[
            outcome("nagare.commands", 8, 8, true),
            outcome("nagare.replies", 8, 8, false),
            outcome("nagare.deadletter", 8, 2, false),
        ]);
        let rows: Vec<&str> = text.lines().collect();
        assert!(rows[0].starts_with("nagare.commands    created  8 partitions"), "{text}");
        assert!(rows[1].starts_with("nagare.replies     exists "), "{text}");
        assert!(rows[2].contains("drift    2 partitions instead of the configured 8"), "{text}");
        assert_eq!(rows[3], "3 topics: 1 created, 1 as declared, 1 with drift");
        assert!(rows[4].starts_with("drift is reported, not repaired"), "{text}");
    }

    #[test]
    fn no_drift_no_drift_line() {
        let text = lines(&[outcome("a", 1, 1, false)]);
        assert!(!text.contains("not repaired"), "{text}");
    }
}
