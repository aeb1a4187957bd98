//! Append throughput of the embedded log under concurrent writers, showing the group commit:
//! many callers' appends share one fsync.
//!
//! ```text
//! cargo run --release -p nagare-infra --example log_throughput
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use nagare_infra::log::embedded::EmbeddedLog;
use nagare_infra::{Cleanup, EventLog, OutgoingRecord, Record, TopicSpec};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const RUN_FOR: Duration = Duration::from_secs(3);

async fn measure(
    log: Arc<EmbeddedLog>,
    topic: &str,
    writers: usize,
    batch: usize,
) -> Result<(), BoxError> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let log = log.clone();
        let topic = topic.to_owned();
        tasks.push(tokio::spawn(async move {
            let value = Bytes::from(vec![0xA5u8; 100]);
            let mut written = 0usize;
            while started.elapsed() < RUN_FOR {
                let records = (0..batch)
                    .map(|i| OutgoingRecord {
                        topic: topic.clone(),
                        partition: None,
                        record: Record {
                            key: Some(Bytes::from(format!("{writer}-{i}"))),
                            value: Some(value.clone()),
                            headers: Vec::new(),
                            timestamp_ms: 0,
                        },
                    })
                    .collect();
                written += log.append(records, None).await?.len();
            }
            Ok::<_, nagare_infra::Error>(written)
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await??;
    }
    let per_sec = total as f64 / started.elapsed().as_secs_f64();
    println!("{writers:>4} writers x batch {batch:>4} of 100 B: {per_sec:>10.0} records/s");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let dir =
        tempfile::Builder::new().prefix("log-throughput-").tempdir_in(std::env::current_dir()?)?;
    let log = Arc::new(EmbeddedLog::open(dir.path())?);
    let spec = TopicSpec {
        name: "throughput".into(),
        partitions: 8,
        cleanup: Cleanup::Delete { retention_ms: None },
    };
    log.ensure_topic(&spec).await?;
    for (writers, batch) in [(1, 1), (64, 1), (1, 100), (16, 100), (1, 1000), (8, 1000)] {
        measure(log.clone(), "throughput", writers, batch).await?;
    }
    Ok(())
}
