//! Stop requests from the operating system.

use std::time::Duration;

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};

/// Exit code after a second stop request cut the drain short (128 + SIGINT, as shells report).
const FORCED_EXIT: i32 = 130;

/// Signals this soon after the first count as the same request: tools such as timeout(1)
/// signal both the process and its process group, so one request can arrive twice.
const SAME_REQUEST: Duration = Duration::from_secs(1);

/// Resolves on the first SIGINT or SIGTERM. A second one while Nagare drains exits at once,
/// for an operator who does not want to wait.
pub(crate) async fn stop_requested() -> anyhow::Result<impl Future<Output = ()>> {
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!(signal = name, "stop requested");
        let first = tokio::time::Instant::now();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = interrupt.recv() => {},
                    _ = terminate.recv() => {},
                }
                if first.elapsed() >= SAME_REQUEST {
                    break;
                }
            }
            tracing::warn!("second stop request: exiting without draining");
            std::process::exit(FORCED_EXIT);
        });
    })
}
