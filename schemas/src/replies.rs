//! Replies: the command processor's answer to one command, written to the replies topic and
//! awaited by the gateway that sent the command.

use serde::{Deserialize, Serialize};

/// Where an event was written (an Avro record inside `CommandAccepted`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogPosition {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// The command was applied (or had been applied before: `duplicate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandAccepted {
    pub command_id: String,
    pub aggregate_id: String,
    /// The aggregate's version after the command.
    pub version: i64,
    /// Where the command's events were written, in order.
    pub positions: Vec<LogPosition>,
    /// True when the command id had been seen before: nothing new was written.
    pub duplicate: bool,
}

/// Why a command was refused; maps one-to-one onto the API's error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RejectionCode {
    #[serde(rename = "VALIDATION_FAILED")]
    ValidationFailed,
    #[serde(rename = "NOT_FOUND")]
    NotFound,
    #[serde(rename = "CONFLICT")]
    Conflict,
}

impl RejectionCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionCode::ValidationFailed => "VALIDATION_FAILED",
            RejectionCode::NotFound => "NOT_FOUND",
            RejectionCode::Conflict => "CONFLICT",
        }
    }
}

/// The command was refused; nothing was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRejected {
    pub command_id: String,
    pub aggregate_id: String,
    pub code: RejectionCode,
    /// The input field at fault, when one is.
    pub field: Option<String>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandReply {
    Accepted(CommandAccepted),
    Rejected(CommandRejected),
}

impl CommandReply {
    pub fn command_id(&self) -> &str {
        match self {
            CommandReply::Accepted(a) => &a.command_id,
            CommandReply::Rejected(r) => &r.command_id,
        }
    }
}
