//! `nagare topics ensure|describe`: the declared topics applied to a log, and shown beside it
//! with their watermarks and drift.

mod ensure;
mod json;
mod report;
mod table;

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use nagare_infra::EventLog;
use nagare_schemas::topics::Topics;

use crate::cli::{TopicsArgs, TopicsCommand};
use crate::topology::Declaration;

pub(crate) async fn run(command: TopicsCommand) -> anyhow::Result<()> {
    match command {
        TopicsCommand::Ensure(args) => {
            let (log, topics, declaration) = open(&args).await?;
            ensure::run(&*log, &topics, &declaration, args.partitions).await
        }
        TopicsCommand::Describe(args) => {
            let (log, topics, declaration) = open(&args.topics).await?;
            let report =
                report::gather(&*log, &topics, &declaration, args.topics.partitions).await?;
            let text = if args.json {
                json::render(&report)
            } else {
                table::render(&report, args.partitions_detail)
            };
            print(&text)
        }
    }
}

/// The log, the topic names and the declaration a `topics` command works with.
async fn open(args: &TopicsArgs) -> anyhow::Result<(Arc<dyn EventLog>, Topics, Declaration)> {
    let declaration = Declaration::builtin()?;
    let url = &args.log.log;
    let log = nagare_infra::open_log(url)
        .await
        .with_context(|| format!("cannot open the event log at {url}"))?;
    Ok((log, Topics::with_prefix(args.log.topic_prefix.clone()), declaration))
}

/// Writes the command's output to stdout in one piece.
fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}
