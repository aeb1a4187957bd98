//! What only the embedded backends promise: data survives closing and `kill -9`, a data
//! directory has one owner, and concurrent writers are merged without gaps or duplicates.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use nagare_infra::log::embedded::EmbeddedLog;
use nagare_infra::store::embedded::EmbeddedStore;
use nagare_infra::{
    Checkpoint, Cleanup, Error, EventLog, GroupCommit, OutgoingRecord, ReadStore, Record, Result,
    RowKey, TopicPartition, TopicSpec, WriteBatch, WriteOp,
};

/// Writer tasks run at once in the concurrency tests.
const WRITERS: usize = 32;

/// Runs `WRITERS` tasks at once, each given `shared` and its number, and gathers what they
/// return; the first failure (or panic) fails the test.
async fn concurrently<S, T, F, Fut>(shared: &Arc<S>, task: F) -> Result<Vec<T>>
where
    S: Send + Sync + 'static,
    T: Send + 'static,
    F: Fn(Arc<S>, usize) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>>> + Send + 'static,
{
    let tasks: Vec<_> =
        (0..WRITERS).map(|writer| tokio::spawn(task(Arc::clone(shared), writer))).collect();
    let mut gathered = Vec::new();
    for task in tasks {
        gathered.extend(task.await.map_err(|e| Error::Invalid(e.to_string()))??);
    }
    Ok(gathered)
}

fn spec(name: &str, partitions: u32) -> TopicSpec {
    TopicSpec { name: name.to_owned(), partitions, cleanup: Cleanup::Compact }
}

fn record(topic: &str, key: &str) -> OutgoingRecord {
    OutgoingRecord {
        topic: topic.to_owned(),
        partition: None,
        record: Record {
            key: Some(Bytes::copy_from_slice(key.as_bytes())),
            value: Some(Bytes::copy_from_slice(key.as_bytes())),
            headers: Vec::new(),
            timestamp_ms: 0,
        },
    }
}

#[tokio::test]
async fn log_reopened_after_drop_sees_everything() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let tp = TopicPartition::new("orders", 0);
    {
        let log = EmbeddedLog::open(dir.path())?;
        log.ensure_topic(&spec("orders", 1)).await?;
        let commit = GroupCommit { group: "g".into(), offsets: vec![(tp.clone(), 2)] };
        log.append(vec![record("orders", "a"), record("orders", "b")], Some(commit)).await?;
        // Last, and left to the close to fsync.
        log.append_without_sync(vec![record("orders", "c")]).await?;
        assert!(matches!(EmbeddedLog::open(dir.path()), Err(Error::Locked { .. })));
    }
    let log = EmbeddedLog::open(dir.path())?;
    assert_eq!(log.list_topics().await?, vec![spec("orders", 1)]);
    assert_eq!(log.watermarks(&tp).await?.high, 3);
    let keys: Vec<_> = log.read(&tp, 0, 10).await?.into_iter().map(|r| r.record.key).collect();
    let expected: Vec<_> = ["a", "b", "c"].map(|k| Some(Bytes::from(k))).into();
    assert_eq!(keys, expected);
    assert_eq!(log.committed("g", &tp).await?, Some(2));
    // Offsets continue where they stopped.
    assert_eq!(log.append(vec![record("orders", "d")], None).await?[0].offset, 3);
    Ok(())
}

/// Recent records are read from memory and older ones from the engine; every range, whichever
/// serves it or both, reads the same records.
#[tokio::test]
async fn reads_from_the_in_memory_tail_and_from_the_engine_agree() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let tp = TopicPartition::new("events", 0);
    let keys = |records: Vec<nagare_infra::StoredRecord>| -> Vec<(u64, String)> {
        records
            .into_iter()
            .map(|r| (r.offset, String::from_utf8_lossy(&r.record.key.unwrap_or_default()).into()))
            .collect()
    };
    let expected = |from: u64, to: u64| -> Vec<(u64, String)> {
        (from..to).map(|n| (n, format!("k{n}"))).collect()
    };
    {
        let log = EmbeddedLog::open(dir.path())?;
        log.ensure_topic(&spec("events", 1)).await?;
        for first in (0..1500).step_by(7) {
            let batch = (first..(first + 7).min(1500)).map(|n| record("events", &format!("k{n}")));
            log.append(batch.collect(), None).await?;
        }
        for (from, max) in [(0, 1500), (1490, 100), (1000, 500), (700, 20), (1499, 1)] {
            let to = (from + max).min(1500);
            assert_eq!(keys(log.read(&tp, from, max as usize).await?), expected(from, to));
        }
    }
    let log = EmbeddedLog::open(dir.path())?;
    log.append((1500..1505).map(|n| record("events", &format!("k{n}"))).collect(), None).await?;
    assert_eq!(keys(log.read(&tp, 1490, 100).await?), expected(1490, 1505));
    assert_eq!(keys(log.read(&tp, 1502, 100).await?), expected(1502, 1505));
    Ok(())
}

