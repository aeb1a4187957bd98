//! `EventLog` scenarios without consumer groups: topics, appends, reads, watermarks, readers.

use std::sync::Arc;

use bytes::Bytes;

use super::{PATIENCE, unique_name};
use crate::partitioner::partition_for_key;
use crate::{
    Cleanup, Error, EventLog, GroupCommit, OutgoingRecord, Record, Result, TopicPartition,
    TopicSpec, TopicStatus,
};

/// Creates a fresh topic with this many partitions and returns its name.
pub async fn fresh_topic(log: &dyn EventLog, partitions: u32) -> Result<String> {
    let name = unique_name("conformance");
    let spec = TopicSpec {
        name: name.clone(),
        partitions,
        cleanup: Cleanup::Delete { retention_ms: None },
    };
    assert_eq!(log.ensure_topic(&spec).await?, TopicStatus::Created);
    Ok(name)
}

/// A record with a key, a value, a header and a timestamp.
pub fn record(
    topic: &str,
    partition: Option<u32>,
    key: Option<&str>,
    value: &str,
) -> OutgoingRecord {
    OutgoingRecord {
        topic: topic.to_owned(),
        partition,
        record: Record {
            key: key.map(|key| Bytes::copy_from_slice(key.as_bytes())),
            value: Some(Bytes::copy_from_slice(value.as_bytes())),
            headers: vec![("source".to_owned(), Bytes::from_static(b"conformance"))],
            timestamp_ms: 1_700_000_000_000,
        },
    }
}

pub async fn ensure_and_list_topics(log: Arc<dyn EventLog>) -> Result<()> {
    let name = fresh_topic(log.as_ref(), 3).await?;
    let original = TopicSpec {
        name: name.clone(),
        partitions: 3,
        cleanup: Cleanup::Delete { retention_ms: None },
    };
    let redeclared = TopicSpec { partitions: 5, cleanup: Cleanup::Compact, ..original.clone() };
    assert_eq!(
        log.ensure_topic(&redeclared).await?,
        TopicStatus::Existing { actual: original.clone() }
    );
    assert!(log.list_topics().await?.contains(&original));
    assert_eq!(log.partition_count(&name).await?, 3);
    let missing = unique_name("missing");
    assert!(
        matches!(log.partition_count(&missing).await, Err(Error::UnknownTopic(t)) if t == missing)
    );
    Ok(())
}

pub async fn offsets_start_at_zero_and_are_dense(log: Arc<dyn EventLog>) -> Result<()> {
    let topic = fresh_topic(log.as_ref(), 2).await?;
    for expected in 0..5u64 {
        let positions = log
            .append(vec![record(&topic, Some(1), Some("k"), &format!("v{expected}"))], None)
            .await?;
        assert_eq!(positions.len(), 1);
        assert_eq!((positions[0].partition, positions[0].offset), (1, expected));
    }
    let tp = TopicPartition::new(topic.clone(), 1);
    let stored = log.read(&tp, 0, 100).await?;
    let offsets: Vec<u64> = stored.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![0, 1, 2, 3, 4]);
    assert_eq!(stored[3].record, record(&topic, None, Some("k"), "v3").record);
    assert_eq!(log.watermarks(&TopicPartition::new(topic, 0)).await?.high, 0);
    Ok(())
}

pub async fn keys_go_to_their_murmur2_partition(log: Arc<dyn EventLog>) -> Result<()> {
    let topic = fresh_topic(log.as_ref(), 7).await?;
    let keys = ["21", "foobar", "abc", "order-1", "a-little-bit-long-string", "12345"];
    let records = keys.iter().map(|key| record(&topic, None, Some(key), key)).collect();
    let positions = log.append(records, None).await?;
    for (key, position) in keys.iter().zip(&positions) {
        assert_eq!(position.partition, partition_for_key(key.as_bytes(), 7), "key {key}");
    }
    let keyless: Vec<_> = (0..14).map(|i| record(&topic, None, None, &i.to_string())).collect();
    for position in log.append(keyless, None).await? {
        assert!(position.partition < 7);
    }
    let explicit = log.append(vec![record(&topic, Some(6), Some("21"), "x")], None).await?;
    assert_eq!(explicit[0].partition, 6);
    let beyond = log.append(vec![record(&topic, Some(7), None, "x")], None).await;
    assert!(matches!(beyond, Err(Error::UnknownPartition { partition: 7, .. })), "{beyond:?}");
    Ok(())
}

