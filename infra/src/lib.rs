//! Nagare's infrastructure: the two ports at the edge of the core — [`EventLog`] (a partitioned,
//! durable log with consumer groups) and [`ReadStore`] (tables of rows by partition and clustering
//! key) — their backends, chosen by URL in [`connect`], and the conformance suites every backend
//! must pass. Nothing here knows the shop domain: the log and the store carry bytes.

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod connect;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod log;
pub mod partitioner;
pub mod store;

pub use connect::{open_log, open_store};
pub use log::{
    Cleanup, EventLog, GroupCommit, GroupConsumer, GroupEvent, LogCapabilities, LogReader, Offset,
    OutgoingRecord, Position, Record, StoredRecord, TopicPartition, TopicSpec, TopicStatus,
    Watermarks,
};
pub use store::{Checkpoint, ReadStore, RowKey, ScanPage, StoreCapabilities, WriteBatch, WriteOp};

/// Errors of the log and store backends, translated from driver errors to their meaning.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unsupported backend URL `{url}`: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("backend `{scheme}` is not compiled in; rebuild with the cargo feature `{feature}`")]
    FeatureNotEnabled { scheme: String, feature: String },
    #[error("the data directory {path} is in use by another Nagare process (lock file {lock})")]
    Locked { path: String, lock: String },
    #[error("unknown topic `{0}`")]
    UnknownTopic(String),
    #[error("partition {partition} does not exist in topic `{topic}` ({count} partitions)")]
    UnknownPartition { topic: String, partition: u32, count: u32 },
    #[error("unknown table `{0}`")]
    UnknownTable(String),
    #[error("offset {offset} of {tp} is out of range (low {low}, high {high})")]
    OffsetOutOfRange { tp: TopicPartition, offset: Offset, low: Offset, high: Offset },
    #[error("invalid argument: {0}")]
    Invalid(String),
    #[error("the backend is shutting down")]
    Closed,
    #[error("storage error: {0}")]
    Storage(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
