//! The shape every scenario has, and the one way they are run and printed.

use std::io::Write;

use crate::report::Report;

/// A benchmark workload. Implementations hold their settings; `run` sets up what it needs
/// (a fresh log, a server), drives the load, and returns the figures.
pub trait Scenario {
    /// The name on the command line and in the JSON line.
    fn name(&self) -> &'static str;

    fn run(&self) -> impl Future<Output = anyhow::Result<Report>> + Send;
}

/// Runs a scenario, prints its table to `out` followed by the JSON line, and returns the report.
pub async fn run_scenario(
    scenario: &impl Scenario,
    out: &mut impl Write,
) -> anyhow::Result<Report> {
    tracing::info!(scenario = scenario.name(), "benchmark starting");
    let report = scenario.run().await?;
    report.write_table(out)?;
    writeln!(out, "{}", report.json_line())?;
    out.flush()?;
    Ok(report)
}
