//! Topic administration: `ensure_topic` (CreateTopics, or describe what exists) and
//! `list_topics`, with cleanup policy and retention read back through DescribeConfigs.

use std::time::Duration;

use rdkafka::admin::{AdminOptions, ConfigResource, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::error::RDKafkaErrorCode;

use super::broker_quirks;
use super::cluster::{Cluster, REQUEST_TIMEOUT};
use super::errors::broker_error;
use crate::log::{Cleanup, TopicSpec, TopicStatus};
use crate::{Error, Result};

/// How long a new topic may take to appear in the metadata of the broker we ask.
const VISIBLE_TIMEOUT: Duration = Duration::from_secs(15);
/// Kafka's longest topic name.
const MAX_NAME_LEN: usize = 249;

/// Kafka's rules for a topic declaration.
pub(super) fn validate(spec: &TopicSpec) -> Result<()> {
    let name = &spec.name;
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(Error::Invalid(format!(
            "topic name `{name}` must have 1 to {MAX_NAME_LEN} characters"
        )));
    }
    if name == "." || name == ".." {
        return Err(Error::Invalid(format!("`{name}` is not a legal Kafka topic name")));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        return Err(Error::Invalid(format!(
            "topic name `{name}` may only hold ASCII letters, digits, '.', '_' and '-'"
        )));
    }
    if spec.partitions == 0 || i32::try_from(spec.partitions).is_err() {
        return Err(Error::Invalid(format!(
            "topic `{name}` needs 1 to {} partitions, not {}",
            i32::MAX,
            spec.partitions
        )));
    }
    Ok(())
}

/// The topic-level properties of a cleanup policy.
pub(super) fn cleanup_properties(cleanup: Cleanup) -> Vec<(&'static str, String)> {
    match cleanup {
        Cleanup::Compact => vec![("cleanup.policy", "compact".into())],
        Cleanup::Delete { retention_ms } => vec![
            ("cleanup.policy", "delete".into()),
            ("retention.ms", retention_ms.map_or_else(|| "-1".to_owned(), |ms| ms.to_string())),
        ],
    }
}

/// The cleanup policy a topic's configuration describes. A policy of `compact,delete`
/// compacts, so it reads as `Compact`; a retention of -1 (or none) keeps records forever.
pub(super) fn cleanup_of(policy: Option<&str>, retention_ms: Option<&str>) -> Cleanup {
    if policy.is_some_and(|policy| policy.split(',').any(|p| p.trim() == "compact")) {
        return Cleanup::Compact;
    }
    let retention_ms =
        retention_ms.and_then(|ms| ms.trim().parse::<i64>().ok()).filter(|ms| *ms >= 0);
    Cleanup::Delete { retention_ms }
}

fn options() -> AdminOptions {
    AdminOptions::new()
        .request_timeout(Some(REQUEST_TIMEOUT))
        .operation_timeout(Some(REQUEST_TIMEOUT))
}

/// Creates the topic, or reports what exists under its name.
pub(super) async fn ensure(cluster: &Cluster, spec: &TopicSpec) -> Result<TopicStatus> {
    validate(spec)?;
    let properties = cleanup_properties(spec.cleanup);
    let mut new_topic = NewTopic::new(
        &spec.name,
        i32::try_from(spec.partitions).unwrap_or(i32::MAX),
        // -1: the broker's `default.replication.factor`, so a single-broker development
        // cluster and a production cluster both get what their operators configured.
        TopicReplication::Fixed(-1),
    );
    for (key, value) in &properties {
        new_topic = new_topic.set(key, value);
    }
    let results = cluster
        .admin
        .create_topics([&new_topic], &options())
        .await
        .map_err(|error| broker_error(format!("creating topic `{}`", spec.name), &error))?;
    match results.into_iter().next() {
        Some(Ok(_)) => {
            wait_until_visible(cluster, spec).await?;
            tracing::info!(topic = %spec.name, partitions = spec.partitions, cleanup = ?spec.cleanup, "created Kafka topic");
            Ok(TopicStatus::Created)
        }
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => {
            Ok(TopicStatus::Existing { actual: describe(cluster, &spec.name).await? })
        }
        Some(Err((_, code))) => {
            Err(Error::Storage(format!("creating topic `{}` failed: {code}", spec.name)))
        }
        None => {
            Err(Error::Storage(format!("creating topic `{}`: Kafka gave no answer", spec.name)))
        }
    }
}

