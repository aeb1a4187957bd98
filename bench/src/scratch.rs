//! Where a scenario keeps its temporary data, and the log it runs on.

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use nagare_infra::EventLog;
use tempfile::TempDir;

/// `prefix` followed by the time in nanoseconds: a topic name or prefix no earlier run used, so
/// a scenario on a shared log starts empty.
pub(crate) fn unique_name(prefix: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{prefix}{nanos}")
}

/// A fresh temporary directory under `parent`, removed when dropped.
pub(crate) fn scratch_dir(parent: &Path) -> anyhow::Result<TempDir> {
    tempfile::Builder::new().prefix("nagare-bench-").tempdir_in(parent).map_err(|e| {
        anyhow::anyhow!("cannot make a scratch directory in {}: {e}", parent.display())
    })
}

/// The log a scenario appends to: the one named, or a fresh embedded log in `scratch`.
#[derive(Debug)]
pub(crate) struct ScenarioLog {
    pub(crate) url: String,
    /// The URL's scheme, `embedded` or `kafka`, for the report.
    pub(crate) backend: String,
    pub(crate) log: Arc<dyn EventLog>,
}

impl ScenarioLog {
    pub(crate) async fn open(given: Option<&str>, scratch: &TempDir) -> anyhow::Result<Self> {
        let url = match given {
            Some(url) => url.to_owned(),
            None => format!("embedded://{}", scratch.path().join("log").display()),
        };
        let backend = url.split("://").next().unwrap_or("unknown").to_owned();
        let log = nagare_infra::open_log(&url).await?;
        Ok(Self { url, backend, log })
    }
}
