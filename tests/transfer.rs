//! `nagare export` and `nagare import` through the real binary: a log filled with every kind of
//! record is exported, imported elsewhere and compared record by record, with the committed
//! offsets; re-imports, resumed imports and damaged files behave as documented.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bytes::Bytes;
use nagare_infra::{
    Cleanup, EventLog, GroupCommit, OutgoingRecord, Record, StoredRecord, TopicPartition, TopicSpec,
};

const GROUP: &str = "nagare.command-processor";
const COMMANDS: &str = "nagare.commands";
/// More than one append chunk of the import, so chunking and resuming across chunks is covered.
const BIG_PARTITION_RECORDS: u64 = 4500;

/// The topics of the test log: several partition counts and both cleanup policies.
fn specs() -> Vec<TopicSpec> {
    let forever = Cleanup::Delete { retention_ms: None };
    vec![
        TopicSpec { name: COMMANDS.into(), partitions: 3, cleanup: forever },
        TopicSpec { name: "nagare.events.product".into(), partitions: 2, cleanup: forever },
        TopicSpec {
            name: "nagare.replies".into(),
            partitions: 1,
            cleanup: Cleanup::Delete { retention_ms: Some(86_400_000) },
        },
        TopicSpec { name: "nagare.snapshots".into(), partitions: 2, cleanup: Cleanup::Compact },
    ]
}

/// A record whose shape varies with `n`: with and without key, tombstones, no headers, repeated
/// header names, empty values, binary bytes.
fn record(n: u64) -> Record {
    let key = (!n.is_multiple_of(5)).then(|| Bytes::from(format!("aggregate-{}", n % 17)));
    let value = match n % 7 {
        0 => None,
        1 => Some(Bytes::new()),
        _ => Some(Bytes::from((0..(n % 300)).map(|i| (i * 31 + n) as u8).collect::<Vec<u8>>())),
    };
    let headers = match n % 4 {
        0 => Vec::new(),
        1 => vec![("event-type".to_owned(), Bytes::from_static(b"ProductCreated"))],
        2 => vec![
            ("causation".to_owned(), Bytes::from(n.to_string())),
            ("causation".to_owned(), Bytes::new()),
            ("日本".to_owned(), Bytes::from_static(&[0, 255, 7])),
        ],
        _ => vec![("".to_owned(), Bytes::from_static(b"x"))],
    };
    Record { key, value, headers, timestamp_ms: 1_700_000_000_000 + (n as i64) * 37 }
}

async fn open(url: &str) -> std::sync::Arc<dyn EventLog> {
    nagare_infra::open_log(url).await.unwrap_or_else(|error| panic!("cannot open {url}: {error}"))
}

fn embedded_url(dir: &Path) -> String {
    format!("embedded://{}", dir.display())
}

/// Fills a fresh log: every partition of every topic gets records (one gets many, one none),
/// and the processor's group has committed offsets on two commands partitions.
async fn fill(url: &str) {
    let log = open(url).await;
    for spec in specs() {
        log.ensure_topic(&spec).await.unwrap();
    }
    let mut n = 0;
    for spec in specs() {
        for partition in 0..spec.partitions {
            let count = match (spec.name.as_str(), partition) {
                (COMMANDS, 0) => BIG_PARTITION_RECORDS,
                ("nagare.snapshots", 1) => 0,
                _ => 20 + u64::from(partition) * 3,
            };
            let batch: Vec<OutgoingRecord> = (0..count)
                .map(|_| {
                    n += 1;
                    OutgoingRecord {
                        topic: spec.name.clone(),
                        partition: Some(partition),
                        record: record(n),
                    }
                })
                .collect();
            for chunk in batch.chunks(1000) {
                log.append(chunk.to_vec(), None).await.unwrap();
            }
        }
    }
    let commit = GroupCommit {
        group: GROUP.into(),
        offsets: vec![
            (TopicPartition::new(COMMANDS, 0), 4000),
            (TopicPartition::new(COMMANDS, 2), 26),
        ],
    };
    log.commit(commit).await.unwrap();
}

/// Everything a log holds of the test topics: every record with its position, and the
/// processor group's committed offsets.
#[derive(Debug, PartialEq)]
struct Dump {
    records: Vec<StoredRecord>,
    committed: Vec<(u32, Option<u64>)>,
}

async fn dump(url: &str) -> Dump {
    let log = open(url).await;
    dump_log(&*log).await
}

