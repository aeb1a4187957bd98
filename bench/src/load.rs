//! Driving load: concurrent clients, each running one operation after another until the run is
//! over, closed loop (as fast as answers come) or open loop (each operation due at its slot of
//! a schedule, its latency counted from then, so a stalled server cannot hide its delays).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::latency::LatencyRecorder;
use crate::progress::{LatencyWindow, Progress};
use crate::schedule::OpenLoopSchedule;

/// How a run sends its operations.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    pub(crate) clients: usize,
    pub(crate) duration: Duration,
    /// Operations per second in total, open loop; `None` runs closed loop.
    pub(crate) rate: Option<f64>,
}

/// What a run counted.
#[derive(Debug)]
pub(crate) struct LoadOutcome {
    pub(crate) succeeded: u64,
    pub(crate) failed: u64,
    /// Every operation's latency, failed ones included.
    pub(crate) latency: LatencyRecorder,
    pub(crate) elapsed: Duration,
}

/// Runs `operation(client, sequence)` from `load.clients` tasks until the duration is over.
/// An operation's error is counted (and logged at debug level), never fatal.
pub(crate) async fn drive<F, Fut>(
    label: &str,
    load: Load,
    operation: F,
) -> anyhow::Result<LoadOutcome>
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let window = LatencyWindow::default();
    let progress = Progress::with_latency(label, window.clone());
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + load.duration;
    let schedule = load.rate.map(|rate| OpenLoopSchedule::new(start, rate)).transpose()?;
    let mut clients = Vec::with_capacity(load.clients);
    for client in 0..load.clients {
        let (counter, failed, operation) = (progress.counter(), failed.clone(), operation.clone());
        let window = window.clone();
        let stride = load.clients as u64;
        clients.push(tokio::spawn(async move {
            let mut latency = LatencyRecorder::new();
            // Open loop: this client takes every `stride`-th slot of the shared schedule.
            let mut slot = client as u64;
            let mut sequence = 0;
            loop {
                let due = match schedule {
                    Some(schedule) => {
                        let due = schedule.due(slot);
                        slot += stride;
                        if due >= deadline {
                            break;
                        }
                        tokio::time::sleep_until(due).await;
                        due
                    }
                    None if Instant::now() >= deadline => break,
                    None => Instant::now(),
                };
                let result = operation(client, sequence).await;
                sequence += 1;
                let took = due.elapsed();
                latency.record(took);
                window.record(took);
                match result {
                    Ok(()) => counter.fetch_add(1, Ordering::Relaxed),
                    Err(error) => {
                        tracing::debug!(%error, "an operation failed");
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
            latency
        }));
    }
    let mut latency = LatencyRecorder::new();
    for client in clients {
        latency.merge(&client.await?);
    }
    Ok(LoadOutcome {
        succeeded: progress.counter().load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        latency,
        elapsed: start.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_loop_runs_every_due_slot_and_counts_failures() {
        let load = Load { clients: 4, duration: Duration::from_millis(200), rate: Some(100.0) };
        let outcome = drive("test", load, |_, sequence| async move {
            if sequence == 0 { anyhow::bail!("first one fails") } else { Ok(()) }
        })
        .await
        .unwrap();
        // 100/s for 0.2 s: slots 0..=19, the first of each of the 4 clients failing.
        assert_eq!(outcome.succeeded + outcome.failed, 20);
        assert_eq!(outcome.failed, 4);
        assert_eq!(outcome.latency.count(), 20);
    }

    #[tokio::test]
    async fn closed_loop_stops_at_the_deadline() {
        let load = Load { clients: 2, duration: Duration::from_millis(50), rate: None };
        let outcome = drive("test", load, |_, _| async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok(())
        })
        .await
        .unwrap();
        assert!(outcome.succeeded >= 2 && outcome.failed == 0, "{outcome:?}");
    }
}
