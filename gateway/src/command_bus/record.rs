//! A command as a record on the commands topic.

use bytes::Bytes;
use nagare_infra::{OutgoingRecord, Record};
use nagare_schemas::codec;
use nagare_schemas::commands::Command;
use nagare_schemas::metadata;

/// Who sent a command and where its reply goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Envelope<'a> {
    pub(crate) command_id: &'a str,
    /// The gateway instance waiting for the reply.
    pub(crate) reply_to: &'a str,
    /// The business flow the command belongs to; a command from a client starts its own.
    pub(crate) correlation_id: Option<&'a str>,
}

/// Keyed by aggregate id, so every command of an aggregate lands on the partition whose
/// processor owns that aggregate.
pub(crate) fn command_record(
    commands_topic: &str,
    command: &Command,
    envelope: &Envelope<'_>,
    timestamp_ms: i64,
) -> OutgoingRecord {
    let correlation_id = envelope.correlation_id.unwrap_or(envelope.command_id);
    let header =
        |name: &str, value: &str| (name.to_owned(), Bytes::copy_from_slice(value.as_bytes()));
    let headers = vec![
        header(metadata::COMMAND_TYPE, command.command_type()),
        header(metadata::COMMAND_ID, envelope.command_id),
        header(metadata::REPLY_TO, envelope.reply_to),
        header(metadata::CORRELATION_ID, correlation_id),
        header(metadata::AGGREGATE_TYPE, command.aggregate_type().as_str()),
        header(metadata::AGGREGATE_ID, command.aggregate_id()),
    ];
    OutgoingRecord {
        topic: commands_topic.to_owned(),
        partition: None,
        record: Record {
            key: Some(Bytes::copy_from_slice(command.aggregate_id().as_bytes())),
            value: Some(Bytes::from(codec::encode_command(command))),
            headers,
            timestamp_ms,
        },
    }
}

#[cfg(test)]
mod tests {
    use nagare_schemas::commands::DeleteCategory;

    use super::*;

    fn header<'r>(record: &'r OutgoingRecord, name: &str) -> Option<&'r [u8]> {
        record.record.header(name).map(|b| b.as_ref())
    }

    #[test]
    fn the_record_is_keyed_by_aggregate_and_carries_the_reply_address() {
        let command = Command::DeleteCategory(DeleteCategory {
            category_id: "0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b".to_owned(),
        });
        let envelope = Envelope { command_id: "cmd-1", reply_to: "gw-7", correlation_id: None };
        let record = command_record("nagare.commands", &command, &envelope, 42);

        assert_eq!(record.topic, "nagare.commands");
        assert_eq!(record.partition, None, "partitioned by key");
        assert_eq!(
            record.record.key.as_deref(),
            Some(b"0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b".as_slice())
        );
        assert_eq!(record.record.timestamp_ms, 42);
        assert_eq!(header(&record, metadata::COMMAND_TYPE), Some(b"DeleteCategory".as_slice()));
        assert_eq!(header(&record, metadata::COMMAND_ID), Some(b"cmd-1".as_slice()));
        assert_eq!(header(&record, metadata::REPLY_TO), Some(b"gw-7".as_slice()));
        assert_eq!(header(&record, metadata::CORRELATION_ID), Some(b"cmd-1".as_slice()));
        assert_eq!(header(&record, metadata::AGGREGATE_TYPE), Some(b"Category".as_slice()));
        assert_eq!(
            header(&record, metadata::AGGREGATE_ID),
            Some(b"0192f0c1-7a5e-7d2c-9b1e-3c4d5e6f7a8b".as_slice())
        );
        let decoded = record.record.value.as_deref().map(codec::decode_command);
        assert!(matches!(decoded, Some(Ok(c)) if c == command));
    }

    #[test]
    fn a_given_correlation_id_is_kept() {
        let command = Command::DeleteCategory(DeleteCategory { category_id: "x".to_owned() });
        let envelope =
            Envelope { command_id: "cmd-2", reply_to: "gw", correlation_id: Some("flow-9") };
        let record = command_record("t", &command, &envelope, 0);
        assert_eq!(header(&record, metadata::CORRELATION_ID), Some(b"flow-9".as_slice()));
    }
}
