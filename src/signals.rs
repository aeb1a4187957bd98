//! Stop requests from the operating system.

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};

/// Exit code after a second stop request cut the drain short (128 + SIGINT, as shells report).
const FORCED_EXIT: u8 = 130;

/// Resolves on the first SIGINT or SIGTERM. A second one while Nagare drains exits at once,
/// for an operator who does not want to wait.
pub(crate) async fn stop_requested() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!(signal = name, "stop requested");
        tokio::spawn(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
            tracing::warn!("second stop request: exiting without draining");
            std::process::exit(i32::from(FORCED_EXIT));
        });
    })
}
