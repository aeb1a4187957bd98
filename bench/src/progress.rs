//! A line a second on stderr while a scenario runs: operations so far, the current rate and,
//! for scenarios that time their operations, the last second's p99 and maximum latency, so a
//! stall shows when it happens instead of only in the run's percentiles.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::latency::LatencyRecorder;

/// The latencies of the current second, shared by the tasks that time operations.
#[derive(Clone, Debug, Default)]
pub struct LatencyWindow {
    second: Arc<Mutex<LatencyRecorder>>,
}

impl LatencyWindow {
    pub fn record(&self, latency: Duration) {
        self.second.lock().unwrap_or_else(PoisonError::into_inner).record(latency);
    }

    /// The second's recorder, leaving an empty one in its place.
    fn take(&self) -> LatencyRecorder {
        std::mem::take(&mut *self.second.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Counts operations from any task and reports them every second until dropped.
#[derive(Debug)]
pub struct Progress {
    done: Arc<AtomicU64>,
    reporter: JoinHandle<()>,
}

impl Progress {
    /// Starts reporting under `label`; `total`, when known, adds a percentage.
    pub fn start(label: impl Into<String>, total: Option<u64>) -> Self {
        Self::reporting(label.into(), total, None)
    }

    /// Like [`Progress::start`], adding each second's p99 and maximum of what is recorded in
    /// `window`.
    pub fn with_latency(label: impl Into<String>, window: LatencyWindow) -> Self {
        Self::reporting(label.into(), None, Some(window))
    }

    fn reporting(label: String, total: Option<u64>, window: Option<LatencyWindow>) -> Self {
        let done = Arc::new(AtomicU64::new(0));
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
                let latency = window
                    .as_ref()
                    .map(|window| window.take())
                    .filter(|second| second.count() > 0)
                    .map(|second| {
                        let ms = |us: u64| us as f64 / 1000.0;
                        format!(
                            ", p99 {:.1} ms, max {:.1} ms",
                            ms(second.quantile_us(0.99)),
                            ms(second.max_us())
                        )
                    })
                    .unwrap_or_default();
                eprintln!(
                    "{label}: {:>5.1}s {now} done{share}, {} /s{latency}",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latency_window_hands_over_each_second_once() {
        let window = LatencyWindow::default();
        let client = window.clone();
        client.record(Duration::from_millis(2));
        client.record(Duration::from_millis(40));
        let second = window.take();
        assert_eq!(second.count(), 2);
        assert!(second.max_us() >= 39_900, "{}", second.max_us());
        assert_eq!(window.take().count(), 0);
    }
}
