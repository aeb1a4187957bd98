//! `append`: raw batched appends through the `EventLog` port, durable, on a fresh topic; and,
//! in the same run on the same disk, the storage engine's own batched durable write rate, so
//! the ratio between them holds on a noisy machine.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use nagare_infra::{Cleanup, EventLog, OutgoingRecord, Record, TopicSpec};
use tokio::time::Instant;

use crate::latency::LatencyRecorder;
use crate::measurement::Measurement;
use crate::process::ProcessUsage;
use crate::progress::Progress;
use crate::report::{Report, Target};
use crate::scenario::Scenario;
use crate::scratch::{ScenarioLog, scratch_dir, unique_name};

/// Partitions of the benchmark topic: the count Nagare declares for its own topics.
const PARTITIONS: u32 = 8;
/// The targets for 100-byte records.
const TARGET_RECORDS_PER_SECOND: f64 = 500_000.0;
const TARGET_SHARE_OF_RAW_ENGINE: f64 = 0.5;
/// Limits that keep a mistyped flag from exhausting memory or running for days.
pub const MAX_RECORD_SIZE: usize = 1024 * 1024;
pub const MAX_BATCH: usize = 100_000;
pub const MAX_WRITERS: usize = 1024;

/// Settings of the `append` scenario.
#[derive(Debug, Clone)]
pub struct AppendScenario {
    /// The log to append to; `None` makes a fresh embedded log in a temporary directory
    /// under `scratch_dir`.
    pub log_url: Option<String>,
    /// Where temporary data goes: the embedded log (when `log_url` is `None`) and the raw
    /// engine's baseline, so both write to the same disk.
    pub scratch_dir: PathBuf,
    pub record_size: usize,
    /// Records per append call (one durable write each).
    pub batch: usize,
    /// Concurrent appending tasks.
    pub writers: usize,
    /// Records in total, shared among the writers.
    pub records: u64,
}

impl AppendScenario {
    fn validate(&self) -> anyhow::Result<()> {
        let check = |name: &str, value: usize, max: usize| {
            if value == 0 || value > max {
                anyhow::bail!("--{name} must be between 1 and {max}, not {value}");
            }
            Ok(())
        };
        check("record-size", self.record_size, MAX_RECORD_SIZE)?;
        check("batch", self.batch, MAX_BATCH)?;
        check("writers", self.writers, MAX_WRITERS)?;
        if self.records == 0 {
            anyhow::bail!("--records must be at least 1");
        }
        Ok(())
    }

    /// The share of `records` writer `index` appends: an even split, remainder to the first.
    fn share(&self, index: usize) -> u64 {
        let writers = self.writers as u64;
        self.records / writers + u64::from((index as u64) < self.records % writers)
    }
}

impl Scenario for AppendScenario {
    fn name(&self) -> &'static str {
        "append"
    }

    async fn run(&self) -> anyhow::Result<Report> {
        self.validate()?;
        let scratch = scratch_dir(&self.scratch_dir)?;
        // The URL itself is needed only for the plain Kafka client baselines.
        #[cfg_attr(not(feature = "kafka"), allow(unused_variables))]
        let ScenarioLog { url: log_url, backend, log } =
            ScenarioLog::open(self.log_url.as_deref(), &scratch).await?;
        let through_log = append_through_log(self, log.clone(), &backend).await?;
        let baseline = match backend.as_str() {
            #[cfg(feature = "kafka")]
            "kafka" => {
                let topic = fresh_topic();
                log.ensure_topic(&topic_spec(&topic)).await?;
                crate::kafka_baseline::KafkaBaseline::from_url(&log_url)?
                    .produce(&topic, PARTITIONS, self.records, self.record_size)
                    .await?
            }
            _ => append_raw_fjall(self, &scratch.path().join("raw-fjall")).await?,
        };

        let ratio = through_log.ops_per_second() / baseline.ops_per_second().max(f64::MIN_POSITIVE);
        let mut targets = Vec::new();
        if backend == "embedded" {
            targets.push(Target::at_least(
                "share of the raw engine's rate",
                TARGET_SHARE_OF_RAW_ENGINE,
                ratio,
            ));
            if self.record_size <= 100 {
                targets.insert(
                    0,
                    Target::at_least(
                        "records/s (100 B)",
                        TARGET_RECORDS_PER_SECOND,
                        through_log.ops_per_second(),
                    ),
                );
            }
        }
        let ratio_name =
            if backend == "embedded" { "ratio_to_raw_engine" } else { "ratio_to_plain_rdkafka" };
        Ok(Report {
            measurements: vec![through_log, baseline],
            extras: vec![
                ("record_size".into(), self.record_size as f64),
                ("batch".into(), self.batch as f64),
                ("writers".into(), self.writers as f64),
                (ratio_name.into(), ratio),
            ],
            targets,
        })
    }
}

