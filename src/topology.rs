//! The topics Nagare needs, created at start-up when missing and checked when present.
//!
//! The commands topic, every events topic and the snapshots topic must have the same partition
//! count: the processor that owns command partition *p* is the single writer of the events and
//! snapshots of every aggregate keyed to *p*, which only holds when all of them hash a key to
//! the same partition number.

use anyhow::{Context, bail};
use nagare_infra::{Cleanup, EventLog, TopicSpec, TopicStatus};
use nagare_schemas::topics::Topics;

/// Every topic with its declaration. Events and commands are the source of truth and are kept
/// forever; snapshots are compacted to the latest per aggregate.
pub(crate) fn declared_topics(topics: &Topics, partitions: u32) -> Vec<TopicSpec> {
    let keep_forever = Cleanup::Delete { retention_ms: None };
    let spec = |name: String, cleanup| TopicSpec { name, partitions, cleanup };
    let mut specs = vec![spec(topics.commands(), keep_forever)];
    specs.extend(topics.all_events().into_iter().map(|name| spec(name, keep_forever)));
    specs.push(spec(topics.replies(), keep_forever));
    specs.push(spec(topics.snapshots(), Cleanup::Compact));
    specs.push(spec(topics.deadletter(), keep_forever));
    specs
}

/// The topics that must be partitioned identically (see the module docs).
fn co_partitioned(topics: &Topics) -> Vec<String> {
    let mut names = vec![topics.commands()];
    names.extend(topics.all_events());
    names.push(topics.snapshots());
    names
}

/// How an existing topic differs from its declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Drift {
    pub(crate) declared: TopicSpec,
    pub(crate) actual: TopicSpec,
}

impl Drift {
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.declared.partitions != self.actual.partitions {
            parts.push(format!(
                "{} partitions instead of the configured {}",
                self.actual.partitions, self.declared.partitions
            ));
        }
        if self.declared.cleanup != self.actual.cleanup {
            parts.push(format!(
                "cleanup {:?} instead of {:?}",
                self.actual.cleanup, self.declared.cleanup
            ));
        }
        format!(
            "topic `{}` exists with {}; keeping it as it is",
            self.actual.name,
            parts.join(", ")
        )
    }
}

/// The drift of one topic, if its actual declaration differs from the declared one.
pub(crate) fn drift(declared: &TopicSpec, actual: &TopicSpec) -> Option<Drift> {
    let differs = declared.partitions != actual.partitions || declared.cleanup != actual.cleanup;
    differs.then(|| Drift { declared: declared.clone(), actual: actual.clone() })
}

/// Fails when the topics that must share a partition count do not.
pub(crate) fn check_co_partitioning(topics: &Topics, actual: &[TopicSpec]) -> anyhow::Result<()> {
    let required = co_partitioned(topics);
    let counts: Vec<(&str, u32)> = actual
        .iter()
        .filter(|spec| required.contains(&spec.name))
        .map(|spec| (spec.name.as_str(), spec.partitions))
        .collect();
    let Some(&(first_name, first_count)) = counts.first() else {
        return Ok(());
    };
    if let Some(&(name, count)) = counts.iter().find(|(_, count)| *count != first_count) {
        bail!(
            "topic `{name}` has {count} partitions but `{first_name}` has {first_count}; the \
             commands, events and snapshots topics must have the same partition count so that \
             one processor owns all the records of an aggregate. Recreate the log, or recreate \
             the mismatching topic with {first_count} partitions"
        );
    }
    Ok(())
}

/// Creates the missing topics, reports drift of the existing ones, and returns the partition
/// count the co-partitioned topics actually have.
pub(crate) async fn ensure_topics(
    log: &dyn EventLog,
    topics: &Topics,
    partitions: u32,
) -> anyhow::Result<u32> {
    let mut actual = Vec::new();
    for declared in declared_topics(topics, partitions) {
        let status = log
            .ensure_topic(&declared)
            .await
            .with_context(|| format!("cannot create or inspect topic `{}`", declared.name))?;
        match status {
            TopicStatus::Created => {
                tracing::info!(topic = %declared.name, partitions = declared.partitions, "topic created");
                actual.push(declared);
            }
            TopicStatus::Existing { actual: existing } => {
                if let Some(drift) = drift(&declared, &existing) {
                    tracing::warn!(topic = %existing.name, "{}", drift.describe());
                }
                actual.push(existing);
            }
        }
    }
    check_co_partitioning(topics, &actual)?;
    let commands = topics.commands();
    Ok(actual.iter().find(|spec| spec.name == commands).map_or(partitions, |spec| spec.partitions))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn topics() -> Topics {
        Topics::default()
    }

    #[test]
    fn every_topic_is_declared_once_with_the_shared_partition_count() {
        let specs = declared_topics(&topics(), 8);
        let mut names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), specs.len());
        assert_eq!(specs.len(), 4 + topics().all_events().len());
        assert!(specs.iter().all(|s| s.partitions == 8));
    }

    #[test]
    fn only_snapshots_are_compacted() {
        for spec in declared_topics(&topics(), 3) {
            let compacted = spec.cleanup == Cleanup::Compact;
            assert_eq!(compacted, spec.name == topics().snapshots(), "{}", spec.name);
        }
    }

    #[test]
    fn drift_names_what_differs() {
        let declared = TopicSpec {
            name: "nagare.commands".into(),
            partitions: 8,
            cleanup: Cleanup::Delete { retention_ms: None },
        };
        assert_eq!(drift(&declared, &declared), None);
        let actual = TopicSpec { partitions: 4, ..declared.clone() };
        let found = drift(&declared, &actual).map(|d| d.describe()).unwrap_or_default();
        assert!(found.contains("4 partitions instead of the configured 8"), "{found}");
        let compacted = TopicSpec { cleanup: Cleanup::Compact, ..declared.clone() };
        let found = drift(&declared, &compacted).map(|d| d.describe()).unwrap_or_default();
        assert!(found.contains("cleanup Compact"), "{found}");
    }

    #[test]
    fn mismatched_partition_counts_of_co_partitioned_topics_are_refused() {
        let mut specs = declared_topics(&topics(), 8);
        assert!(check_co_partitioning(&topics(), &specs).is_ok());
        if let Some(events) = specs.iter_mut().find(|s| s.name == topics().all_events()[0]) {
            events.partitions = 4;
        }
        let message = check_co_partitioning(&topics(), &specs).unwrap_err().to_string();
        assert!(message.contains("4 partitions"), "{message}");
    }

    #[test]
    fn replies_and_deadletter_may_differ() {
        let mut specs = declared_topics(&topics(), 8);
        for spec in &mut specs {
            if spec.name == topics().replies() || spec.name == topics().deadletter() {
                spec.partitions = 1;
            }
        }
        assert!(check_co_partitioning(&topics(), &specs).is_ok());
    }

    #[tokio::test]
    async fn ensure_creates_then_keeps_existing_topics() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("embedded://{}", dir.path().display());
        let log: Arc<dyn EventLog> = nagare_infra::open_log(&url).await.unwrap();
        assert_eq!(ensure_topics(&*log, &topics(), 4).await.unwrap(), 4);
        // A second start with another count keeps the existing topics and their count.
        assert_eq!(ensure_topics(&*log, &topics(), 16).await.unwrap(), 4);
        let listed = log.list_topics().await.unwrap();
        for declared in declared_topics(&topics(), 4) {
            assert!(listed.contains(&declared), "{declared:?} missing from {listed:?}");
        }
    }
}
