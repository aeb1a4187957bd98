//! The feed against the embedded log: what catch-up reads, and what it may leave unread.

use bytes::Bytes;
use nagare_infra::{Cleanup, OutgoingRecord, Record, TopicSpec};
use nagare_schemas::events::{CategoryCreated, CategoryEvent, Event};

use super::*;
use crate::envelope::header;

const PARTITIONS: u32 = 2;

struct Fixture {
    _dir: tempfile::TempDir,
    log: Arc<dyn EventLog>,
    topics: Topics,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("embedded://{}", dir.path().display());
    let log = nagare_infra::open_log(&url).await.unwrap_or_else(|e| panic!("{e}"));
    let topics = Topics::default();
    for aggregate in [AggregateType::Category, AggregateType::Product] {
        let spec = TopicSpec {
            name: topics.events(aggregate),
            partitions: PARTITIONS,
            cleanup: Cleanup::Delete { retention_ms: None },
        };
        log.ensure_topic(&spec).await.unwrap_or_else(|e| panic!("{e}"));
    }
    Fixture { _dir: dir, log, topics }
}

fn category_created(id: &str) -> Event {
    Event::Category(CategoryEvent::Created(CategoryCreated {
        category_id: id.into(),
        name: id.into(),
        description: None,
    }))
}

/// Appends a category's first event to partition 0 of the category events topic.
async fn append(f: &Fixture, event: &Event) -> Vec<Position> {
    let record = OutgoingRecord {
        topic: f.topics.events(AggregateType::Category),
        partition: Some(0),
        record: Record {
            key: None,
            value: Some(Bytes::from(codec::encode_event(event))),
            headers: vec![header(metadata::AGGREGATE_VERSION, "1")],
            timestamp_ms: 0,
        },
    };
    f.log.append(vec![record], None).await.unwrap_or_else(|e| panic!("{e}"))
}

async fn caught_up_feed(f: &Fixture) -> CatalogFeed {
    let mut feed =
        CatalogFeed::new(f.log.clone(), &f.topics).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(feed.catch_up().await.unwrap_or_else(|e| panic!("{e}")), 0);
    feed
}

/// What the processor does with an event it decides: applies it, appends it, then tells the
/// feed where it landed.
async fn write_own(f: &Fixture, feed: &mut CatalogFeed, event: &Event) {
    feed.catalog_mut().apply(event, 1);
    let positions = append(f, event).await;
    feed.skip_applied(&positions);
}

#[tokio::test]
async fn events_it_wrote_and_applied_are_not_read_back() {
    let f = fixture().await;
    let mut feed = caught_up_feed(&f).await;
    write_own(&f, &mut feed, &category_created("c1")).await;
    assert_eq!(feed.catch_up().await.unwrap_or_else(|e| panic!("{e}")), 0);
    assert!(feed.catalog().category("c1").is_some());
}

#[tokio::test]
async fn events_before_its_own_are_still_read() {
    let f = fixture().await;
    let mut feed = caught_up_feed(&f).await;
    // Another writer's event lands first; this process's own follows it.
    append(&f, &category_created("theirs")).await;
    write_own(&f, &mut feed, &category_created("ours")).await;
    assert_eq!(feed.catch_up().await.unwrap_or_else(|e| panic!("{e}")), 2);
    assert!(feed.catalog().category("theirs").is_some());
}
