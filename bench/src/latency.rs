//! Latency recording in an HDR histogram, so tail percentiles keep their precision.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Highest latency the histogram resolves, in microseconds (one minute); longer ones are
/// recorded as this value so an outlier never fails a run.
const MAX_TRACKED_US: u64 = 60_000_000;
/// Significant decimal digits kept for every value.
const SIGNIFICANT_DIGITS: u8 = 3;

/// Latencies of one run, in microseconds.
#[derive(Debug, Clone)]
pub struct LatencyRecorder {
    histogram: Histogram<u64>,
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyRecorder {
    pub fn new() -> Self {
        // The bounds are constants within what `new_with_bounds` accepts (low ≥ 1,
        // high ≥ 2·low, sigfig ≤ 5); a unit test constructs it.
        #[allow(clippy::expect_used)]
        let histogram = Histogram::new_with_bounds(1, MAX_TRACKED_US, SIGNIFICANT_DIGITS)
            .expect("constant histogram bounds are valid");
        Self { histogram }
    }

    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.histogram.saturating_record(micros.clamp(1, MAX_TRACKED_US));
    }

    /// Adds another recorder's values (each client records its own, merged at the end).
    pub fn merge(&mut self, other: &LatencyRecorder) {
        // Both share the same bounds and every value was clamped into them, so `add` has no
        // value out of range to refuse.
        if let Err(error) = self.histogram.add(&other.histogram) {
            tracing::warn!(%error, "latencies of one client could not be merged");
        }
    }

    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The latency at `quantile` (0.0–1.0) in microseconds; 0 when nothing was recorded.
    pub fn quantile_us(&self, quantile: f64) -> u64 {
        if self.histogram.is_empty() {
            return 0;
        }
        self.histogram.value_at_quantile(quantile)
    }

    pub fn max_us(&self) -> u64 {
        if self.histogram.is_empty() { 0 } else { self.histogram.max() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_uniform_spread() {
        let mut recorder = LatencyRecorder::new();
        for micros in 1..=10_000u64 {
            recorder.record(Duration::from_micros(micros));
        }
        assert_eq!(recorder.count(), 10_000);
        // Three significant digits: within 0.1 % of the exact value.
        let near = |actual: u64, expected: u64| actual.abs_diff(expected) <= expected / 1000 + 1;
        assert!(near(recorder.quantile_us(0.5), 5_000), "{}", recorder.quantile_us(0.5));
        assert!(near(recorder.quantile_us(0.99), 9_900), "{}", recorder.quantile_us(0.99));
        assert!(near(recorder.quantile_us(0.999), 9_990), "{}", recorder.quantile_us(0.999));
        assert!(near(recorder.max_us(), 10_000), "{}", recorder.max_us());
    }

    #[test]
    fn a_single_outlier_shows_only_at_the_top() {
        let mut recorder = LatencyRecorder::new();
        for _ in 0..999 {
            recorder.record(Duration::from_micros(100));
        }
        recorder.record(Duration::from_secs(2));
        assert!(recorder.quantile_us(0.99) < 110);
        assert!(recorder.max_us() >= 1_999_000);
    }

    #[test]
    fn an_empty_recorder_reports_zero_and_huge_values_saturate() {
        let mut recorder = LatencyRecorder::new();
        assert_eq!((recorder.quantile_us(0.99), recorder.max_us()), (0, 0));
        recorder.record(Duration::from_secs(3600));
        assert!(recorder.max_us() >= MAX_TRACKED_US - MAX_TRACKED_US / 1000);
    }

    #[test]
    fn merging_adds_the_counts() {
        let mut a = LatencyRecorder::new();
        let mut b = LatencyRecorder::new();
        a.record(Duration::from_micros(10));
        b.record(Duration::from_micros(1000));
        b.record(Duration::from_micros(1000));
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert!(a.quantile_us(0.5) >= 999);
    }
}