/// Waits until the metadata shows the new topic with all its partitions, so that the caller
/// can use it at once. Metadata spreads through the cluster asynchronously and there is no
/// notification of it, hence a short, growing pause between requests.
async fn wait_until_visible(cluster: &Cluster, spec: &TopicSpec) -> Result<()> {
    let deadline = tokio::time::Instant::now() + VISIBLE_TIMEOUT;
    let mut pause = Duration::from_millis(10);
    loop {
        if cluster.refresh(&spec.name).await? >= Some(spec.partitions) {
            cluster.remember(&spec.name, spec.partitions);
            return Ok(());
        }
        if tokio::time::Instant::now() + pause > deadline {
            return Err(Error::Storage(format!(
                "topic `{}` was created but did not appear in Kafka's metadata within {} s",
                spec.name,
                VISIBLE_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

/// The declaration of an existing topic: partitions from metadata, cleanup from its config.
pub(super) async fn describe(cluster: &Cluster, name: &str) -> Result<TopicSpec> {
    let partitions =
        cluster.refresh(name).await?.ok_or_else(|| Error::UnknownTopic(name.to_owned()))?;
    let mut cleanups = cleanups(cluster, &[name.to_owned()]).await?;
    let cleanup = cleanups.pop().unwrap_or(broker_quirks::UNDESCRIBED_CLEANUP);
    Ok(TopicSpec { name: name.to_owned(), partitions, cleanup })
}

/// Every topic except Kafka's internal ones (`__consumer_offsets`, and any name starting `__`).
pub(super) async fn list(cluster: &Cluster) -> Result<Vec<TopicSpec>> {
    let (topics, _) = cluster.fetch(None).await?;
    let topics: Vec<_> = topics.into_iter().filter(|t| !t.name.starts_with("__")).collect();
    let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
    let cleanups = cleanups(cluster, &names).await?;
    Ok(topics
        .into_iter()
        .zip(cleanups)
        .map(|(topic, cleanup)| TopicSpec {
            name: topic.name,
            partitions: topic.partitions,
            cleanup,
        })
        .collect())
}

/// The cleanup policy of each topic, in order, in one DescribeConfigs request.
async fn cleanups(cluster: &Cluster, names: &[String]) -> Result<Vec<Cleanup>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let resources: Vec<ResourceSpecifier<'_>> =
        names.iter().map(|name| ResourceSpecifier::Topic(name)).collect();
    let described = cluster.admin.describe_configs(&resources, &options()).await;
    let described = match described {
        Ok(described) => described,
        Err(error) => return Ok(broker_quirks::undescribed(names, &error.to_string())),
    };
    Ok(names
        .iter()
        .zip(described.into_iter().map(Some).chain(std::iter::repeat_with(|| None)))
        .map(|(name, result)| match result {
            Some(Ok(resource)) => cleanup_from(&resource),
            Some(Err(code)) => broker_quirks::undescribed_topic(name, &code.to_string()),
            None => broker_quirks::undescribed_topic(name, "no answer for the topic"),
        })
        .collect())
}

fn cleanup_from(resource: &ConfigResource) -> Cleanup {
    let value = |name: &str| resource.get(name).and_then(|entry| entry.value.as_deref());
    cleanup_of(value("cleanup.policy"), value("retention.ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, partitions: u32) -> TopicSpec {
        TopicSpec { name: name.to_owned(), partitions, cleanup: Cleanup::Compact }
    }

    #[test]
    fn names_and_partition_counts_follow_kafka_rules() {
        assert!(validate(&spec("nagare.commands", 8)).is_ok());
        for (bad, expected) in [
            (spec("", 1), "1 to 249"),
            (spec(&"x".repeat(250), 1), "1 to 249"),
            (spec("..", 1), "not a legal"),
            (spec("with space", 1), "may only hold"),
            (spec("ok", 0), "partitions"),
            (spec("ok", u32::MAX), "partitions"),
        ] {
            let message = validate(&bad).map_err(|e| e.to_string()).err().unwrap_or_default();
            assert!(message.contains(expected), "{}: {message}", bad.name);
        }
    }

    #[test]
    fn cleanup_round_trips_through_topic_properties() {
        for cleanup in [
            Cleanup::Compact,
            Cleanup::Delete { retention_ms: None },
            Cleanup::Delete { retention_ms: Some(86_400_000) },
        ] {
            let properties = cleanup_properties(cleanup);
            let value =
                |key: &str| properties.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str());
            assert_eq!(cleanup_of(value("cleanup.policy"), value("retention.ms")), cleanup);
        }
    }

    #[test]
    fn mixed_policies_and_odd_retentions_read_sensibly() {
        assert_eq!(cleanup_of(Some("compact,delete"), Some("1000")), Cleanup::Compact);
        assert_eq!(cleanup_of(Some("delete"), Some("-1")), Cleanup::Delete { retention_ms: None });
        assert_eq!(
            cleanup_of(Some("delete"), Some("soon")),
            Cleanup::Delete { retention_ms: None }
        );
        assert_eq!(cleanup_of(None, None), Cleanup::Delete { retention_ms: None });
    }
}
