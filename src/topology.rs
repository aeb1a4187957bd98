//! The topics Nagare needs, declared in `infra/kafka/topics.toml`, created when missing and
//! checked when present — at `nagare serve` start-up and by `nagare topics ensure`.
//!
//! The commands topic, every events topic and the snapshots topic must have the same partition
//! count (see [`co_partitioned`]); every other difference from the declaration is reported and
//! left alone, since changing a live topic is a migration, not a set-up step.

mod declaration;
mod drift;
mod retention;

use anyhow::Context;
use nagare_infra::{Cleanup, EventLog, TopicSpec, TopicStatus};
use nagare_schemas::topics::Topics;

pub(crate) use declaration::{Declaration, MAX_PARTITIONS, co_partitioned};
pub(crate) use drift::{Drift, check_co_partitioning, drift, policy, retention_words};

/// What applying the declaration found or did for one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TopicOutcome {
    /// The topic as declared (with `--partitions` applied).
    pub(crate) declared: TopicSpec,
    /// The topic as the log holds it now.
    pub(crate) actual: TopicSpec,
    /// Whether this run created it.
    pub(crate) created: bool,
}

impl TopicOutcome {
    /// How the topic differs from its declaration, if it does.
    pub(crate) fn drift(&self) -> Option<Drift> {
        drift(&self.declared, &self.actual)
    }

    /// `created`, `exists` (as declared) or `drift`.
    pub(crate) fn state(&self) -> &'static str {
        match (self.created, self.drift().is_some()) {
            (true, _) => "created",
            (false, false) => "exists",
            (false, true) => "drift",
        }
    }

    /// What a person needs to know beside the state.
    pub(crate) fn details(&self) -> String {
        let actual = &self.actual;
        match (self.created, self.drift()) {
            (true, None) | (false, None) => match actual.cleanup {
                Cleanup::Compact => format!("{} partitions, cleanup compact", actual.partitions),
                Cleanup::Delete { .. } => format!(
                    "{} partitions, cleanup delete, retention {}",
                    actual.partitions,
                    retention_words(actual.cleanup)
                ),
            },
            (true, Some(drift)) => format!(
                "with {}, to match the co-partitioned topics that already exist",
                drift.differences().join(", ")
            ),
            (false, Some(drift)) => {
                format!("{}; keeping it as it is", drift.differences().join(", "))
            }
        }
    }
}

/// Creates the declared topics the log lacks and reports the others as they are. A missing
/// co-partitioned topic is created with the count its existing siblings share, whatever the
/// declaration says, because a different count would break the single-writer rule.
pub(crate) async fn apply_declaration(
    log: &dyn EventLog,
    topics: &Topics,
    declaration: &Declaration,
    partitions: Option<u32>,
) -> anyhow::Result<Vec<TopicOutcome>> {
    let existing = log.list_topics().await.context("cannot list the topics of the log")?;
    let required = co_partitioned(topics);
    let existing_shared = shared_count(&required, &existing);
    let mut outcomes = Vec::new();
    for declared in declaration.specs(topics, partitions) {
        if let Some(actual) = existing.iter().find(|spec| spec.name == declared.name) {
            outcomes.push(TopicOutcome { declared, actual: actual.clone(), created: false });
            continue;
        }
        let mut wanted = declared.clone();
        if let Some(count) = existing_shared.filter(|_| required.contains(&declared.name)) {
            wanted.partitions = count;
        }
        let status = log
            .ensure_topic(&wanted)
            .await
            .with_context(|| format!("cannot create or inspect topic `{}`", wanted.name))?;
        // Another process may have created it between the listing and now.
        let (actual, created) = match status {
            TopicStatus::Created => (wanted, true),
            TopicStatus::Existing { actual } => (actual, false),
        };
        outcomes.push(TopicOutcome { declared, actual, created });
    }
    Ok(outcomes)
}

/// The partition count the existing co-partitioned topics share, if any exist and they agree.
fn shared_count(required: &[String], existing: &[TopicSpec]) -> Option<u32> {
    let mut counts =
        existing.iter().filter(|spec| required.contains(&spec.name)).map(|spec| spec.partitions);
    let first = counts.next()?;
    counts.all(|count| count == first).then_some(first)
}

/// Start-up of `nagare serve`: applies the declaration, logs what was created and how existing
/// topics drifted, refuses mismatched co-partitioning, and returns the partition count the
/// co-partitioned topics actually have.
pub(crate) async fn ensure_topics(
    log: &dyn EventLog,
    topics: &Topics,
    partitions: Option<u32>,
) -> anyhow::Result<u32> {
    let declaration = Declaration::builtin()?;
    let outcomes = apply_declaration(log, topics, &declaration, partitions).await?;
    for outcome in &outcomes {
        let topic = &outcome.actual.name;
        if outcome.created {
            tracing::info!(%topic, partitions = outcome.actual.partitions, "topic created");
        }
        if let Some(drift) = outcome.drift() {
            if outcome.created {
                tracing::warn!(%topic, "topic `{topic}` created {}", outcome.details());
            } else {
                tracing::warn!(%topic, "{}", drift.describe());
            }
        }
    }
    let actual: Vec<TopicSpec> = outcomes.into_iter().map(|outcome| outcome.actual).collect();
    check_co_partitioning(&co_partitioned(topics), &actual)?;
    let commands = topics.commands();
    let declared = partitions.unwrap_or(declaration.co_partitioned_count());
    Ok(actual.iter().find(|spec| spec.name == commands).map_or(declared, |spec| spec.partitions))
}

#[cfg(test)]
mod tests;
