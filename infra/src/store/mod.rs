//! The `ReadStore` port: tables of rows addressed by a partition key and a clustering key,
//! ScyllaDB's own data model, so a read model designed here maps one-to-one onto CQL tables.
//!
//! Keys and values are bytes; the read models above choose their encodings. Clustering keys
//! sort bytewise, so callers encode them order-preserving (big-endian integers, UUID bytes).

use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;

use crate::Result;
use crate::log::{Offset, TopicPartition};

#[cfg(feature = "embedded")]
pub mod embedded;

/// A row's address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowKey {
    pub partition: Bytes,
    pub clustering: Bytes,
}

/// One change in a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOp {
    Put { table: String, key: RowKey, value: Bytes },
    Delete { table: String, key: RowKey },
}

/// A projection's progress through one partition: the next offset it will apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub projection: String,
    pub tp: TopicPartition,
    pub next_offset: Offset,
}

/// Row changes and checkpoints written together: after a crash either all are visible or none,
/// so a projection that restarts from its checkpoint never applies an event twice.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct WriteBatch {
    pub ops: Vec<WriteOp>,
    pub checkpoints: Vec<Checkpoint>,
}

/// A page of a partition scan, in clustering-key order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ScanPage {
    pub rows: Vec<(Bytes, Bytes)>,
    /// Present when more rows follow: pass it as `after` to get the next page.
    pub next: Option<Bytes>,
}

/// What a store can promise, reported at start-up and in readiness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreCapabilities {
    pub description: String,
    /// Several processes read and write the same rows (ScyllaDB). When false (the embedded
    /// store) the store belongs to one process, which must keep its own replica of the read
    /// models up to date.
    pub shared: bool,
}

/// The read-model store. Implementations are cheap to share behind an `Arc`.
#[async_trait]
pub trait ReadStore: Send + Sync + fmt::Debug + 'static {
    fn capabilities(&self) -> StoreCapabilities;

    /// Creates the table if it is missing. Every table has the same shape:
    /// (partition blob, clustering blob) -> value blob.
    async fn ensure_table(&self, table: &str) -> Result<()>;

    async fn get(&self, table: &str, key: &RowKey) -> Result<Option<Bytes>>;

    /// Several rows at once (the DataLoader path); results in input order.
    async fn get_many(&self, table: &str, keys: &[RowKey]) -> Result<Vec<Option<Bytes>>>;

    /// Rows of one partition in clustering order, strictly after `after`, at most `limit`.
    async fn scan(
        &self,
        table: &str,
        partition: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<ScanPage>;

    /// Applies the batch atomically: its rows and checkpoints are visible together or not at
    /// all, after a crash too. Once it returns the batch survives the process ending; a backend
    /// may fsync on an interval (the embedded store, ScyllaDB's periodic commit log), so a power
    /// loss can take its last writes, rows and checkpoints together, which the projections then
    /// apply again from the log.
    async fn write(&self, batch: WriteBatch) -> Result<()>;

    /// Every checkpoint a projection has recorded.
    async fn checkpoints(&self, projection: &str) -> Result<Vec<Checkpoint>>;

    /// Removes every row of a table (used by rebuilds); the table remains.
    async fn truncate(&self, table: &str) -> Result<()>;
}