pub async fn batch_append_is_atomic_and_in_order(log: Arc<dyn EventLog>) -> Result<()> {
    let topic = fresh_topic(log.as_ref(), 3).await?;
    let batch: Vec<_> =
        (0..100).map(|i| record(&topic, None, Some("same-key"), &i.to_string())).collect();
    let positions = log.append(batch, None).await?;
    let partition = positions[0].partition;
    for (i, position) in positions.iter().enumerate() {
        assert_eq!((position.partition, position.offset), (partition, i as u64));
    }
    let tp = TopicPartition::new(topic.clone(), partition);
    let values: Vec<_> =
        log.read(&tp, 0, 1000).await?.into_iter().map(|r| r.record.value).collect();
    let expected: Vec<_> = (0..100).map(|i| Some(Bytes::from(i.to_string()))).collect();
    assert_eq!(values, expected);

    // One bad record fails the whole append, and nothing of it is written.
    let missing = unique_name("missing");
    let mixed =
        vec![record(&topic, Some(partition), None, "good"), record(&missing, None, None, "bad")];
    assert!(matches!(log.append(mixed, None).await, Err(Error::UnknownTopic(_))));
    assert_eq!(log.watermarks(&tp).await?.high, 100);
    Ok(())
}

pub async fn multi_topic_append_with_group_commit(log: Arc<dyn EventLog>) -> Result<()> {
    let commands = fresh_topic(log.as_ref(), 2).await?;
    let events = fresh_topic(log.as_ref(), 2).await?;
    let group = unique_name("processor");
    let command_tp = TopicPartition::new(commands.clone(), 0);
    log.append(vec![record(&commands, Some(0), Some("c"), "command")], None).await?;
    let commit = GroupCommit { group: group.clone(), offsets: vec![(command_tp.clone(), 1)] };
    let written = vec![
        record(&events, Some(0), Some("a"), "event-1"),
        record(&events, Some(0), Some("a"), "event-2"),
        record(&commands, Some(1), Some("r"), "reply"),
    ];
    let positions = log.append(written, Some(commit)).await?;
    let placed: Vec<_> =
        positions.iter().map(|p| (p.topic.as_str(), p.partition, p.offset)).collect();
    assert_eq!(
        placed,
        vec![(events.as_str(), 0, 0), (events.as_str(), 0, 1), (commands.as_str(), 1, 0)]
    );
    assert_eq!(log.committed(&group, &command_tp).await?, Some(1));
    assert_eq!(log.committed(&group, &TopicPartition::new(commands, 1)).await?, None);

    // A commit alone, without records.
    let alone = GroupCommit { group: group.clone(), offsets: vec![(command_tp.clone(), 7)] };
    assert!(log.append(Vec::new(), Some(alone)).await?.is_empty());
    assert_eq!(log.committed(&group, &command_tp).await?, Some(7));
    Ok(())
}

/// Appends without their own sync take the same offsets as any append, in order with them, and
/// are read at once; a durable append after them keeps them.
pub async fn appends_without_sync_are_ordered_with_the_rest(log: Arc<dyn EventLog>) -> Result<()> {
    let topic = fresh_topic(log.as_ref(), 2).await?;
    let tp = TopicPartition::new(topic.clone(), 1);
    let mut written = Vec::new();
    for i in 0..6u64 {
        let value = format!("v{i}");
        let one = vec![record(&topic, Some(1), Some("k"), &value)];
        let positions = if i % 2 == 0 {
            log.append_without_sync(one).await?
        } else {
            log.append(one, None).await?
        };
        assert_eq!((positions[0].partition, positions[0].offset), (1, i));
        written.push(Some(Bytes::from(value)));
    }
    let batch: Vec<_> = (0..3).map(|i| record(&topic, Some(1), None, &i.to_string())).collect();
    let positions = log.append_without_sync(batch).await?;
    let offsets: Vec<u64> = positions.iter().map(|p| p.offset).collect();
    assert_eq!(offsets, vec![6, 7, 8], "a batch stays whole and in order");
    let values: Vec<_> = log.read(&tp, 0, 6).await?.into_iter().map(|r| r.record.value).collect();
    assert_eq!(values, written);
    assert_eq!(log.watermarks(&tp).await?.high, 9);
    Ok(())
}

