//! The conformance suites against the embedded backends, each scenario on a fresh directory.

use std::path::PathBuf;
use std::sync::Arc;

use nagare_infra::{EventLog, ReadStore, open_log, open_store};

/// A fresh data directory under Cargo's scratch space for integration tests.
fn fresh_url() -> String {
    let dir: PathBuf = tempfile::Builder::new()
        .prefix("conformance-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a scratch directory")
        .keep();
    format!("embedded://{}", dir.display())
}

mod log {
    use super::*;

    nagare_infra::log_conformance!(async || -> Arc<dyn EventLog> {
        open_log(&fresh_url()).await.expect("the embedded log opens")
    });
}

mod store {
    use super::*;

    nagare_infra::store_conformance!(async || -> Arc<dyn ReadStore> {
        open_store(&fresh_url()).await.expect("the embedded store opens")
    });
}
