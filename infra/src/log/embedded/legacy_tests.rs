use bytes::Bytes;

use super::*;
use crate::embedded::open_database;
use crate::log::embedded::{EmbeddedLog, JOURNAL_BYTES};
use crate::log::{Cleanup, EventLog, OutgoingRecord, Record, TopicPartition, TopicSpec};

fn spec(name: &str, partitions: u32) -> TopicSpec {
    TopicSpec { name: name.into(), partitions, cleanup: Cleanup::Delete { retention_ms: None } }
}

fn record(value: &str) -> Record {
    Record {
        key: Some(Bytes::from_static(b"k")),
        value: Some(Bytes::copy_from_slice(value.as_bytes())),
        headers: vec![("h".into(), Bytes::from_static(b"v"))],
        timestamp_ms: 7,
    }
}

/// Writes a log the way layout 1 did: declarations in `topics`, every record in `records`.
/// `orders` (id 0) has two partitions with 3 and 2 records, `empty` (id 1) none.
fn write_layout_1(dir: &std::path::Path, extra: &[(u32, u32, u64)]) -> Result<()> {
    let db = open_database(&dir.join("engine"), JOURNAL_BYTES)?;
    let meta = open_keyspace(&db, "topics")?;
    let records = open_keyspace(&db, LEGACY_RECORDS)?;
    let put = |key: &str, value: Vec<u8>| meta.insert(key, value).map_err(storage_error);
    put("orders", codec::encode_topic(0, &spec("orders", 2)))?;
    put("empty", codec::encode_topic(1, &spec("empty", 1)))?;
    let mut rows = vec![(0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 1, 0), (0, 1, 1)];
    rows.extend_from_slice(extra);
    for (topic, partition, offset) in rows {
        let value = codec::encode_record(&record(&format!("{partition}/{offset}")));
        records.insert(legacy_key(topic, partition, offset), value).map_err(storage_error)?;
    }
    db.persist(fjall::PersistMode::SyncAll).map_err(storage_error)
}

fn values(records: &[crate::StoredRecord]) -> Vec<String> {
    records
        .iter()
        .map(|stored| {
            String::from_utf8_lossy(stored.record.value.as_deref().unwrap_or_default()).into()
        })
        .collect()
}

fn tp(topic: &str, partition: u32) -> TopicPartition {
    TopicPartition { topic: topic.into(), partition }
}

#[tokio::test]
async fn a_layout_1_log_is_moved_to_partition_keyspaces_and_keeps_its_offsets() -> Result<()> {
    let dir = tempfile::tempdir()?;
    write_layout_1(dir.path(), &[])?;
    {
        let log = EmbeddedLog::open(dir.path())?;
        assert_eq!(values(&log.read(&tp("orders", 0), 0, 10).await?), ["0/0", "0/1", "0/2"]);
        assert_eq!(values(&log.read(&tp("orders", 1), 1, 10).await?), ["1/1"]);
        assert_eq!(log.watermarks(&tp("orders", 1)).await?.high, 2);
        assert_eq!(log.watermarks(&tp("empty", 0)).await?.high, 0);
        assert_eq!(log.read(&tp("orders", 0), 0, 10).await?[0].record, record("0/0"));
        // Appends go on from the moved records' offsets.
        let appended =
            OutgoingRecord { topic: "orders".into(), partition: Some(1), record: record("1/2") };
        assert_eq!(log.append(vec![appended], None).await?[0].offset, 2);
    }
    let db = open_database(&dir.path().join("engine"), JOURNAL_BYTES)?;
    assert!(!db.keyspace_exists(LEGACY_RECORDS), "the old keyspace is deleted");
    let meta = open_keyspace(&db, "topics")?;
    let mark = meta.get(codec::LAYOUT_KEY).map_err(storage_error)?;
    assert_eq!(mark.as_deref(), Some(&codec::encode_layout_mark()[..]));
    drop((meta, db));
    // Opening again moves nothing and finds everything.
    let log = EmbeddedLog::open(dir.path())?;
    assert_eq!(values(&log.read(&tp("orders", 1), 0, 10).await?), ["1/0", "1/1", "1/2"]);
    Ok(())
}

#[tokio::test]
async fn a_move_cut_short_by_a_crash_is_done_again_on_the_next_open() -> Result<()> {
    let dir = tempfile::tempdir()?;
    write_layout_1(dir.path(), &[])?;
    {
        // As if a crash came after part of the copy: one partition's keyspace already holds a
        // copied record, the old keyspace is whole, and there is no mark.
        let db = open_database(&dir.path().join("engine"), JOURNAL_BYTES)?;
        let keyspace = open_partition(&db, 0, 0)?;
        keyspace
            .insert(codec::record_key(0), codec::encode_record(&record("0/0")))
            .map_err(storage_error)?;
        db.persist(fjall::PersistMode::SyncAll).map_err(storage_error)?;
    }
    let log = EmbeddedLog::open(dir.path())?;
    assert_eq!(values(&log.read(&tp("orders", 0), 0, 10).await?), ["0/0", "0/1", "0/2"]);
    assert_eq!(log.watermarks(&tp("orders", 0)).await?.high, 3);
    Ok(())
}

#[test]
fn records_of_an_undeclared_partition_keep_the_old_layout() -> Result<()> {
    let dir = tempfile::tempdir()?;
    write_layout_1(dir.path(), &[(0, 5, 0)])?;
    let error = EmbeddedLog::open(dir.path()).expect_err("a record of partition 5 of 2");
    assert!(error.to_string().contains("partition 5 of topic id 0"), "{error}");
    let db = open_database(&dir.path().join("engine"), JOURNAL_BYTES)?;
    assert!(db.keyspace_exists(LEGACY_RECORDS));
    Ok(())
}

#[test]
fn a_log_of_a_newer_layout_is_refused() -> Result<()> {
    let dir = tempfile::tempdir()?;
    drop(EmbeddedLog::open(dir.path())?);
    {
        let db = open_database(&dir.path().join("engine"), JOURNAL_BYTES)?;
        let meta = open_keyspace(&db, "topics")?;
        let mut mark = codec::encode_layout_mark();
        mark[9] = codec::LAYOUT + 1;
        meta.insert(codec::LAYOUT_KEY, mark).map_err(storage_error)?;
        db.persist(fjall::PersistMode::SyncAll).map_err(storage_error)?;
    }
    let error = EmbeddedLog::open(dir.path()).expect_err("layout 3");
    assert!(error.to_string().contains("newer release"), "{error}");
    Ok(())
}
