use std::sync::Arc;

use nagare_infra::Cleanup;

use super::*;

async fn fresh_log() -> (tempfile::TempDir, Arc<dyn EventLog>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("embedded://{}", dir.path().display());
    let log = nagare_infra::open_log(&url).await.unwrap();
    (dir, log)
}

fn declaration() -> Declaration {
    Declaration::builtin().unwrap()
}

#[tokio::test]
async fn ensure_creates_then_keeps_existing_topics() {
    let (_dir, log) = fresh_log().await;
    let topics = Topics::default();
    assert_eq!(ensure_topics(&*log, &topics, Some(4)).await.unwrap(), 4);
    // A second start with another count keeps the existing topics and their count.
    assert_eq!(ensure_topics(&*log, &topics, Some(16)).await.unwrap(), 4);
    let listed = log.list_topics().await.unwrap();
    for declared in declaration().specs(&topics, Some(4)) {
        assert!(listed.contains(&declared), "{declared:?} missing from {listed:?}");
    }
}

#[tokio::test]
async fn without_the_flag_the_declared_count_applies() {
    let (_dir, log) = fresh_log().await;
    let topics = Topics::default();
    assert_eq!(ensure_topics(&*log, &topics, None).await.unwrap(), 8);
    assert_eq!(log.partition_count(&topics.snapshots()).await.unwrap(), 8);
}

#[tokio::test]
async fn outcomes_say_created_then_exists_then_drift() {
    let (_dir, log) = fresh_log().await;
    let topics = Topics::with_prefix("t.");
    let first = apply_declaration(&*log, &topics, &declaration(), Some(2)).await.unwrap();
    assert_eq!(first.len(), 7);
    assert!(first.iter().all(|o| o.state() == "created"), "{first:?}");

    let second = apply_declaration(&*log, &topics, &declaration(), Some(2)).await.unwrap();
    assert!(second.iter().all(|o| o.state() == "exists"), "{second:?}");
    assert!(second[0].details().contains("2 partitions, cleanup delete, retention forever"));

    let third = apply_declaration(&*log, &topics, &declaration(), None).await.unwrap();
    let commands = third.iter().find(|o| o.actual.name == "t.commands").unwrap();
    assert_eq!(commands.state(), "drift");
    assert!(commands.details().contains("2 partitions instead of the configured 8"));
    // Replies have a count of their own, which the flag never changed.
    let replies = third.iter().find(|o| o.actual.name == "t.replies").unwrap();
    assert_eq!(replies.state(), "exists");
}

#[tokio::test]
async fn a_missing_co_partitioned_topic_follows_its_existing_siblings() {
    let (_dir, log) = fresh_log().await;
    let topics = Topics::default();
    // A log of an older release: everything but the order events, with 3 partitions.
    for spec in declaration().specs(&topics, Some(3)) {
        if spec.name != topics.events(nagare_schemas::events::AggregateType::Order) {
            log.ensure_topic(&spec).await.unwrap();
        }
    }
    let outcomes = apply_declaration(&*log, &topics, &declaration(), None).await.unwrap();
    let order = outcomes.iter().find(|o| o.created).unwrap();
    assert_eq!(order.actual.partitions, 3);
    assert!(order.details().contains("to match the co-partitioned topics"), "{order:?}");
    assert_eq!(ensure_topics(&*log, &topics, None).await.unwrap(), 3);
}

#[tokio::test]
async fn mismatched_co_partitioning_is_refused() {
    let (_dir, log) = fresh_log().await;
    let topics = Topics::default();
    log.ensure_topic(&TopicSpec {
        name: topics.commands(),
        partitions: 4,
        cleanup: Cleanup::Delete { retention_ms: None },
    })
    .await
    .unwrap();
    log.ensure_topic(&TopicSpec {
        name: topics.snapshots(),
        partitions: 2,
        cleanup: Cleanup::Compact,
    })
    .await
    .unwrap();
    let message = ensure_topics(&*log, &topics, None).await.unwrap_err().to_string();
    assert!(message.contains("must have the same partition count"), "{message}");
}

#[test]
fn the_shared_count_is_known_only_when_the_siblings_agree() {
    let required = vec!["a".to_owned(), "b".to_owned()];
    let spec = |name: &str, partitions| TopicSpec {
        name: name.into(),
        partitions,
        cleanup: Cleanup::Compact,
    };
    assert_eq!(shared_count(&required, &[]), None);
    assert_eq!(shared_count(&required, &[spec("a", 3), spec("x", 9)]), Some(3));
    assert_eq!(shared_count(&required, &[spec("a", 3), spec("b", 3)]), Some(3));
    assert_eq!(shared_count(&required, &[spec("a", 3), spec("b", 4)]), None);
}
