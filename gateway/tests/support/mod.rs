// Each test binary uses a different part of this module.
#![allow(dead_code)]

//! A whole Nagare on embedded backends in a temporary directory, with the gateway's schema
//! executed directly (no HTTP): the command processor, the projections and the command bus run
//! for real.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Request, Variables};
use nagare_consumers::{Progress, ProjectionConfig, ReadModels, run_projections};
use nagare_gateway::CommandBus;
use nagare_gateway::graphql::{GraphqlServices, NagareSchema, build_schema};
use nagare_infra::{Cleanup, EventLog, ReadStore, TopicPartition, TopicSpec};
use nagare_producers::{ProcessorConfig, run_command_processor};
use nagare_schemas::topics::Topics;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub(crate) const PARTITIONS: u32 = 4;

/// The log, the store and the roles behind the gateway: the command processor and the
/// projections, running until the value is dropped.
pub(crate) struct Backends {
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) store: Arc<dyn ReadStore>,
    pub(crate) topics: Topics,
    pub(crate) progress: Progress,
    pub(crate) shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

/// A fresh embedded log with every topic declared, and nothing running on it.
pub(crate) async fn open_topics() -> (Arc<dyn EventLog>, Topics, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let log = nagare_infra::open_log(&format!("embedded://{}", dir.path().display()))
        .await
        .expect("embedded log");
    let topics = Topics::default();
    for spec in declared_topics(&topics) {
        log.ensure_topic(&spec).await.expect("topic");
    }
    (log, topics, dir)
}

impl Backends {
    pub(crate) async fn start() -> Backends {
        let (log, topics, dir) = open_topics().await;
        let store: Arc<dyn ReadStore> =
            nagare_infra::open_store(&format!("embedded://{}", dir.path().display()))
                .await
                .expect("embedded store");

        let shutdown = CancellationToken::new();
        let progress = Progress::new();
        tokio::spawn(run_command_processor(
            Arc::clone(&log),
            topics.clone(),
            ProcessorConfig {
                group: "processor".into(),
                snapshot_every: Some(10),
                batch_size: 64,
                // Replies through the topic, as for a processor in another process.
                reply_handoff: Default::default(),
            },
            shutdown.child_token(),
        ));
        tokio::spawn(run_projections(
            Arc::clone(&log),
            Arc::clone(&store),
            topics.clone(),
            ProjectionConfig {
                group_prefix: "test.".into(),
                batch_size: 64,
                row_cache_bytes: ProjectionConfig::DEFAULT_ROW_CACHE_BYTES,
                workers: ProjectionConfig::DEFAULT_LOCAL_WORKERS,
            },
            progress.clone(),
            shutdown.child_token(),
        ));
        Backends { log, store, topics, progress, shutdown, _dir: dir }
    }
}

impl Drop for Backends {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The gateway's schema over running backends, executed without HTTP.
pub(crate) struct Platform {
    pub(crate) schema: NagareSchema,
    pub(crate) backends: Backends,
}

impl Platform {
    pub(crate) async fn start() -> Platform {
        let backends = Backends::start().await;
        let commands = CommandBus::start(
            Arc::clone(&backends.log),
            backends.topics.clone(),
            backends.shutdown.child_token(),
        )
        .await
        .expect("command bus")
        .with_reply_timeout(Duration::from_secs(20));
        let schema = build_schema(GraphqlServices {
            read_models: ReadModels::new(Arc::clone(&backends.store)),
            commands,
            progress: backends.progress.clone(),
            consistency_timeout: Duration::from_secs(20),
        });
        Platform { schema, backends }
    }

    /// Executes a document and returns the response as JSON (`data` and `errors`).
    pub(crate) async fn run(&self, query: &str, variables: Value) -> Value {
        let request = Request::new(query).variables(Variables::from_json(variables));
        let response = self.schema.execute(request).await;
        serde_json::to_value(&response).expect("response as JSON")
    }

    /// Executes a document that must succeed and returns its `data`.
    pub(crate) async fn data(&self, query: &str, variables: Value) -> Value {
        let response = self.run(query, variables).await;
        assert!(response.get("errors").is_none(), "unexpected errors: {response:#}");
        response["data"].clone()
    }

    /// Records on the commands topic, over every partition.
    pub(crate) async fn commands_written(&self) -> u64 {
        let mut total = 0;
        for partition in 0..PARTITIONS {
            let tp = TopicPartition::new(self.backends.topics.commands(), partition);
            total += self.backends.log.watermarks(&tp).await.expect("watermarks").high;
        }
        total
    }
}

fn declared_topics(topics: &Topics) -> Vec<TopicSpec> {
    let keep = Cleanup::Delete { retention_ms: None };
    let spec = |name: String, cleanup| TopicSpec { name, partitions: PARTITIONS, cleanup };
    let mut specs = vec![spec(topics.commands(), keep)];
    specs.extend(topics.all_events().into_iter().map(|name| spec(name, keep)));
    specs.push(spec(topics.replies(), keep));
    specs.push(spec(topics.snapshots(), Cleanup::Compact));
    specs.push(spec(topics.deadletter(), keep));
    specs
}

/// The single error of a response, as (code, field, message).
pub(crate) fn only_error(response: &Value) -> (String, Option<String>, String) {
    let errors = response["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 1, "expected exactly one error: {response:#}");
    let error = &errors[0];
    let text = |v: &Value| v.as_str().map(str::to_owned);
    (
        text(&error["extensions"]["code"]).unwrap_or_default(),
        text(&error["extensions"]["field"]),
        text(&error["message"]).unwrap_or_default(),
    )
}
