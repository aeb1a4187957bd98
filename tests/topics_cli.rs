//! `nagare topics ensure|describe` as a user runs them: the real binary on a fresh embedded
//! directory, and on a Kafka-protocol broker.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use nagare_infra::{Cleanup, EventLog, OutgoingRecord, Record, TopicSpec};
use serde_json::Value;

/// How long one command may take; a Kafka metadata round trip is the slowest part.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// Topics Nagare declares: commands, three events topics, replies, snapshots, dead letters.
const DECLARED_TOPICS: usize = 7;

/// What a finished `nagare` run left behind.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn succeeded(&self) -> bool {
        self.code == Some(0)
    }

    /// The line of stdout that starts with this topic's name.
    fn line_of(&self, topic: &str) -> &str {
        let prefix = format!("{topic} ");
        self.stdout
            .lines()
            .find(|line| line.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no line for {topic} in:\n{}", self.stdout))
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", self.stdout))
    }
}

/// Runs `nagare ARGS` in `dir` (so a relative default never lands in the repository) with no
/// `NAGARE_*` variable from the environment, waiting at most [`COMMAND_TIMEOUT`].
fn nagare(dir: &Path, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nagare"));
    command.args(args).current_dir(dir).stdin(Stdio::null());
    command.stdout(Stdio::piped()).stderr(Stdio::piped()).env("RUST_LOG", "warn");
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("NAGARE_")) {
        command.env_remove(name);
    }
    let mut child = command.spawn().expect("start nagare");
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    let stderr = drain(child.stderr.take().expect("stderr is piped"));
    let (done, finished) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = done.send(());
        status
    });
    if finished.recv_timeout(COMMAND_TIMEOUT).is_err() {
        panic!("nagare {args:?} did not finish within {COMMAND_TIMEOUT:?}");
    }
    let status = waiter.join().expect("waiter thread").expect("wait for nagare");
    Run {
        code: status.code(),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// A fresh data directory and its log URL.
fn embedded() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("embedded://{}", dir.path().join("data").display());
    (dir, url)
}

/// Appends `count` keyed records to a topic, through the log itself. The embedded log is
/// closed again before returning, so the binary can lock the directory afterwards.
async fn append(url: &str, topic: &str, count: usize) {
    let log: Arc<dyn EventLog> = nagare_infra::open_log(url).await.expect("open the log");
    let records = (0..count)
        .map(|n| OutgoingRecord {
            topic: topic.to_owned(),
            partition: None,
            record: Record {
                key: Some(format!("key-{n}").into_bytes().into()),
                value: Some(b"payload".to_vec().into()),
                ..Record::default()
            },
        })
        .collect();
    log.append(records, None).await.expect("append");
}

#[test]
fn ensure_creates_every_topic_and_a_second_run_finds_them() {
    let (dir, url) = embedded();
    let first = nagare(dir.path(), &["topics", "ensure", "--log", &url]);
    assert!(first.succeeded(), "{first:?}");
    for topic in ["commands", "events.category", "events.product", "events.order", "snapshots"] {
        let line = first.line_of(&format!("nagare.{topic}"));
        assert!(line.contains(" created ") && line.contains("8 partitions"), "{line}");
    }
    assert!(first.line_of("nagare.snapshots").contains("cleanup compact"), "{first:?}");
    assert!(first.line_of("nagare.replies").contains("retention 1d"), "{first:?}");
    assert!(first.line_of("nagare.commands").contains("retention forever"), "{first:?}");
    assert!(first.stdout.contains("7 topics: 7 created, 0 as declared, 0 with drift"), "{first:?}");

    let second = nagare(dir.path(), &["topics", "ensure", "--log", &url]);
    assert!(second.succeeded(), "{second:?}");
    assert!(second.line_of("nagare.commands").contains(" exists "), "{second:?}");
    assert!(
        second.stdout.contains("7 topics: 0 created, 7 as declared, 0 with drift"),
        "{second:?}"
    );
}

