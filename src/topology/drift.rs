//! How the log's topics differ from their declaration, in words, and the one difference that
//! stops Nagare: co-partitioned topics with different partition counts.

use anyhow::bail;
use nagare_infra::{Cleanup, TopicSpec};

use super::retention::{format_retention, normalized};

/// How an existing topic differs from its declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Drift {
    pub(crate) declared: TopicSpec,
    pub(crate) actual: TopicSpec,
}

impl Drift {
    /// Each difference, e.g. `4 partitions instead of the configured 8`.
    pub(crate) fn differences(&self) -> Vec<String> {
        let (declared, actual) = (&self.declared, &self.actual);
        let mut parts = Vec::new();
        if declared.partitions != actual.partitions {
            parts.push(format!(
                "{} partitions instead of the configured {}",
                actual.partitions, declared.partitions
            ));
        }
        if policy(declared.cleanup) != policy(actual.cleanup) {
            parts.push(format!(
                "cleanup {} instead of {}",
                policy(actual.cleanup),
                policy(declared.cleanup)
            ));
        } else if retention_of(declared.cleanup) != retention_of(actual.cleanup) {
            parts.push(format!(
                "retention {} instead of {}",
                retention_words(actual.cleanup),
                retention_words(declared.cleanup)
            ));
        }
        parts
    }

    /// One sentence for the start-up log.
    pub(crate) fn describe(&self) -> String {
        format!(
            "topic `{}` exists with {}; keeping it as it is",
            self.actual.name,
            self.differences().join(", ")
        )
    }
}

/// The drift of one topic, if its actual declaration differs from the declared one.
pub(crate) fn drift(declared: &TopicSpec, actual: &TopicSpec) -> Option<Drift> {
    let differs = declared.partitions != actual.partitions
        || policy(declared.cleanup) != policy(actual.cleanup)
        || retention_of(declared.cleanup) != retention_of(actual.cleanup);
    differs.then(|| Drift { declared: declared.clone(), actual: actual.clone() })
}

/// Fails when the topics that must share a partition count (`required`) do not; topics that
/// are absent from `actual` are not judged.
pub(crate) fn check_co_partitioning(
    required: &[String],
    actual: &[TopicSpec],
) -> anyhow::Result<()> {
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

/// `delete` or `compact`, as the declaration and Kafka's `cleanup.policy` write it.
pub(crate) fn policy(cleanup: Cleanup) -> &'static str {
    match cleanup {
        Cleanup::Delete { .. } => "delete",
        Cleanup::Compact => "compact",
    }
}

/// The retention in the declaration's words; a compacted topic has none (`-`).
pub(crate) fn retention_words(cleanup: Cleanup) -> String {
    match cleanup {
        Cleanup::Delete { retention_ms } => format_retention(retention_ms),
        Cleanup::Compact => "-".to_owned(),
    }
}

/// The retention drift is judged on: none for a compacted topic, Kafka's -1 as forever.
fn retention_of(cleanup: Cleanup) -> Option<Option<i64>> {
    match cleanup {
        Cleanup::Delete { retention_ms } => Some(normalized(retention_ms)),
        Cleanup::Compact => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(partitions: u32, cleanup: Cleanup) -> TopicSpec {
        TopicSpec { name: "nagare.replies".into(), partitions, cleanup }
    }

    const FOREVER: Cleanup = Cleanup::Delete { retention_ms: None };
    const ONE_DAY: Cleanup = Cleanup::Delete { retention_ms: Some(86_400_000) };

    #[test]
    fn the_same_topic_has_no_drift() {
        assert_eq!(drift(&spec(8, ONE_DAY), &spec(8, ONE_DAY)), None);
        assert_eq!(drift(&spec(8, Cleanup::Compact), &spec(8, Cleanup::Compact)), None);
    }

    #[test]
    fn kafkas_minus_one_is_the_same_as_forever() {
        let kafka_forever = Cleanup::Delete { retention_ms: Some(-1) };
        assert_eq!(drift(&spec(8, FOREVER), &spec(8, kafka_forever)), None);
    }

    #[test]
    fn each_difference_is_named() {
        let found = drift(&spec(8, ONE_DAY), &spec(4, ONE_DAY)).map(|d| d.describe());
        let found = found.unwrap_or_default();
        assert!(found.contains("4 partitions instead of the configured 8"), "{found}");
        assert!(found.contains("keeping it as it is"), "{found}");

        let found = drift(&spec(8, ONE_DAY), &spec(8, FOREVER)).map(|d| d.differences());
        assert_eq!(found, Some(vec!["retention forever instead of 1d".to_owned()]));

        let found = drift(&spec(8, Cleanup::Compact), &spec(2, FOREVER)).map(|d| d.differences());
        assert_eq!(
            found,
            Some(vec![
                "2 partitions instead of the configured 8".to_owned(),
                "cleanup delete instead of compact".to_owned()
            ])
        );
    }

    fn named(name: &str, partitions: u32) -> TopicSpec {
        TopicSpec { name: name.into(), partitions, cleanup: FOREVER }
    }

    #[test]
    fn mismatched_co_partitioned_counts_are_refused_and_others_may_differ() {
        let required = vec!["a".to_owned(), "b".to_owned()];
        assert!(check_co_partitioning(&required, &[named("a", 4), named("b", 4)]).is_ok());
        assert!(check_co_partitioning(&required, &[named("a", 4), named("c", 1)]).is_ok());
        assert!(check_co_partitioning(&required, &[]).is_ok());
        let message = check_co_partitioning(&required, &[named("a", 8), named("b", 4)])
            .unwrap_err()
            .to_string();
        assert!(message.contains("`b` has 4 partitions but `a` has 8"), "{message}");
    }

    #[test]
    fn words_for_policies_and_retentions() {
        assert_eq!(policy(Cleanup::Compact), "compact");
        assert_eq!(policy(ONE_DAY), "delete");
        assert_eq!(retention_words(ONE_DAY), "1d");
        assert_eq!(retention_words(FOREVER), "forever");
        assert_eq!(retention_words(Cleanup::Compact), "-");
    }
}
