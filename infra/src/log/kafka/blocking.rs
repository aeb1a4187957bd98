//! librdkafka calls that block (metadata, watermarks, commits, seeks, closing a consumer) run
//! on tokio's blocking threads, never on the async workers.

use crate::{Error, Result};

/// Runs `work` on a blocking thread and waits for it.
pub(super) async fn run_blocking<T, F>(work: F) -> Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| Error::Storage(format!("a Kafka client call did not finish: {error}")))
}

/// Runs `work` (typically closing a consumer, which leaves its group and waits for librdkafka)
/// on a blocking thread without waiting for it, so that a `Drop` never blocks the caller's
/// task. Outside a runtime it runs in place.
pub(super) fn finish_off_runtime<F: FnOnce() + Send + 'static>(work: F) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn_blocking(work);
        }
        Err(_) => work(),
    }
}

/// Drops `value` with [`finish_off_runtime`].
pub(super) fn drop_off_runtime<T: Send + 'static>(value: T) {
    finish_off_runtime(move || drop(value));
}