/// A topic name no earlier run used, so every run starts on an empty topic.
fn fresh_topic() -> String {
    unique_name("nagare.bench.append-")
}

fn topic_spec(name: &str) -> TopicSpec {
    TopicSpec {
        name: name.to_owned(),
        partitions: PARTITIONS,
        cleanup: Cleanup::Delete { retention_ms: None },
    }
}

async fn append_through_log(
    settings: &AppendScenario,
    log: Arc<dyn EventLog>,
    backend: &str,
) -> anyhow::Result<Measurement> {
    let topic = fresh_topic();
    log.ensure_topic(&topic_spec(&topic)).await?;
    let value = Bytes::from(vec![0xA5u8; settings.record_size]);
    let progress = Progress::start(format!("append {backend}"), Some(settings.records));
    let usage_before = ProcessUsage::current()?;
    let started = Instant::now();
    let mut writers = Vec::with_capacity(settings.writers);
    for index in 0..settings.writers {
        let (log, topic, value) = (log.clone(), topic.clone(), value.clone());
        let (share, batch, counter) =
            (settings.share(index), settings.batch as u64, progress.counter());
        let partition = u32::try_from(index).unwrap_or(0) % PARTITIONS;
        writers.push(tokio::spawn(async move {
            let mut latency = LatencyRecorder::new();
            let mut written = 0u64;
            while written < share {
                let count = batch.min(share - written);
                let records = (0..count)
                    .map(|n| OutgoingRecord {
                        topic: topic.clone(),
                        partition: Some(partition),
                        record: Record {
                            key: Some(Bytes::from((written + n).to_be_bytes().to_vec())),
                            value: Some(value.clone()),
                            headers: Vec::new(),
                            timestamp_ms: 0,
                        },
                    })
                    .collect();
                let sent = Instant::now();
                log.append(records, None).await?;
                latency.record(sent.elapsed());
                written += count;
                counter.fetch_add(count, std::sync::atomic::Ordering::Relaxed);
            }
            Ok::<_, nagare_infra::Error>((written, latency))
        }));
    }
    let (operations, latency) = join_writers(writers).await?;
    let elapsed = started.elapsed();
    Ok(Measurement {
        scenario: "append".into(),
        backend: backend.to_owned(),
        operations,
        errors: 0,
        elapsed,
        latency: Some(latency),
        usage: Some(ProcessUsage::current()?.since(usage_before)),
    })
}

