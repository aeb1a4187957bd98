//! Open-loop load: sends are due at fixed times whatever the server does, and latency counts
//! from the time a send was due, so a stalled server shows as latency instead of silently
//! lowering the load (coordinated omission).

use std::time::Duration;

use tokio::time::Instant;

/// Send times at a fixed rate from a start.
#[derive(Debug, Clone, Copy)]
pub struct OpenLoopSchedule {
    start: Instant,
    interval: Duration,
}

impl OpenLoopSchedule {
    /// `rate` sends per second in total; at most one per nanosecond.
    pub fn new(start: Instant, rate: f64) -> anyhow::Result<Self> {
        if !(rate.is_finite() && rate > 0.0 && rate <= 1e9) {
            anyhow::bail!("the rate must be between 0 and 1e9 sends per second, not {rate}");
        }
        Ok(Self { start, interval: Duration::from_secs_f64(1.0 / rate) })
    }

    /// When send number `n` (from 0) is due.
    pub fn due(&self, n: u64) -> Instant {
        let offset = self.interval.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX));
        // Beyond u32::MAX sends the product is computed in nanoseconds instead.
        if n > u64::from(u32::MAX) {
            let nanos = self.interval.as_nanos().saturating_mul(u128::from(n));
            return self.start + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        }
        self.start + offset
    }

    /// How many sends were due by `now` (the index of the next one not yet due).
    pub fn due_by(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.start).as_nanos();
        let interval = self.interval.as_nanos().max(1);
        u64::try_from(elapsed / interval + 1).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_are_evenly_spaced_from_the_start() {
        let start = Instant::now();
        let schedule = OpenLoopSchedule::new(start, 1_000.0).unwrap();
        assert_eq!(schedule.due(0), start);
        assert_eq!(schedule.due(1) - start, Duration::from_millis(1));
        assert_eq!(schedule.due(2_500) - start, Duration::from_millis(2_500));
    }

    #[test]
    fn the_count_due_follows_the_clock_not_the_responses() {
        let start = Instant::now();
        let schedule = OpenLoopSchedule::new(start, 100.0).unwrap();
        assert_eq!(schedule.due_by(start), 1, "the first send is due at once");
        assert_eq!(schedule.due_by(start + Duration::from_millis(995)), 100);
        assert_eq!(schedule.due_by(start + Duration::from_secs(1)), 101);
    }

    #[test]
    fn rates_out_of_range_are_refused_with_the_value() {
        for bad in [0.0, -5.0, f64::NAN, f64::INFINITY, 2e9] {
            let error = OpenLoopSchedule::new(Instant::now(), bad).unwrap_err().to_string();
            assert!(error.contains("rate"), "{error}");
        }
    }
}
