//! What a mutation answers: where its events were written.

use async_graphql::{ID, SimpleObject};
use nagare_schemas::replies::CommandAccepted;

use super::saturating_int;
use crate::graphql::scalars::Offset;

#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct LogPosition {
    pub topic: String,
    pub partition: i32,
    pub offset: Offset,
}

#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct CommandReceipt {
    pub command_id: ID,
    pub aggregate_id: ID,
    /// The aggregate's version after the command.
    pub version: i32,
    /// Where the command's events were written.
    pub positions: Vec<LogPosition>,
    /// True when the commandId had been seen before: nothing new was written.
    pub duplicate: bool,
}

impl From<CommandAccepted> for CommandReceipt {
    fn from(accepted: CommandAccepted) -> Self {
        CommandReceipt {
            command_id: ID(accepted.command_id),
            aggregate_id: ID(accepted.aggregate_id),
            version: saturating_int(accepted.version),
            positions: accepted
                .positions
                .into_iter()
                .map(|p| LogPosition {
                    topic: p.topic,
                    partition: p.partition,
                    // Offsets are never negative; a corrupt one shows as 0 instead of failing.
                    offset: Offset(u64::try_from(p.offset).unwrap_or(0)),
                })
                .collect(),
            duplicate: accepted.duplicate,
        }
    }
}
