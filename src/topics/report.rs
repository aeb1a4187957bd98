//! What `nagare topics describe` shows: every declared topic beside what the log holds, and
//! any other topic with the prefix.

use anyhow::Context;
use nagare_infra::{EventLog, TopicPartition, TopicSpec, Watermarks};
use nagare_schemas::topics::Topics;

use crate::topology::{Declaration, check_co_partitioning, co_partitioned, drift};

/// One topic, declared or found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct TopicReport {
    pub(super) name: String,
    /// `None`: the log holds it but the declaration does not name it.
    pub(super) declared: Option<TopicSpec>,
    /// `None`: declared but missing from the log.
    pub(super) actual: Option<TopicSpec>,
    /// The watermarks of each partition, in partition order.
    pub(super) watermarks: Vec<Watermarks>,
}

/// How a topic compares with its declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Status {
    AsDeclared,
    Missing,
    /// Each difference in words.
    Drift(Vec<String>),
    Undeclared,
}

impl Status {
    /// The one word scripts match on.
    pub(super) fn word(&self) -> &'static str {
        match self {
            Status::AsDeclared => "ok",
            Status::Missing => "missing",
            Status::Drift(_) => "drift",
            Status::Undeclared => "undeclared",
        }
    }
}

impl TopicReport {
    /// Records the topic holds now: the sum over its partitions of high − low.
    pub(super) fn records(&self) -> u64 {
        self.watermarks.iter().map(|marks| marks.high.saturating_sub(marks.low)).sum()
    }

    pub(super) fn status(&self) -> Status {
        match (&self.declared, &self.actual) {
            (Some(declared), Some(actual)) => drift(declared, actual)
                .map_or(Status::AsDeclared, |drift| Status::Drift(drift.differences())),
            (Some(_), None) => Status::Missing,
            (None, _) => Status::Undeclared,
        }
    }
}

/// The whole log under one prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LogReport {
    pub(super) prefix: String,
    /// Declared topics in declaration order, then the undeclared ones by name.
    pub(super) topics: Vec<TopicReport>,
    /// The count the commands, events and snapshots topics are declared with.
    pub(super) declared_co_partitions: u32,
    /// Why the co-partitioned topics cannot be used, when their counts differ.
    pub(super) co_partitioning_problem: Option<String>,
    /// Whether the log compacts compacted topics; when it does not, they keep every record.
    pub(super) compaction: bool,
}

pub(super) async fn gather(
    log: &dyn EventLog,
    topics: &Topics,
    declaration: &Declaration,
    partitions: Option<u32>,
) -> anyhow::Result<LogReport> {
    let existing = log.list_topics().await.context("cannot list the topics of the log")?;
    let declared = declaration.specs(topics, partitions);
    let mut undeclared: Vec<&TopicSpec> = existing
        .iter()
        .filter(|spec| spec.name.starts_with(topics.prefix()))
        .filter(|spec| !declared.iter().any(|d| d.name == spec.name))
        .collect();
    undeclared.sort_by(|a, b| a.name.cmp(&b.name));

    let mut reports = Vec::with_capacity(declared.len() + undeclared.len());
    for spec in &declared {
        let actual = existing.iter().find(|found| found.name == spec.name).cloned();
        let watermarks = match &actual {
            Some(actual) => watermarks_of(log, actual).await?,
            None => Vec::new(),
        };
        reports.push(TopicReport {
            name: spec.name.clone(),
            declared: Some(spec.clone()),
            actual,
            watermarks,
        });
    }
    for spec in undeclared {
        let watermarks = watermarks_of(log, spec).await?;
        reports.push(TopicReport {
            name: spec.name.clone(),
            declared: None,
            actual: Some(spec.clone()),
            watermarks,
        });
    }
    let co_partitioning_problem = check_co_partitioning(&co_partitioned(topics), &existing)
        .err()
        .map(|error| error.to_string());
    Ok(LogReport {
        prefix: topics.prefix().to_owned(),
        topics: reports,
        declared_co_partitions: partitions.unwrap_or(declaration.co_partitioned_count()),
        co_partitioning_problem,
        compaction: log.capabilities().compaction,
    })
}

async fn watermarks_of(log: &dyn EventLog, spec: &TopicSpec) -> anyhow::Result<Vec<Watermarks>> {
    let mut marks = Vec::new();
    for partition in 0..spec.partitions {
        let tp = TopicPartition::new(spec.name.clone(), partition);
        let found = log
            .watermarks(&tp)
            .await
            .with_context(|| format!("cannot read the watermarks of {tp}"))?;
        marks.push(found);
    }
    Ok(marks)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use nagare_infra::{Cleanup, OutgoingRecord, Record};

    use super::*;

    async fn fresh_log() -> (tempfile::TempDir, Arc<dyn EventLog>) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("embedded://{}", dir.path().display());
        (dir, nagare_infra::open_log(&url).await.unwrap())
    }

    #[tokio::test]
    async fn an_empty_log_shows_every_topic_missing() {
        let (_dir, log) = fresh_log().await;
        let declaration = Declaration::builtin().unwrap();
        let report = gather(&*log, &Topics::default(), &declaration, None).await.unwrap();
        assert_eq!(report.topics.len(), 7);
        assert!(report.topics.iter().all(|t| t.status() == Status::Missing && t.records() == 0));
        assert_eq!(report.co_partitioning_problem, None);
        assert_eq!(report.declared_co_partitions, 8);
    }

    #[tokio::test]
    async fn records_drift_and_undeclared_topics_are_found() {
        let (_dir, log) = fresh_log().await;
        let topics = Topics::default();
        let declaration = Declaration::builtin().unwrap();
        for spec in declaration.specs(&topics, Some(2)) {
            log.ensure_topic(&spec).await.unwrap();
        }
        let stray =
            TopicSpec { name: "nagare.audit".into(), partitions: 1, cleanup: Cleanup::Compact };
        log.ensure_topic(&stray).await.unwrap();
        let other =
            TopicSpec { name: "billing.audit".into(), partitions: 1, cleanup: Cleanup::Compact };
        log.ensure_topic(&other).await.unwrap();
        let record = |partition| OutgoingRecord {
            topic: topics.commands(),
            partition: Some(partition),
            record: Record { value: Some(b"x".to_vec().into()), ..Record::default() },
        };
        log.append(vec![record(0), record(1), record(1)], None).await.unwrap();

        let report = gather(&*log, &topics, &declaration, Some(2)).await.unwrap();
        let commands = &report.topics[0];
        assert_eq!(commands.status(), Status::AsDeclared);
        assert_eq!(commands.records(), 3);
        assert_eq!(
            commands.watermarks,
            vec![Watermarks { low: 0, high: 1 }, Watermarks { low: 0, high: 2 }]
        );
        let names: Vec<&str> = report.topics.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names.last(), Some(&"nagare.audit"), "other prefixes are not shown");
        assert_eq!(report.topics.last().map(TopicReport::status), Some(Status::Undeclared));

        let against_eight = gather(&*log, &topics, &declaration, None).await.unwrap();
        let Status::Drift(differences) = against_eight.topics[0].status() else {
            panic!("no drift against the declared 8 partitions")
        };
        assert_eq!(differences, vec!["2 partitions instead of the configured 8".to_owned()]);
        assert_eq!(against_eight.co_partitioning_problem, None, "all have 2, which is consistent");
    }
}