/// The storage engine alone: the same records and batches written straight into one fjall
/// keyspace by as many threads, each batch committed with an fsync, as the embedded log does.
/// It has one background worker, as the embedded backends do: fjall's default of one per core
/// spins on two cores (see `nagare_infra`'s engine settings), which would flatter the ratio.
async fn append_raw_fjall(settings: &AppendScenario, dir: &Path) -> anyhow::Result<Measurement> {
    let db = fjall::Database::builder(dir).worker_threads(1).open()?;
    let rows = db.keyspace("rows", fjall::KeyspaceCreateOptions::default)?;
    let progress = Progress::start("append raw fjall", Some(settings.records));
    let usage_before = ProcessUsage::current()?;
    let started = Instant::now();
    let mut writers = Vec::with_capacity(settings.writers);
    for index in 0..settings.writers {
        let (db, rows) = (db.clone(), rows.clone());
        let (share, batch, counter) =
            (settings.share(index), settings.batch as u64, progress.counter());
        let value = vec![0xA5u8; settings.record_size];
        writers.push(tokio::task::spawn_blocking(move || {
            let mut latency = LatencyRecorder::new();
            let mut written = 0u64;
            while written < share {
                let count = batch.min(share - written);
                let sent = Instant::now();
                let mut write = db.batch().durability(Some(fjall::PersistMode::SyncAll));
                for n in written..written + count {
                    // Writer index then sequence: the big-endian keys the log uses.
                    let mut key = (index as u64).to_be_bytes().to_vec();
                    key.extend_from_slice(&n.to_be_bytes());
                    write.insert(&rows, key, value.as_slice());
                }
                write.commit()?;
                latency.record(sent.elapsed());
                written += count;
                counter.fetch_add(count, std::sync::atomic::Ordering::Relaxed);
            }
            Ok::<_, fjall::Error>((written, latency))
        }));
    }
    let (operations, latency) = join_writers(writers).await?;
    let elapsed = started.elapsed();
    Ok(Measurement {
        scenario: "append".into(),
        backend: "raw fjall".into(),
        operations,
        errors: 0,
        elapsed,
        latency: Some(latency),
        usage: Some(ProcessUsage::current()?.since(usage_before)),
    })
}

async fn join_writers<E>(
    writers: Vec<tokio::task::JoinHandle<Result<(u64, LatencyRecorder), E>>>,
) -> anyhow::Result<(u64, LatencyRecorder)>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let mut total = 0;
    let mut latency = LatencyRecorder::new();
    for writer in writers {
        let (written, recorded) = writer.await??;
        total += written;
        latency.merge(&recorded);
    }
    Ok((total, latency))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A bound on the tiny run so a hang fails the test instead of stalling it; not a
    /// performance assertion.
    const SMOKE_TIMEOUT: Duration = Duration::from_secs(60);

    fn settings(records: u64) -> AppendScenario {
        AppendScenario {
            log_url: None,
            scratch_dir: std::env::temp_dir(),
            record_size: 100,
            batch: 10,
            writers: 3,
            records,
        }
    }

    #[test]
    fn records_are_split_evenly_among_writers() {
        let s = settings(10);
        assert_eq!((s.share(0), s.share(1), s.share(2)), (4, 3, 3));
        assert_eq!((0..3).map(|i| s.share(i)).sum::<u64>(), 10);
    }

    #[test]
    fn out_of_range_settings_name_the_flag_and_the_limit() {
        let error = AppendScenario { batch: 0, ..settings(1) }.validate().unwrap_err().to_string();
        assert!(error.contains("--batch") && error.contains("100000"), "{error}");
        let error = AppendScenario { writers: 5000, ..settings(1) }.validate().unwrap_err();
        assert!(error.to_string().contains("--writers"));
        assert!(settings(0).validate().is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tiny_run_appends_every_record_in_both_measurements() {
        let report =
            tokio::time::timeout(SMOKE_TIMEOUT, settings(95).run()).await.unwrap().unwrap();
        assert_eq!(report.measurements.len(), 2);
        for measurement in &report.measurements {
            assert_eq!(measurement.operations, 95, "{}", measurement.backend);
            // 3 writers with batches of 10: 32 + 32 + 31 → 4 + 4 + 4 appends.
            assert_eq!(measurement.latency.as_ref().map(LatencyRecorder::count), Some(12));
        }
        assert_eq!(report.measurements[0].backend, "embedded");
    }
}
