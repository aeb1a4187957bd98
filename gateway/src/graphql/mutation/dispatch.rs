//! Sends a validated command, turns the processor's reply into a receipt or an API error, and
//! for `STRONG` waits until the read models show the command's events.

use async_graphql::Context;
use nagare_infra::Position;
use nagare_schemas::replies::{CommandAccepted, CommandReply};

use super::build::PlannedCommand;
use crate::graphql::errors::ApiError;
use crate::graphql::services::services;
use crate::graphql::types::{CommandReceipt, Consistency};

pub(crate) async fn dispatch(
    ctx: &Context<'_>,
    planned: PlannedCommand,
    consistency: Consistency,
) -> Result<CommandReceipt, ApiError> {
    let services = services(ctx)?;
    let command_type = planned.command.command_type();
    let command_id = planned.command_id.clone();
    let reply = services.commands.send(planned.command, planned.command_id, None).await?;
    let accepted = match reply {
        CommandReply::Accepted(accepted) => accepted,
        CommandReply::Rejected(rejected) => {
            tracing::debug!(%command_id, command_type, code = rejected.code.as_str(), field = ?rejected.field, "command rejected");
            return Err(rejected.into());
        }
    };
    // Per command, so at debug: at info a busy gateway would write thousands of lines a
    // second, and spend CPU on them that its commands need (BENCHMARKS.md).
    tracing::debug!(%command_id, command_type, duplicate = accepted.duplicate, "command accepted");
    if consistency == Consistency::Strong {
        let positions = log_positions(&accepted)?;
        services
            .progress
            .wait_for(&positions, services.consistency_timeout)
            .await
            .map_err(ApiError::from)?;
    }
    Ok(accepted.into())
}

/// The reply's positions as the log names them.
fn log_positions(accepted: &CommandAccepted) -> Result<Vec<Position>, ApiError> {
    accepted
        .positions
        .iter()
        .map(|p| {
            let partition = u32::try_from(p.partition).ok();
            let offset = u64::try_from(p.offset).ok();
            match (partition, offset) {
                (Some(partition), Some(offset)) => {
                    Ok(Position { topic: p.topic.clone(), partition, offset })
                }
                _ => Err(ApiError::unavailable(format!(
                    "the command was applied, but its reply names an impossible log position \
                     ({}[{}]@{}), so the read models cannot be awaited; query again shortly",
                    p.topic, p.partition, p.offset
                ))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use nagare_schemas::replies::LogPosition;

    use super::*;

    fn accepted(positions: Vec<LogPosition>) -> CommandAccepted {
        CommandAccepted {
            command_id: "c".into(),
            aggregate_id: "a".into(),
            version: 1,
            positions,
            duplicate: false,
        }
    }

    #[test]
    fn reply_positions_become_log_positions() {
        let reply = accepted(vec![LogPosition { topic: "t".into(), partition: 2, offset: 40 }]);
        let positions = log_positions(&reply).ok();
        assert_eq!(positions, Some(vec![Position { topic: "t".into(), partition: 2, offset: 40 }]));
    }

    #[test]
    fn an_impossible_position_is_an_error_not_a_panic() {
        let reply = accepted(vec![LogPosition { topic: "t".into(), partition: -1, offset: 4 }]);
        assert!(log_positions(&reply).is_err());
    }
}
