//! A real embedded log and store in a temporary directory, events written into the events
//! topics exactly as the command processor writes them, and the projections running on them.

pub(crate) mod events;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use nagare_consumers::{Progress, ProjectionConfig, ReadModels};
use nagare_infra::{
    Cleanup, EventLog, OutgoingRecord, Position, ReadStore, Record, TopicPartition, TopicSpec,
};
use nagare_schemas::codec;
use nagare_schemas::events::Event;
use nagare_schemas::metadata;
use nagare_schemas::topics::Topics;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub(crate) const PARTITIONS: u32 = 4;
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// A log and a store on disk, and the projections while they run.
pub(crate) struct Harness {
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) store: Arc<dyn ReadStore>,
    pub(crate) topics: Topics,
    pub(crate) read: ReadModels,
    pub(crate) progress: Progress,
    running: Option<(CancellationToken, JoinHandle<nagare_consumers::Result<()>>)>,
    versions: HashMap<String, i64>,
    clock_ms: i64,
    positions: Vec<Position>,
    _dir: TempDir,
}

impl Harness {
    pub(crate) async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("embedded://{}", dir.path().display());
        let log = nagare_infra::open_log(&url).await.expect("embedded log");
        let store = nagare_infra::open_store(&url).await.expect("embedded store");
        let topics = Topics::default();
        for name in topics.all_events() {
            let spec = TopicSpec {
                name,
                partitions: PARTITIONS,
                cleanup: Cleanup::Delete { retention_ms: None },
            };
            log.ensure_topic(&spec).await.expect("events topic");
        }
        Self {
            read: ReadModels::new(Arc::clone(&store)),
            log,
            store,
            topics,
            progress: Progress::new(),
            running: None,
            versions: HashMap::new(),
            clock_ms: 1_700_000_000_000,
            positions: Vec::new(),
            _dir: dir,
        }
    }

    /// Starts the projections under a fresh `Progress` and consumer-group prefix, with as
    /// many members per projection as `nagare serve` runs on the embedded log (one partition
    /// each).
    pub(crate) fn start(&mut self, group_prefix: &str, batch_size: usize) {
        let row_cache_bytes = ProjectionConfig::DEFAULT_ROW_CACHE_BYTES;
        let workers = ProjectionConfig::DEFAULT_LOCAL_WORKERS;
        self.start_with(group_prefix, batch_size, row_cache_bytes, workers);
    }

    /// Starts the projections with a row cache of `row_cache_bytes` per projection and
    /// `workers` members of each projection's group.
    pub(crate) fn start_with(
        &mut self,
        group_prefix: &str,
        batch_size: usize,
        row_cache_bytes: u64,
        workers: usize,
    ) {
        assert!(self.running.is_none(), "projections already running");
        self.progress = Progress::new();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(nagare_consumers::run_projections(
            Arc::clone(&self.log),
            Arc::clone(&self.store),
            self.topics.clone(),
            ProjectionConfig {
                group_prefix: group_prefix.to_owned(),
                batch_size,
                row_cache_bytes,
                workers,
            },
            self.progress.clone(),
            shutdown.clone(),
        ));
        self.running = Some((shutdown, task));
    }

    /// Stops the projections and checks they ended cleanly.
    pub(crate) async fn stop(&mut self) {
        let (shutdown, task) = self.running.take().expect("projections running");
        shutdown.cancel();
        let result = tokio::time::timeout(WAIT, task).await.expect("projections stop in time");
        result.expect("projection task").expect("projections end without error");
    }

    /// Appends events as the command processor does: keyed by aggregate id, partitioned by key,
    /// with the metadata headers; each event's aggregate version follows the previous one.
    pub(crate) async fn emit(&mut self, events: Vec<Event>) -> Vec<Position> {
        let records = events
            .into_iter()
            .map(|event| {
                let id = event.aggregate_id().to_owned();
                let version = self.versions.entry(id.clone()).or_insert(0);
                *version += 1;
                let version = *version;
                self.record(&event, version)
            })
            .collect();
        self.append(records).await
    }

    /// Appends one event with an explicit aggregate version (a duplicate, say).
    pub(crate) async fn emit_with_version(&mut self, event: Event, version: i64) -> Vec<Position> {
        let record = self.record(&event, version);
        self.append(vec![record]).await
    }

    /// Appends a record whose value no codec can read, keyed like an event of `id`.
    pub(crate) async fn emit_garbage(&mut self, topic: String, id: &str) -> Vec<Position> {
        let record = OutgoingRecord {
            topic,
            partition: None,
            record: Record {
                key: Some(Bytes::copy_from_slice(id.as_bytes())),
                value: Some(Bytes::from_static(b"\xc3\x01not avro")),
                headers: vec![(metadata::AGGREGATE_VERSION.into(), Bytes::from_static(b"1"))],
                timestamp_ms: self.tick(),
            },
        };
        self.append(vec![record]).await
    }

    /// Waits until the projections show everything appended so far.
    pub(crate) async fn settle(&self) {
        self.progress.wait_for(&self.positions, WAIT).await.expect("projections catch up");
    }

    /// Writes every projection's checkpoints back to offset 0, so they replay from the start.
    pub(crate) async fn reset_checkpoints(&self) {
        let mut checkpoints = Vec::new();
        for projection in ["categories", "products", "orders"] {
            for mut checkpoint in self.store.checkpoints(projection).await.expect("checkpoints") {
                checkpoint.next_offset = 0;
                checkpoints.push(checkpoint);
            }
        }
        let batch = nagare_infra::WriteBatch { ops: Vec::new(), checkpoints };
        self.store.write(batch).await.expect("reset checkpoints");
    }

    pub(crate) fn partition_of(&self, position: &Position) -> TopicPartition {
        TopicPartition::new(position.topic.clone(), position.partition)
    }

    fn record(&mut self, event: &Event, version: i64) -> OutgoingRecord {
        let id = event.aggregate_id().to_owned();
        let headers = vec![
            (metadata::EVENT_TYPE, event.event_type().to_owned()),
            (metadata::AGGREGATE_TYPE, event.aggregate_type().as_str().to_owned()),
            (metadata::AGGREGATE_ID, id.clone()),
            (metadata::AGGREGATE_VERSION, version.to_string()),
            (metadata::COMMAND_ID, uuid::Uuid::new_v4().to_string()),
        ];
        OutgoingRecord {
            topic: self.topics.events(event.aggregate_type()),
            partition: None,
            record: Record {
                key: Some(Bytes::from(id)),
                value: Some(Bytes::from(codec::encode_event(event))),
                headers: headers
                    .into_iter()
                    .map(|(name, value)| (name.to_owned(), Bytes::from(value)))
                    .collect(),
                timestamp_ms: self.tick(),
            },
        }
    }

    async fn append(&mut self, records: Vec<OutgoingRecord>) -> Vec<Position> {
        let positions = self.log.append(records, None).await.expect("append");
        self.positions.extend(positions.iter().cloned());
        positions
    }

    fn tick(&mut self) -> i64 {
        self.clock_ms += 1;
        self.clock_ms
    }
}