#[test]
fn describe_shows_missing_topics_then_partitions_and_records() {
    let (dir, url) = embedded();
    let before = nagare(dir.path(), &["topics", "describe", "--log", &url, "--json"]);
    assert!(before.succeeded(), "a missing topic is no error: {before:?}");
    let document = before.json();
    let topics = document["topics"].as_array().expect("topics array");
    assert_eq!(topics.len(), DECLARED_TOPICS, "{document:#}");
    assert!(
        topics.iter().all(|t| t["status"] == "missing" && t["actual"].is_null()),
        "{document:#}"
    );

    let ensured = nagare(dir.path(), &["topics", "ensure", "--log", &url, "--partitions", "2"]);
    assert!(ensured.succeeded(), "{ensured:?}");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(append(&url, "nagare.commands", 5));

    let table = nagare(dir.path(), &["topics", "describe", "--log", &url, "--partitions", "2"]);
    assert!(table.succeeded(), "{table:?}");
    let commands: Vec<&str> = table.line_of("nagare.commands").split_whitespace().collect();
    assert_eq!(&commands[1..5], ["2/2", "delete/delete", "forever/forever", "5"], "{table:?}");
    assert_eq!(commands.last(), Some(&"none"), "{table:?}");
    let replies: Vec<&str> = table.line_of("nagare.replies").split_whitespace().collect();
    assert_eq!(&replies[1..5], ["8/8", "delete/delete", "1d/1d", "0"], "{table:?}");
    assert!(table.stdout.contains("co-partitioning: ok"), "{table:?}");

    let detail = nagare(dir.path(), &["topics", "describe", "--log", &url, "--partitions-detail"]);
    assert!(detail.succeeded(), "{detail:?}");
    assert!(detail.stdout.contains("    partition 1: low 0, high "), "{detail:?}");

    let json = nagare(dir.path(), &["topics", "describe", "--log", &url, "--json"]).json();
    let commands = &json["topics"][0];
    assert_eq!(commands["name"], "nagare.commands");
    assert_eq!(commands["records"], 5);
    let highs: u64 = commands["partitions"]
        .as_array()
        .expect("partitions array")
        .iter()
        .map(|p| p["high"].as_u64().expect("a high watermark"))
        .sum();
    assert_eq!(highs, 5);
    // Without the flag the declared 8 applies, and the 2 partitions are drift.
    assert_eq!(commands["status"], "drift");
    assert_eq!(commands["drift"][0], "2 partitions instead of the configured 8");
    assert_eq!(json["co_partitioning"]["ok"], true);
    assert!(json["compaction"].is_boolean(), "{json:#}");
}

#[test]
fn a_log_made_with_another_partition_count_is_reported_as_drift() {
    let (dir, url) = embedded();
    let made = nagare(dir.path(), &["topics", "ensure", "--log", &url, "--partitions", "4"]);
    assert!(made.succeeded(), "{made:?}");

    let again = nagare(dir.path(), &["topics", "ensure", "--log", &url]);
    assert!(again.succeeded(), "consistent drift is no failure: {again:?}");
    let line = again.line_of("nagare.events.order");
    assert!(line.contains(" drift "), "{line}");
    assert!(line.contains("4 partitions instead of the configured 8"), "{line}");
    assert!(again.line_of("nagare.replies").contains(" exists "), "{again:?}");
    assert!(again.stdout.contains("drift is reported, not repaired"), "{again:?}");

    let table = nagare(dir.path(), &["topics", "describe", "--log", &url]);
    let snapshots: Vec<&str> = table.line_of("nagare.snapshots").split_whitespace().collect();
    assert_eq!(snapshots[1], "8/4", "{table:?}");
}

#[test]
fn mismatched_co_partitioning_exits_1_and_says_why() {
    let (dir, url) = embedded();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let log = nagare_infra::open_log(&url).await.expect("open the log");
        let forever = Cleanup::Delete { retention_ms: None };
        for (name, partitions) in [("nagare.commands", 4), ("nagare.events.order", 2)] {
            let spec = TopicSpec { name: name.into(), partitions, cleanup: forever };
            log.ensure_topic(&spec).await.expect("create a topic");
        }
    });
    let run = nagare(dir.path(), &["topics", "ensure", "--log", &url]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("must have the same partition count"), "{run:?}");
    // Every topic still got its line, so the user sees the whole picture.
    assert_eq!(run.stdout.lines().filter(|l| l.starts_with("nagare.")).count(), DECLARED_TOPICS);

    let described = nagare(dir.path(), &["topics", "describe", "--log", &url, "--json"]);
    assert!(described.succeeded(), "describe shows a problem, it does not fail: {described:?}");
    let document = described.json();
    assert_eq!(document["co_partitioning"]["ok"], false, "{document:#}");
}