#[tokio::test]
async fn store_reopened_after_drop_sees_everything() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let key = RowKey { partition: Bytes::from_static(b"p"), clustering: Bytes::from_static(b"c") };
    let checkpoint = Checkpoint {
        projection: "products".into(),
        tp: TopicPartition::new("e", 1),
        next_offset: 9,
    };
    {
        let store = EmbeddedStore::open(dir.path())?;
        store.ensure_table("products").await?;
        let put = WriteOp::Put { table: "products".into(), key: key.clone(), value: "v".into() };
        store.write(WriteBatch { ops: vec![put], checkpoints: vec![checkpoint.clone()] }).await?;
        assert!(matches!(EmbeddedStore::open(dir.path()), Err(Error::Locked { .. })));
    }
    let store = EmbeddedStore::open(dir.path())?;
    assert_eq!(store.get("products", &key).await?, Some(Bytes::from_static(b"v")));
    assert_eq!(store.checkpoints("products").await?, vec![checkpoint]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_get_dense_distinct_offsets() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let log = Arc::new(EmbeddedLog::open(dir.path())?);
    log.ensure_topic(&spec("busy", 3)).await?;
    let positions = concurrently(&log, |log, writer| async move {
        let mut positions = Vec::new();
        for n in 0..25 {
            positions
                .extend(log.append(vec![record("busy", &format!("{writer}-{n}"))], None).await?);
        }
        Ok(positions)
    })
    .await?;
    let mut per_partition: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for position in positions {
        per_partition.entry(position.partition).or_default().push(position.offset);
    }
    let mut total = 0;
    for (partition, mut offsets) in per_partition {
        offsets.sort_unstable();
        let expected: Vec<u64> = (0..offsets.len() as u64).collect();
        assert_eq!(offsets, expected, "partition {partition}");
        total += offsets.len();
        assert_eq!(
            log.watermarks(&TopicPartition::new("busy", partition)).await?.high,
            expected.len() as u64
        );
    }
    assert_eq!(total, WRITERS * 25);
    Ok(())
}

