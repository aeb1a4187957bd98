//! The backends a scenario runs on, and the data directory that names them.
//!
//! A scenario is written once as `async fn scenario(backend: Backend)` and instantiated per
//! backend with [`on_each_backend!`](crate::common::on_each_backend), which makes the tests
//! `scenario::on_embedded` and `scenario::on_kafka`.
//!
//! On Kafka the log lives on this test process's broker ([`Broker::shared`]) and the read-model
//! store stays embedded in the test's data directory. Every data directory has a topic prefix of
//! its own, so tests that share a broker (plain `cargo test` runs a file's tests in one process)
//! never see each other's topics or consumer groups, and a restart on the same directory finds
//! its topics again.

use std::path::Path;
use std::time::Duration;

use nagare_schemas::topics::Topics;
use nagare_testkit::Broker;

/// The prefix the embedded log keeps: the default, so the default stays tested.
const DEFAULT_TOPIC_PREFIX: &str = "nagare.";
/// How much longer a bounded wait may take on Kafka: consumer groups join in seconds there
/// (about 3 s on the test broker) and a killed member is only noticed after its session times
/// out. Raising the bound only delays the failure of a broken run; nothing asserts speed.
const KAFKA_PATIENCE: u32 = 4;

/// The event log a test's server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    /// `embedded://` in the test's data directory.
    Embedded,
    /// `kafka://` on this test process's broker, under the data directory's topic prefix.
    Kafka,
}

impl Backend {
    /// A bound that suffices on the embedded backend, raised for this backend.
    pub(crate) fn patience(self, on_embedded: Duration) -> Duration {
        match self {
            Backend::Embedded => on_embedded,
            Backend::Kafka => on_embedded * KAFKA_PATIENCE,
        }
    }
}

/// A data directory that outlives restarts of the server and is removed at the end of the test,
/// with the log it goes with.
#[derive(Debug)]
pub(crate) struct DataDir {
    dir: tempfile::TempDir,
    backend: Backend,
    topic_prefix: String,
}

impl DataDir {
    /// A directory for the embedded log and store.
    pub(crate) fn new() -> Self {
        Self::on(Backend::Embedded)
    }

    /// A directory for the store, with the log on `backend`. On Kafka this starts the process's
    /// broker if it is not running yet, and fails the test if it cannot.
    pub(crate) fn on(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("create a temporary data directory");
        let topic_prefix = match backend {
            Backend::Embedded => DEFAULT_TOPIC_PREFIX.to_owned(),
            Backend::Kafka => {
                // Start the broker now, so a missing broker fails here with its explanation.
                let _ = Broker::shared();
                let unique = uuid::Uuid::new_v4().simple().to_string();
                format!("{DEFAULT_TOPIC_PREFIX}{}.", &unique[..12])
            }
        };
        Self { dir, backend, topic_prefix }
    }

    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `embedded://` on this directory: the store's URL, and the log's on the embedded backend.
    pub(crate) fn url(&self) -> String {
        format!("embedded://{}", self.dir.path().display())
    }

    /// The read-model store, always embedded in this directory.
    pub(crate) fn store_url(&self) -> String {
        self.url()
    }

    /// The event log.
    pub(crate) fn log_url(&self) -> String {
        match self.backend {
            Backend::Embedded => self.url(),
            Backend::Kafka => Broker::shared().url(),
        }
    }

    /// The prefix of this directory's topic names (and consumer groups).
    pub(crate) fn topic_prefix(&self) -> &str {
        &self.topic_prefix
    }

    /// This directory's topic names.
    pub(crate) fn topics(&self) -> Topics {
        Topics::with_prefix(self.topic_prefix.clone())
    }

    /// The `--log`, `--store` and (on Kafka) `--topic-prefix` flags for this directory.
    pub(crate) fn backend_args(&self) -> Vec<String> {
        let mut args = vec!["--log".into(), self.log_url(), "--store".into(), self.store_url()];
        if self.backend == Backend::Kafka {
            args.extend(["--topic-prefix".into(), self.topic_prefix.clone()]);
        }
        args
    }
}

/// Instantiates `async fn scenario(backend: Backend)` as two tests, `scenario::on_embedded` and
/// `scenario::on_kafka`. The test attribute defaults to `#[tokio::test]`; give another one
/// first: `on_each_backend!(#[tokio::test(flavor = "multi_thread")] scenario);`.
// Not every test file instantiates scenarios.
#[allow(unused_macros)]
macro_rules! on_each_backend {
    ($scenario:ident) => {
        $crate::common::on_each_backend!(
            #[tokio::test]
            $scenario
        );
    };
    (#[$test:meta] $scenario:ident) => {
        mod $scenario {
            #[$test]
            async fn on_embedded() {
                super::$scenario($crate::common::Backend::Embedded).await
            }

            #[$test]
            async fn on_kafka() {
                super::$scenario($crate::common::Backend::Kafka).await
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_each_backend;
