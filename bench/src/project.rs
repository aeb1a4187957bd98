//! `project` and `replay`: the projections of a real `nagare serve`, run on a fresh read store
//! over a log pre-filled with a generated shop history, timed until they have applied every
//! event. `project` is the steady apply rate; `replay` is a full rebuild of the read models
//! from a long log (1,000,000 events by default), with the memory it takes.
//!
//! In the same run, the baseline: reading and decoding the same events straight from the log,
//! which is the floor under any projection's rate.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nagare_consumers::{ProjectionConfig, run_projections};
use nagare_infra::{Cleanup, EventLog, TopicPartition, TopicSpec};
use nagare_schemas::codec;
use nagare_schemas::topics::Topics;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::measurement::Measurement;
use crate::process::ProcessUsage;
use crate::progress::Progress;
use crate::report::{Report, Target};
use crate::scenario::Scenario;
use crate::scratch::{ScenarioLog, scratch_dir, unique_name};
use crate::shop_history::ShopHistory;

/// Partitions of the events topics: the count Nagare declares.
const PARTITIONS: u32 = 8;
/// Records per append while filling the log, and per read in the baseline.
const FILL_BATCH: usize = 2_000;
/// How often the run looks at the projections' progress.
const POLL_INTERVAL: Duration = Duration::from_millis(2);
/// The projections must finish within this long, or the run fails instead of hanging.
const RUN_TIMEOUT: Duration = Duration::from_secs(1_800);
pub const MAX_EVENTS: u64 = 100_000_000;

const TARGET_EVENTS_PER_SECOND: f64 = 200_000.0;
const TARGET_REPLAY_SECONDS_PER_MILLION: f64 = 5.0;

/// Which of the two scenarios runs; they differ in size, target and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectKind {
    Project,
    Replay,
}

/// Settings of the `project` and `replay` scenarios.
#[derive(Debug, Clone)]
pub struct ProjectScenario {
    pub kind: ProjectKind,
    /// The log to fill; `None` makes a fresh embedded log under `scratch_dir`. On a shared log
    /// the topics get a fresh prefix, so every run starts empty.
    pub log_url: Option<String>,
    /// Where the fresh read store (and the embedded log) go.
    pub scratch_dir: PathBuf,
    /// Events in the generated history.
    pub events: u64,
    /// Row cache of each projection, in bytes (`nagare serve --row-cache-mib`).
    pub row_cache_bytes: u64,
    /// Members of each projection's group; `None` for `nagare serve`'s default on this log.
    pub workers: Option<usize>,
}

impl Scenario for ProjectScenario {
    fn name(&self) -> &'static str {
        match self.kind {
            ProjectKind::Project => "project",
            ProjectKind::Replay => "replay",
        }
    }

    async fn run(&self) -> anyhow::Result<Report> {
        if self.events == 0 || self.events > MAX_EVENTS {
            anyhow::bail!("--events must be between 1 and {MAX_EVENTS}, not {}", self.events);
        }
        let scratch = scratch_dir(&self.scratch_dir)?;
        // The URL itself is needed only for the plain Kafka client baselines.
        #[cfg_attr(not(feature = "kafka"), allow(unused_variables))]
        let ScenarioLog { url: log_url, backend, log } =
            ScenarioLog::open(self.log_url.as_deref(), &scratch).await?;
        let topics = fresh_topics();
        let filled = fill(&log, &topics, self.events).await?;

        let baseline =
            read_and_decode(self.name(), log.as_ref(), &topics, self.events, &backend).await?;
        let store_url = format!("embedded://{}", scratch.path().join("store").display());
        let store = nagare_infra::open_store(&store_url).await?;
        ProcessUsage::reset_peak();
        let (projected, first_applied) =
            project(self, log, store, topics.clone(), &backend).await?;

        let targets = match self.kind {
            ProjectKind::Project => vec![Target::at_least(
                "events/s applied",
                TARGET_EVENTS_PER_SECOND,
                projected.ops_per_second(),
            )],
            ProjectKind::Replay => vec![Target::at_most(
                "seconds per 1,000,000 events rebuilt",
                TARGET_REPLAY_SECONDS_PER_MILLION,
                projected.elapsed.as_secs_f64() * 1_000_000.0 / self.events as f64,
            )],
        };
        let rate = projected.ops_per_second();
        let applying = projected.elapsed.saturating_sub(first_applied).as_secs_f64();
        let after_first = self.events as f64 / applying.max(f64::MIN_POSITIVE);
        let share = rate / baseline.ops_per_second().max(f64::MIN_POSITIVE);
        let extras = vec![
            ("events".into(), self.events as f64),
            ("fill_events_per_s".into(), filled),
            // Joining the consumer groups and reading the checkpoints: instant on the embedded
            // log, a group join (seconds) on Kafka.
            ("first_event_applied_s".into(), first_applied.as_secs_f64()),
            ("events_per_s_after_first".into(), after_first),
            ("ratio_to_log_read".into(), share),
        ];
        let report = Report { measurements: vec![projected, baseline], extras, targets };
        #[cfg(feature = "kafka")]
        let report = crate::kafka_baseline::with_plain_consumer(
            &log_url,
            &topics.all_events(),
            PARTITIONS,
            self.events,
            report,
        )
        .await?;
        Ok(report)
    }
}

