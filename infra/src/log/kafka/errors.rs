//! Translation of librdkafka's errors into [`Error`]s that say what failed and why, in words
//! of the log rather than of the driver.

use std::fmt::Display;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::config::DELIVERY_TIMEOUT_MS;
use crate::Error;

/// `action` failed with `error` (e.g. "appending to orders[3]").
pub(super) fn broker_error(action: impl Display, error: &KafkaError) -> Error {
    Error::Storage(format!("{action} failed: {}", meaning(error)))
}

/// What an rdkafka error means to a user of the log.
pub(super) fn meaning(error: &KafkaError) -> String {
    match error.rdkafka_error_code() {
        Some(RDKafkaErrorCode::MessageTimedOut) => format!(
            "Kafka did not acknowledge the record within {} s (delivery.timeout.ms); it may or \
             may not have been written",
            DELIVERY_TIMEOUT_MS / 1000
        ),
        Some(RDKafkaErrorCode::AllBrokersDown) => "no Kafka broker is reachable".into(),
        Some(RDKafkaErrorCode::OperationTimedOut | RDKafkaErrorCode::RequestTimedOut) => {
            "Kafka did not answer in time".into()
        }
        Some(RDKafkaErrorCode::MessageSizeTooLarge) => {
            "the record is larger than the broker accepts (message.max.bytes)".into()
        }
        Some(
            RDKafkaErrorCode::RebalanceInProgress
            | RDKafkaErrorCode::IllegalGeneration
            | RDKafkaErrorCode::UnknownMemberId,
        ) => "the consumer group is rebalancing or this member left it; the partitions may \
              belong to another member now"
            .into(),
        Some(RDKafkaErrorCode::GroupAuthorizationFailed) => {
            "this client is not allowed to use the consumer group".into()
        }
        Some(RDKafkaErrorCode::TopicAuthorizationFailed) => {
            "this client is not allowed to use the topic".into()
        }
        Some(code) => code.to_string(),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_timeouts_name_the_setting_and_the_uncertainty() {
        let error = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        let message = broker_error("appending to orders[3]", &error).to_string();
        assert!(message.contains("appending to orders[3] failed"), "{message}");
        assert!(message.contains("delivery.timeout.ms"), "{message}");
        assert!(message.contains("may or may not"), "{message}");
    }

    #[test]
    fn group_errors_say_the_partitions_may_have_moved() {
        let error = KafkaError::ConsumerCommit(RDKafkaErrorCode::IllegalGeneration);
        assert!(meaning(&error).contains("rebalancing"));
    }

    #[test]
    fn other_codes_keep_librdkafka_description() {
        let error = KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownTopicOrPartition);
        assert!(!meaning(&error).is_empty());
    }
}
