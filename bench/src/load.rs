//! Driving load: concurrent clients, each running one operation after another until the run is
//! over, closed loop (as fast as answers come) or open loop (each operation due at its slot of
//! a schedule, its latency counted from then, so a stalled server cannot hide its delays).
//!
//! In an open loop the clients share one queue of slots: a client that is free takes the next
//! slot, whoever ran the last one. A slot waits only when every client is busy, and then its
//! wait counts. Had each client its own fixed share of the slots instead, one slow answer would
//! make that client late for its next slots while the others stood idle: a delay of the load
//! generator's own making, counted as the server's.

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
    let next_slot = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::with_capacity(load.clients);
    for client in 0..load.clients {
        let (counter, failed, operation) = (progress.counter(), failed.clone(), operation.clone());
        let (window, next_slot) = (window.clone(), next_slot.clone());
        clients.push(tokio::spawn(async move {
            let mut latency = LatencyRecorder::new();
            let mut sequence = 0;
            loop {
                let due = match schedule {
                    Some(schedule) => {
                        let due = schedule.due(next_slot.fetch_add(1, Ordering::Relaxed));
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

    #[tokio::test(start_paused = true)]
    async fn open_loop_slots_go_to_free_clients_not_to_a_busy_one() {
        // 100/s: a slot every 10 ms. Client 0's first operation takes 100 ms; the three others
        // answer at once, so every other slot is run on time by whichever client is free.
        let load = Load { clients: 4, duration: Duration::from_millis(300), rate: Some(100.0) };
        let outcome = drive("test", load, |client, sequence| async move {
            if client == 0 && sequence == 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(outcome.succeeded, 30);
        // The slow one is the only late operation; with a fixed share per client, its next
        // slots (due 40, 80 ms after it) would have waited for it.
        assert_eq!(outcome.latency.max_us() / 1_000, 100, "{outcome:?}");
        assert!(outcome.latency.quantile_us(0.95) < 1_000, "{outcome:?}");
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