#[test]
fn other_topics_with_the_prefix_are_shown_as_not_declared() {
    let (dir, url) = embedded();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let log = nagare_infra::open_log(&url).await.expect("open the log");
        for name in ["shop.audit", "elsewhere.audit"] {
            let spec = TopicSpec { name: name.into(), partitions: 1, cleanup: Cleanup::Compact };
            log.ensure_topic(&spec).await.expect("create a topic");
        }
    });
    let run = nagare(dir.path(), &["topics", "describe", "--log", &url, "--topic-prefix", "shop."]);
    assert!(run.succeeded(), "{run:?}");
    assert!(run.line_of("shop.audit").ends_with("not declared"), "{run:?}");
    assert!(run.line_of("shop.commands").ends_with("missing"), "{run:?}");
    assert!(!run.stdout.contains("elsewhere.audit"), "{run:?}");
}

#[test]
fn help_explains_every_flag() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let ensure = nagare(dir.path(), &["topics", "ensure", "--help"]);
    assert!(ensure.succeeded(), "{ensure:?}");
    for flag in ["--log <URL>", "--topic-prefix", "--partitions <N>", "NAGARE_PARTITIONS"] {
        assert!(ensure.stdout.contains(flag), "`{flag}` missing from:\n{}", ensure.stdout);
    }
    let describe = nagare(dir.path(), &["topics", "describe", "--help"]);
    for flag in ["--log <URL>", "--partitions <N>", "--json", "--partitions-detail"] {
        assert!(describe.stdout.contains(flag), "`{flag}` missing from:\n{}", describe.stdout);
    }
}

/// The same commands against a Kafka-protocol broker. The broker must be installed
/// (`scripts/test` does it): without it this test fails, it is never skipped.
#[test]
fn ensure_and_describe_on_kafka() {
    let broker = nagare_testkit::Broker::shared();
    let url = broker.url();
    let dir = tempfile::tempdir().expect("temporary directory");
    // A prefix of this test's own: the broker outlives the test within its process.
    let prefix = format!("topics-{}.", uuid::Uuid::new_v4().simple());
    let on_kafka = |subcommand: &str, extra: &[&str]| {
        let mut args = vec!["topics", subcommand, "--log", &url, "--topic-prefix", &prefix];
        args.extend(extra);
        nagare(dir.path(), &args)
    };

    let first = on_kafka("ensure", &["--partitions", "3"]);
    assert!(first.succeeded(), "{first:?}");
    let commands = format!("{prefix}commands");
    assert!(first.line_of(&commands).contains(" created "), "{first:?}");

    let second = on_kafka("ensure", &["--partitions", "3"]);
    assert!(second.succeeded(), "{second:?}");
    assert!(second.stdout.contains("0 created, 7 as declared, 0 with drift"), "{second:?}");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(append(&url, &commands, 6));

    let described = on_kafka("describe", &["--json", "--partitions", "3"]);
    assert!(described.succeeded(), "{described:?}");
    let document = described.json();
    let topic = document["topics"]
        .as_array()
        .and_then(|topics| topics.iter().find(|t| t["name"] == commands.as_str()))
        .unwrap_or_else(|| panic!("{commands} not described: {document:#}"));
    assert_eq!(topic["status"], "ok", "{document:#}");
    assert_eq!(topic["records"], 6, "{document:#}");
    assert_eq!(topic["partitions"].as_array().map(Vec::len), Some(3), "{document:#}");
    let snapshots = format!("{prefix}snapshots");
    let snapshots = document["topics"]
        .as_array()
        .and_then(|topics| topics.iter().find(|t| t["name"] == snapshots.as_str()))
        .unwrap_or_else(|| panic!("snapshots not described: {document:#}"));
    assert_eq!(snapshots["actual"]["cleanup"], "compact", "{document:#}");
    let table = on_kafka("describe", &["--partitions", "3"]);
    assert!(table.line_of(&commands).split_whitespace().any(|cell| cell == "6"), "{table:?}");
}
