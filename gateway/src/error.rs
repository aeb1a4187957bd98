//! The gateway's error type.

use std::time::Duration;

/// What can go wrong in the gateway outside a single GraphQL field.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Infra(#[from] nagare_infra::Error),
    #[error(
        "no reply to command `{command_id}` within {timeout:?}: the command may still be applied; \
         retrying with the same commandId is safe"
    )]
    CommandTimeout { command_id: String, timeout: Duration },
    #[error("the gateway is shutting down and no longer waits for command replies")]
    BusStopped,
    #[error("the replies topic `{0}` has no partitions")]
    NoReplyPartitions(String),
    #[error("HTTP server error: {0}")]
    Http(#[source] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
