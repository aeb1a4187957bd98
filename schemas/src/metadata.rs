//! Record headers: the metadata every command, event and reply carries next to its Avro body,
//! so tools can route and filter without decoding values. Values are UTF-8 strings.

/// `CreateProduct`, … on the commands topic.
pub const COMMAND_TYPE: &str = "command_type";
/// `ProductCreated`, … on events topics.
pub const EVENT_TYPE: &str = "event_type";
/// `Category`, `Product` or `Order`.
pub const AGGREGATE_TYPE: &str = "aggregate_type";
pub const AGGREGATE_ID: &str = "aggregate_id";
/// The aggregate's version after this event (1 for its first event).
pub const AGGREGATE_VERSION: &str = "aggregate_version";
/// The command that produced an event, or that a reply answers.
pub const COMMAND_ID: &str = "command_id";
/// Shared by every message of one business flow (an order and all its saga steps).
pub const CORRELATION_ID: &str = "correlation_id";
/// The message that directly caused this one.
pub const CAUSATION_ID: &str = "causation_id";
/// On commands: which gateway instance waits for the reply.
pub const REPLY_TO: &str = "reply_to";