async fn dump_log(log: &dyn EventLog) -> Dump {
    let mut records = Vec::new();
    for spec in specs() {
        for partition in 0..spec.partitions {
            let tp = TopicPartition::new(spec.name.clone(), partition);
            let high = log.watermarks(&tp).await.unwrap().high;
            let mut next = 0;
            while next < high {
                let batch = log.read(&tp, next, 1000).await.unwrap();
                next = batch.last().map_or(high, |record| record.offset + 1);
                records.extend(batch);
            }
        }
    }
    let mut committed = Vec::new();
    for partition in 0..3 {
        let tp = TopicPartition::new(COMMANDS, partition);
        committed.push((partition, log.committed(GROUP, &tp).await.unwrap()));
    }
    Dump { records, committed }
}

fn nagare(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nagare"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the nagare binary")
}

fn export(dir: &Path, log: &str, file: &Path) -> Output {
    nagare(dir, &["export", "--log", log, "--output", &file.display().to_string()])
}

fn import(dir: &Path, log: &str, file: &Path) -> Output {
    nagare(dir, &["import", "--log", log, "--input", &file.display().to_string()])
}

fn succeeded(output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "nagare failed: {}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn failed(output: Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "nagare succeeded where it must fail; stderr: {stderr}");
    stderr
}

/// A source log filled and exported, in a temporary directory of its own.
struct Exported {
    dir: tempfile::TempDir,
    source: Dump,
    file: PathBuf,
}

