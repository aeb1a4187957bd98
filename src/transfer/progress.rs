//! Progress of an export or import: a bar on a terminal, a log line every few seconds otherwise
//! (a bar redrawn into a file or a CI log would be noise).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the plain progress line is logged when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(crate) struct Progress {
    /// What is being done, e.g. `exporting`.
    task: &'static str,
    /// What is counted: `records` or `bytes`.
    unit: &'static str,
    bar: Option<ProgressBar>,
    total: u64,
    done: u64,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    pub(crate) fn new(task: &'static str, total: u64, unit: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let template = format!(
                "{{msg}} [{{elapsed_precise}}] {{wide_bar}} {{human_pos}}/{{human_len}} {unit} \
                 ({{per_sec}}, ETA {{eta}})"
            );
            if let Ok(style) = ProgressStyle::with_template(&template) {
                bar.set_style(style);
            }
            bar.set_message(task);
            bar
        });
        let now = Instant::now();
        Self { task, unit, bar, total, done: 0, started: now, last_line: now }
    }

    pub(crate) fn advance(&mut self, count: u64) {
        self.done += count;
        if let Some(bar) = &self.bar {
            bar.inc(count);
            return;
        }
        if self.last_line.elapsed() >= LINE_EVERY {
            self.last_line = Instant::now();
            let seconds = self.started.elapsed().as_secs_f64();
            let rate = if seconds > 0.0 { self.done as f64 / seconds } else { 0.0 };
            tracing::info!(
                done = self.done,
                total = self.total,
                per_second = rate.round() as u64,
                "{} {}/{} {}",
                self.task,
                self.done,
                self.total,
                self.unit
            );
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // An error ends the task early: leave the bar where it stopped, visible above the error.
        if let Some(bar) = &self.bar
            && !bar.is_finished()
        {
            bar.abandon();
        }
    }
}