pub async fn read_from_the_middle(log: Arc<dyn EventLog>) -> Result<()> {
    let topic = fresh_topic(log.as_ref(), 1).await?;
    let batch: Vec<_> = (0..10).map(|i| record(&topic, Some(0), None, &i.to_string())).collect();
    log.append(batch, None).await?;
    let tp = TopicPartition::new(topic, 0);
    let offsets: Vec<u64> = log.read(&tp, 4, 3).await?.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![4, 5, 6]);
    assert_eq!(log.read(&tp, 9, 100).await?.len(), 1);
    assert!(log.read(&tp, 10, 100).await?.is_empty());
    let beyond = log.read(&tp, 11, 100).await;
    assert!(
        matches!(beyond, Err(Error::OffsetOutOfRange { offset: 11, high: 10, .. })),
        "{beyond:?}"
    );
    Ok(())
}

/// Reads that go back and forth between topics each return their own topic's records (on
/// Kafka the reads share pooled consumers, each switched from one topic to another).
pub async fn reads_alternate_between_topics(log: Arc<dyn EventLog>) -> Result<()> {
    let mut topics = Vec::new();
    for name in ["first", "second"] {
        let topic = fresh_topic(log.as_ref(), 2).await?;
        let batch: Vec<_> =
            (0..5).map(|i| record(&topic, Some(1), None, &format!("{name}-{i}"))).collect();
        log.append(batch, None).await?;
        topics.push((topic, name));
    }
    for round in 0..2 {
        for (topic, name) in &topics {
            let tp = TopicPartition::new(topic.clone(), 1);
            let values: Vec<String> = log
                .read(&tp, round, 5)
                .await?
                .iter()
                .filter_map(|r| r.record.value.as_ref())
                .map(|value| String::from_utf8_lossy(value).into_owned())
                .collect();
            let expected: Vec<String> = (round..5).map(|i| format!("{name}-{i}")).collect();
            assert_eq!(values, expected, "round {round}, {tp}");
        }
    }
    Ok(())
}

pub async fn watermarks_follow_appends(log: Arc<dyn EventLog>) -> Result<()> {
    let topic = fresh_topic(log.as_ref(), 2).await?;
    let tp = TopicPartition::new(topic.clone(), 1);
    let empty = log.watermarks(&tp).await?;
    assert_eq!((empty.low, empty.high), (0, 0));
    let batch: Vec<_> = (0..3).map(|i| record(&topic, Some(1), None, &i.to_string())).collect();
    log.append(batch, None).await?;
    let after = log.watermarks(&tp).await?;
    assert_eq!(after.high, 3);
    assert!(after.low <= after.high);
    let beyond = log.watermarks(&TopicPartition::new(topic, 2)).await;
    assert!(matches!(beyond, Err(Error::UnknownPartition { .. })), "{beyond:?}");
    Ok(())
}

pub async fn reader_wakes_on_append(log: Arc<dyn EventLog>) -> Result<()> {
    let topic = fresh_topic(log.as_ref(), 2).await?;
    let tps = [TopicPartition::new(topic.clone(), 0), TopicPartition::new(topic.clone(), 1)];
    let mut reader = log.reader(tps.iter().map(|tp| (tp.clone(), 0)).collect()).await?;
    let writer = log.clone();
    let appended = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        writer.append(vec![record(&topic, Some(1), None, "late")], None).await
    });
    let batch = tokio::time::timeout(PATIENCE, reader.next_batch(10))
        .await
        .map_err(|_| Error::Invalid("the reader was not woken by an append".into()))??;
    assert_eq!(batch.len(), 1);
    assert_eq!((batch[0].partition, batch[0].offset), (1, 0));
    assert_eq!(batch[0].record.value, Some(Bytes::from_static(b"late")));
    appended.await.map_err(|e| Error::Invalid(e.to_string()))??;
    Ok(())
}

pub async fn reader_seek(log: Arc<dyn EventLog>) -> Result<()> {
    let topic = fresh_topic(log.as_ref(), 1).await?;
    let batch: Vec<_> = (0..6).map(|i| record(&topic, Some(0), None, &i.to_string())).collect();
    log.append(batch, None).await?;
    let tp = TopicPartition::new(topic.clone(), 0);
    let mut reader = log.reader(vec![(tp.clone(), 2)]).await?;
    let first = tokio::time::timeout(PATIENCE, reader.next_batch(100))
        .await
        .map_err(|_| Error::Invalid("the reader returned nothing".into()))??;
    assert_eq!(first.first().map(|r| r.offset), Some(2));
    reader.seek(&tp, 4).await?;
    let after_seek = tokio::time::timeout(PATIENCE, reader.next_batch(100))
        .await
        .map_err(|_| Error::Invalid("the reader returned nothing after a seek".into()))??;
    let offsets: Vec<u64> = after_seek.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![4, 5]);
    assert!(reader.seek(&TopicPartition::new(topic, 9), 0).await.is_err());
    Ok(())
}