/// A topic prefix no earlier run used.
fn fresh_topics() -> Topics {
    Topics::with_prefix(format!("{}.", unique_name("nagare.bench-")))
}

/// Writes the generated history; returns the fill rate (events per second).
async fn fill(log: &Arc<dyn EventLog>, topics: &Topics, events: u64) -> anyhow::Result<f64> {
    for topic in topics.all_events() {
        let cleanup = Cleanup::Delete { retention_ms: None };
        log.ensure_topic(&TopicSpec { name: topic, partitions: PARTITIONS, cleanup }).await?;
    }
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let mut history = ShopHistory::new(topics.clone(), events, now_ms as i64);
    let progress = Progress::start("filling the log", Some(events));
    let started = Instant::now();
    // One append in flight while the next batch is encoded: appends stay in log order, which
    // keeps each aggregate's versions in order.
    let mut in_flight: Option<tokio::task::JoinHandle<nagare_infra::Result<usize>>> = None;
    loop {
        let batch = history.next_batch(FILL_BATCH);
        if let Some(append) = in_flight.take() {
            progress.add(append.await?? as u64);
        }
        if batch.is_empty() {
            break;
        }
        let count = batch.len();
        let log = Arc::clone(log);
        in_flight = Some(tokio::spawn(async move { log.append(batch, None).await.map(|_| count) }));
    }
    Ok(events as f64 / started.elapsed().as_secs_f64().max(f64::MIN_POSITIVE))
}

/// The baseline: every partition of the events topics read from the start and each value
/// decoded, in one task, with the same log handle the projections get.
async fn read_and_decode(
    scenario: &str,
    log: &dyn EventLog,
    topics: &Topics,
    events: u64,
    backend: &str,
) -> anyhow::Result<Measurement> {
    let progress = Progress::start("reading the log", Some(events));
    let usage_before = ProcessUsage::current()?;
    let started = Instant::now();
    let mut read = 0u64;
    for topic in topics.all_events() {
        for partition in 0..PARTITIONS {
            let tp = TopicPartition::new(topic.clone(), partition);
            let end = log.watermarks(&tp).await?.high;
            let mut next = 0;
            while next < end {
                let records = log.read(&tp, next, FILL_BATCH).await?;
                let Some(last) = records.last() else { break };
                next = last.offset + 1;
                for record in &records {
                    if let Some(value) = &record.record.value {
                        codec::decode_event(value)?;
                    }
                }
                read += records.len() as u64;
                progress.add(records.len() as u64);
            }
        }
    }
    Ok(Measurement {
        scenario: scenario.to_owned(),
        backend: format!("{backend} read+decode"),
        operations: read,
        errors: events.saturating_sub(read),
        elapsed: started.elapsed(),
        latency: None,
        usage: Some(ProcessUsage::current()?.since(usage_before)),
    })
}

/// Runs the projections until they have applied the scenario's events.
async fn project(
    settings: &ProjectScenario,
    log: Arc<dyn EventLog>,
    store: Arc<dyn nagare_infra::ReadStore>,
    topics: Topics,
    backend: &str,
) -> anyhow::Result<(Measurement, Duration)> {
    let (scenario, events) = (settings.name(), settings.events);
    let progress = Progress::start(format!("{scenario} {backend}"), Some(events));
    let applied = progress.counter();
    let tracked = nagare_consumers::Progress::new();
    let shutdown = CancellationToken::new();
    let config = ProjectionConfig {
        group_prefix: format!("{}projections.bench.", topics.prefix()),
        batch_size: ProjectionConfig::DEFAULT_BATCH_SIZE,
        row_cache_bytes: settings.row_cache_bytes,
        // By default, as `nagare serve` runs them on this log.
        workers: settings
            .workers
            .unwrap_or_else(|| ProjectionConfig::default_workers(&log.capabilities())),
    };
    let usage_before = ProcessUsage::current()?;
    let started = Instant::now();
    let running = tokio::spawn(run_projections(
        log,
        store,
        topics,
        config,
        tracked.clone(),
        shutdown.clone(),
    ));
    let mut first_applied = None;
    let caught_up = async {
        loop {
            // The topics are fresh, so the next offsets summed are the events applied.
            let done: u64 = tracked
                .snapshot()
                .iter()
                .flat_map(|p| p.next_offsets.iter().map(|(_, offset)| *offset))
                .sum();
            applied.store(done, Ordering::Relaxed);
            if done > 0 && first_applied.is_none() {
                first_applied = Some(started.elapsed());
            }
            if done >= events || running.is_finished() {
                return done;
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    };
    let done = tokio::time::timeout(RUN_TIMEOUT, caught_up)
        .await
        .map_err(|_| anyhow::anyhow!("the projections did not finish within {RUN_TIMEOUT:?}"))?;
    let elapsed = started.elapsed();
    let usage = ProcessUsage::current()?.since(usage_before);
    shutdown.cancel();
    running.await??;
    if done < events {
        anyhow::bail!("the projections stopped after {done} of {events} events");
    }
    let measurement = Measurement {
        scenario: scenario.to_owned(),
        backend: backend.to_owned(),
        operations: done,
        errors: 0,
        elapsed,
        latency: None,
        usage: Some(usage),
    };
    Ok((measurement, first_applied.unwrap_or(elapsed)))
}
