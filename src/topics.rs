//! `nagare topics ensure|describe`: the declared topics applied to a log, and shown with drift.

use crate::cli::TopicsCommand;

pub(crate) async fn run(command: TopicsCommand) -> anyhow::Result<()> {
    anyhow::bail!("`nagare topics` is not available in this build ({command:?})")
}
