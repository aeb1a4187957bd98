//! A line a second on stderr while a scenario runs: operations so far and the current rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Counts operations from any task and reports them every second until dropped.
#[derive(Debug)]
pub struct Progress {
    done: Arc<AtomicU64>,
    reporter: JoinHandle<()>,
}

impl Progress {
    /// Starts reporting under `label`; `total`, when known, adds a percentage.
    pub fn start(label: impl Into<String>, total: Option<u64>) -> Self {
        let done = Arc::new(AtomicU64::new(0));
        let label = label.into();
        let counter = done.clone();
        let reporter = tokio::spawn(async move {
            let started = Instant::now();
            let mut ticks = tokio::time::interval(Duration::from_secs(1));
            ticks.tick().await;
            let mut previous = 0;
            loop {
                ticks.tick().await;
                let now = counter.load(Ordering::Relaxed);
                let share = total
                    .filter(|t| *t > 0)
                    .map(|t| format!(" ({:.0}%)", now as f64 * 100.0 / t as f64))
                    .unwrap_or_default();
                eprintln!(
                    "{label}: {:>5.1}s {now} done{share}, {} /s",
                    started.elapsed().as_secs_f64(),
                    now - previous.min(now)
                );
                previous = now;
            }
        });
        Self { done, reporter }
    }

    /// A handle tasks add their completed operations to.
    pub fn counter(&self) -> Arc<AtomicU64> {
        self.done.clone()
    }

    pub fn add(&self, operations: u64) {
        self.done.fetch_add(operations, Ordering::Relaxed);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.reporter.abort();
    }
}