impl Exported {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let source_url = embedded_url(&dir.path().join("source"));
        fill(&source_url).await;
        let source = dump(&source_url).await;
        let file = dir.path().join("log.nagare");
        let stdout = succeeded(export(dir.path(), &source_url, &file));
        let total = source.records.len();
        assert!(stdout.contains(&format!("4 topics, 8 partitions, {total} records")), "{stdout}");
        Self { dir, source, file }
    }

    fn target_url(&self, name: &str) -> String {
        embedded_url(&self.dir.path().join(name))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_moves_between_embedded_logs_with_every_record_and_the_committed_offsets() {
    let exported = Exported::new().await;
    assert_eq!(exported.source.committed, vec![(0, Some(4000)), (1, None), (2, Some(26))]);
    let target = exported.target_url("target");
    let stdout = succeeded(import(exported.dir.path(), &target, &exported.file));
    let total = exported.source.records.len();
    assert!(
        stdout.contains(&format!("({total} appended, 0 already present, 0 skipped)")),
        "{stdout}"
    );
    assert_eq!(dump(&target).await, exported.source);
    let log = open(&target).await;
    let mut topics: Vec<TopicSpec> = log.list_topics().await.unwrap();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    let mut expected = specs();
    expected.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(topics, expected, "the topics keep their partitions and cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn importing_twice_changes_nothing_and_never_moves_a_group_back() {
    let exported = Exported::new().await;
    let target = exported.target_url("target");
    succeeded(import(exported.dir.path(), &target, &exported.file));
    // The processor went on in the target: a later import must not move its group back.
    {
        let log = open(&target).await;
        let offsets = vec![(TopicPartition::new(COMMANDS, 0), 4400)];
        log.commit(GroupCommit { group: GROUP.into(), offsets }).await.unwrap();
    }
    let stdout = succeeded(import(exported.dir.path(), &target, &exported.file));
    let total = exported.source.records.len();
    assert!(stdout.contains(&format!("(0 appended, {total} already present")), "{stdout}");
    let after = dump(&target).await;
    assert_eq!(after.records, exported.source.records);
    assert_eq!(after.committed, vec![(0, Some(4400)), (1, None), (2, Some(26))]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_import_resumes_after_what_the_target_holds() {
    let exported = Exported::new().await;
    let target = exported.target_url("target");
    // What an import stopped part way leaves: the topics, and a prefix of some partitions
    // (one ending inside an append chunk, one complete).
    {
        let log = open(&target).await;
        for spec in specs() {
            log.ensure_topic(&spec).await.unwrap();
        }
        let prefix: Vec<OutgoingRecord> = exported
            .source
            .records
            .iter()
            .filter(|r| {
                (r.topic == COMMANDS && r.partition == 0 && r.offset < 2345)
                    || r.topic == "nagare.replies"
            })
            .map(|r| OutgoingRecord {
                topic: r.topic.clone(),
                partition: Some(r.partition),
                record: r.record.clone(),
            })
            .collect();
        log.append(prefix, None).await.unwrap();
    }
    let stdout = succeeded(import(exported.dir.path(), &target, &exported.file));
    assert!(stdout.contains("2365 already present"), "{stdout}");
    assert_eq!(dump(&target).await, exported.source);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_holding_other_records_is_refused_before_anything_is_written() {
    let exported = Exported::new().await;
    let target = exported.target_url("target");
    {
        let log = open(&target).await;
        log.ensure_topic(&specs()[1]).await.unwrap();
        let mut other = exported
            .source
            .records
            .iter()
            .find(|r| r.topic == specs()[1].name)
            .unwrap()
            .record
            .clone();
        other.timestamp_ms += 1;
        let record =
            OutgoingRecord { topic: specs()[1].name.clone(), partition: Some(0), record: other };
        log.append(vec![record], None).await.unwrap();
    }
    let stderr = failed(import(exported.dir.path(), &target, &exported.file));
    assert!(
        stderr.contains("`nagare.events.product` partition 0")
            && stderr.contains("at offset 0 that differs"),
        "{stderr}"
    );
    let log = open(&target).await;
    assert_eq!(log.list_topics().await.unwrap().len(), 1, "no topic was created");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_topic_with_another_partition_count_is_refused() {
    let exported = Exported::new().await;
    let target = exported.target_url("target");
    {
        let log = open(&target).await;
        let spec = TopicSpec { partitions: 5, ..specs()[0].clone() };
        log.ensure_topic(&spec).await.unwrap();
    }
    let stderr = failed(import(exported.dir.path(), &target, &exported.file));
    assert!(
        stderr.contains("`nagare.commands` exists in the target log with 5 partitions"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_file_is_refused_naming_the_byte_and_nothing_is_written() {
    let exported = Exported::new().await;
    let bytes = std::fs::read(&exported.file).unwrap();
    let flipped = exported.dir.path().join("flipped.nagare");
    let mut damaged = bytes.clone();
    damaged[bytes.len() / 2] ^= 0x01;
    std::fs::write(&flipped, &damaged).unwrap();
    let truncated = exported.dir.path().join("truncated.nagare");
    std::fs::write(&truncated, &bytes[..bytes.len() - 100]).unwrap();
    let cut_at_frame = exported.dir.path().join("no-trailer.nagare");
    std::fs::write(&cut_at_frame, &bytes[..10]).unwrap();
    let cases =
        [(&flipped, "checksum"), (&truncated, "truncated"), (&cut_at_frame, "without its trailer")];
    for (index, (file, words)) in cases.into_iter().enumerate() {
        let target = exported.target_url(&format!("target-{index}"));
        let stderr = failed(import(exported.dir.path(), &target, file));
        assert!(stderr.contains("at byte") && stderr.contains(words), "{stderr}");
        let log = open(&target).await;
        assert!(log.list_topics().await.unwrap().is_empty(), "{file:?} created topics");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_output_file_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let source = embedded_url(&dir.path().join("source"));
    fill(&source).await;
    let file = dir.path().join("taken.nagare");
    std::fs::write(&file, b"precious").unwrap();
    let stderr = failed(export(dir.path(), &source, &file));
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), b"precious");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(leftovers.len(), 2, "only the source and the file: {leftovers:?}");
}

/// Embedded → Kafka → (again, a no-op) → export from Kafka → embedded: nothing changes on the way.
#[tokio::test(flavor = "multi_thread")]
async fn a_log_moves_from_embedded_to_kafka_and_back() {
    let exported = Exported::new().await;
    let broker = nagare_testkit::Broker::shared();
    let dir = exported.dir.path();
    let stdout = succeeded(import(dir, &broker.url(), &exported.file));
    let total = exported.source.records.len();
    assert!(stdout.contains(&format!("({total} appended")), "{stdout}");
    let log = open(&broker.url()).await;
    assert_eq!(dump_log(&*log).await, exported.source);

    let stdout = succeeded(import(dir, &broker.url(), &exported.file));
    assert!(stdout.contains(&format!("(0 appended, {total} already present")), "{stdout}");

    let from_kafka = dir.join("from-kafka.nagare");
    let stdout = succeeded(export(dir, &broker.url(), &from_kafka));
    assert!(stdout.contains(&format!("4 topics, 8 partitions, {total} records")), "{stdout}");
    let back = exported.target_url("back");
    succeeded(import(dir, &back, &from_kafka));
    assert_eq!(dump(&back).await, exported.source);
}