/// The writer commits appends without an fsync ahead of those that wait for one; writers of
/// both kinds on the same partitions must still get dense, distinct offsets, each holding the
/// record it was given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_with_and_without_fsync_share_partitions_without_gaps_or_overlaps() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let log = Arc::new(EmbeddedLog::open(dir.path())?);
    log.ensure_topic(&spec("mixed", 2)).await?;
    let written = concurrently(&log, |log, writer| async move {
        let mut written = Vec::new();
        for n in 0..25 {
            let key = format!("{writer}-{n}");
            let batch = vec![record("mixed", &key), record("mixed", &format!("{key}b"))];
            let positions = if writer % 2 == 0 {
                log.append(batch, None).await?
            } else {
                log.append_without_sync(batch).await?
            };
            written.push((key.clone(), positions[0].clone()));
            written.push((format!("{key}b"), positions[1].clone()));
        }
        Ok(written)
    })
    .await?;
    let mut by_position = BTreeMap::new();
    for (key, position) in written {
        let previous = by_position.insert((position.partition, position.offset), key);
        assert!(previous.is_none(), "two records at {position:?}");
    }
    assert_eq!(by_position.len(), WRITERS * 25 * 2);
    for partition in 0..2 {
        let tp = TopicPartition::new("mixed", partition);
        let high = log.watermarks(&tp).await?.high;
        let stored = log.read(&tp, 0, high as usize).await?;
        assert_eq!(stored.len() as u64, high, "partition {partition} has a gap");
        for record in stored {
            let key = &by_position[&(partition, record.offset)];
            assert_eq!(record.record.value.as_deref(), Some(key.as_bytes()));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_store_writes_are_all_applied() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(EmbeddedStore::open(dir.path())?);
    store.ensure_table("rows").await?;
    concurrently(&store, |store, writer| async move {
        let writer = u8::try_from(writer).map_err(|e| Error::Invalid(e.to_string()))?;
        for n in 0..20u8 {
            let key =
                RowKey { partition: Bytes::from(vec![writer]), clustering: Bytes::from(vec![n]) };
            let put =
                WriteOp::Put { table: "rows".into(), key, value: Bytes::from(vec![writer, n]) };
            let checkpoint = Checkpoint {
                projection: "p".into(),
                tp: TopicPartition::new("e", u32::from(writer)),
                next_offset: u64::from(n) + 1,
            };
            store.write(WriteBatch { ops: vec![put], checkpoints: vec![checkpoint] }).await?;
        }
        Ok(Vec::<()>::new())
    })
    .await?;
    for writer in 0..WRITERS as u8 {
        let page = store.scan("rows", &[writer], None, 100).await?;
        let values: Vec<_> = page.rows.into_iter().map(|(_, value)| value).collect();
        let expected: Vec<_> = (0..20u8).map(|n| Bytes::from(vec![writer, n])).collect();
        assert_eq!(values, expected);
    }
    let checkpoints = store.checkpoints("p").await?;
    assert_eq!(checkpoints.len(), WRITERS);
    assert!(checkpoints.iter().all(|c| c.next_offset == 20));
    Ok(())
}

/// Set in the child process of the crash test: the directory it appends to until killed.
const CRASH_CHILD_DIR: &str = "NAGARE_CRASH_TEST_DIR";
const CRASH_TOPIC: &str = "crash";

/// The child: eight writers append as fast as they can and print each acknowledged record.
fn append_until_killed(dir: &str) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let log = Arc::new(EmbeddedLog::open(dir)?);
        log.ensure_topic(&spec(CRASH_TOPIC, 4)).await?;
        let mut writers = Vec::new();
        for writer in 0..8 {
            let log = log.clone();
            writers.push(tokio::spawn(async move {
                for n in 0u64.. {
                    let batch: Vec<_> = (0..1 + n % 5)
                        .map(|i| record(CRASH_TOPIC, &format!("{writer}-{n}-{i}")))
                        .collect();
                    let keys: Vec<_> = batch.iter().filter_map(|r| r.record.key.clone()).collect();
                    // Half the writers leave their fsync to the next durable append: the
                    // operating system keeps their records through kill -9 all the same.
                    let positions = if writer % 2 == 0 {
                        log.append(batch, None).await?
                    } else {
                        log.append_without_sync(batch).await?
                    };
                    let mut out = std::io::stdout().lock();
                    for (position, key) in positions.iter().zip(keys) {
                        let key = String::from_utf8_lossy(&key).into_owned();
                        writeln!(out, "ACK {} {} {key}", position.partition, position.offset)?;
                    }
                    out.flush()?;
                }
                Ok::<_, Error>(())
            }));
        }
        for writer in writers {
            writer.await.map_err(|e| Error::Invalid(e.to_string()))??;
        }
        Ok(())
    })
}

#[test]
fn acknowledged_appends_survive_kill_9() -> Result<()> {
    if let Ok(dir) = std::env::var(CRASH_CHILD_DIR) {
        return append_until_killed(&dir);
    }
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--exact", "acknowledged_appends_survive_kill_9", "--nocapture", "--test-threads=1"])
        .env(CRASH_CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| Error::Invalid("no child stdout".into()))?;
    let mut acked: Vec<(u32, u64, String)> = Vec::new();
    let started = Instant::now();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        let fields: Vec<&str> = line.split(' ').collect();
        if let ["ACK", partition, offset, key] = fields.as_slice()
            && let (Ok(partition), Ok(offset)) = (partition.parse(), offset.parse())
        {
            acked.push((partition, offset, (*key).to_owned()));
        }
        if acked.len() >= 3000 || started.elapsed() > Duration::from_secs(60) {
            break;
        }
    }
    child.kill()?; // SIGKILL: no destructor, no flush, no unlock but the kernel's.
    child.wait()?;
    assert!(acked.len() >= 100, "the child acknowledged only {} records", acked.len());

    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let log = EmbeddedLog::open(dir.path())?;
        for (partition, offset, key) in &acked {
            let tp = TopicPartition::new(CRASH_TOPIC, *partition);
            let found = log.read(&tp, *offset, 1).await?;
            let stored = found.first().and_then(|r| r.record.key.clone());
            assert_eq!(
                stored,
                Some(Bytes::copy_from_slice(key.as_bytes())),
                "{tp} offset {offset}"
            );
        }
        // What survived is dense: every offset below each high watermark reads back.
        for partition in 0..4 {
            let tp = TopicPartition::new(CRASH_TOPIC, partition);
            let high = log.watermarks(&tp).await?.high;
            assert_eq!(log.read(&tp, 0, usize::MAX).await?.len() as u64, high);
        }
        Ok(())
    })
}
