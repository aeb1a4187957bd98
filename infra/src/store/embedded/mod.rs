//! The embedded `ReadStore`: tables of rows by partition and clustering key, on local disk.
//!
//! Layout of a store directory: `LOCK` (a second process fails with [`Error::Locked`]) and
//! `engine/`, a fjall database (see [`crate::embedded`] for why fjall) with the keyspaces
//! `tables` (declared table names), `rows` (every table's rows, see `keys` for the layout)
//! and `checkpoints` (projection progress).
//!
//! Durability: `write`, `ensure_table` and `truncate` return once fsynced; a batch's rows and
//! checkpoints are one engine batch, so after a crash either all are visible or none.
//! Concurrent writes share fsyncs through the writer's group commit.

mod keys;
mod writer;

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::RwLock;

use self::writer::{Entry, StoreParts, StoreRequest, StoreWriter, Target};
use crate::embedded::{DirLock, open_database, open_keyspace, storage_error};
use crate::store::{
    Checkpoint, ReadStore, RowKey, ScanPage, StoreCapabilities, WriteBatch, WriteOp,
};
use crate::{Error, Result};

/// The embedded store. Cheap to share behind an `Arc`; the files stay locked until it is dropped.
pub struct EmbeddedStore {
    // Field order is drop order: the writer finishes, the engine closes, the lock goes last.
    writer: StoreWriter,
    tables: Arc<RwLock<HashSet<String>>>,
    rows: fjall::Keyspace,
    checkpoints: fjall::Keyspace,
    dir: String,
    _db: fjall::Database,
    _lock: DirLock,
}

impl fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedStore").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir`. Blocking: it recovers the engine's journal.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let lock = DirLock::acquire(dir)?;
        let db = open_database(&dir.join("engine"))?;
        let tables_keyspace = open_keyspace(&db, "tables")?;
        let rows = open_keyspace(&db, "rows")?;
        let checkpoints = open_keyspace(&db, "checkpoints")?;
        let mut names = HashSet::new();
        for entry in tables_keyspace.iter() {
            let name = entry.key().map_err(storage_error)?;
            let name = String::from_utf8(name.to_vec())
                .map_err(|_| Error::Storage("corrupt table name in the embedded store".into()))?;
            names.insert(name);
        }
        let tables = Arc::new(RwLock::new(names));
        let writer = StoreWriter::start(StoreParts {
            db: db.clone(),
            tables_keyspace,
            rows: rows.clone(),
            checkpoints: checkpoints.clone(),
            tables: tables.clone(),
        })?;
        Ok(Self {
            writer,
            tables,
            rows,
            checkpoints,
            dir: dir.display().to_string(),
            _db: db,
            _lock: lock,
        })
    }

    fn check_table(&self, table: &str) -> Result<()> {
        if self.tables.read().contains(table) {
            Ok(())
        } else {
            Err(Error::UnknownTable(table.to_owned()))
        }
    }
}

#[async_trait]
impl ReadStore for EmbeddedStore {
    fn capabilities(&self) -> StoreCapabilities {
        StoreCapabilities {
            description: format!("embedded store at {} (fjall, fsync per group commit)", self.dir),
            shared: false,
        }
    }

    async fn ensure_table(&self, table: &str) -> Result<()> {
        if table.is_empty() {
            return Err(Error::Invalid("a table needs a name".into()));
        }
        if self.tables.read().contains(table) {
            return Ok(());
        }
        let table = table.to_owned();
        self.writer.call(|reply| StoreRequest::EnsureTable { table, reply }).await
    }

    async fn get(&self, table: &str, key: &RowKey) -> Result<Option<Bytes>> {
        self.check_table(table)?;
        let row = keys::row_key(table, &key.partition, &key.clustering);
        let value = self.rows.get(row).map_err(storage_error)?;
        Ok(value.map(|value| Bytes::copy_from_slice(&value)))
    }

    async fn get_many(&self, table: &str, keys: &[RowKey]) -> Result<Vec<Option<Bytes>>> {
        self.check_table(table)?;
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            let row = keys::row_key(table, &key.partition, &key.clustering);
            let value = self.rows.get(row).map_err(storage_error)?;
            values.push(value.map(|value| Bytes::copy_from_slice(&value)));
        }
        Ok(values)
    }

    async fn scan(
        &self,
        table: &str,
        partition: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<ScanPage> {
        self.check_table(table)?;
        if limit == 0 {
            return Err(Error::Invalid("a scan needs a limit of at least 1".into()));
        }
        let prefix = keys::partition_prefix(table, partition);
        let entries = match after {
            None => self.rows.prefix(&prefix),
            Some(after) => {
                let start = keys::row_key(table, partition, after);
                self.rows.range((std::ops::Bound::Excluded(start), std::ops::Bound::Unbounded))
            }
        };
        let mut rows = Vec::new();
        let mut more = false;
        for entry in entries {
            let (key, value) = entry.into_inner().map_err(storage_error)?;
            if !key.starts_with(&prefix) {
                break;
            }
            if rows.len() == limit {
                more = true;
                break;
            }
            rows.push((keys::clustering_of(prefix.len(), &key), Bytes::copy_from_slice(&value)));
        }
        let next = if more { rows.last().map(|(clustering, _)| clustering.clone()) } else { None };
        Ok(ScanPage { rows, next })
    }

    async fn write(&self, batch: WriteBatch) -> Result<()> {
        let mut entries = Vec::with_capacity(batch.ops.len() + batch.checkpoints.len());
        for op in batch.ops {
            let entry = match op {
                WriteOp::Put { table, key, value } => {
                    self.check_table(&table)?;
                    Entry {
                        target: Target::Rows,
                        key: keys::row_key(&table, &key.partition, &key.clustering),
                        value: Some(value.to_vec()),
                    }
                }
                WriteOp::Delete { table, key } => {
                    self.check_table(&table)?;
                    Entry {
                        target: Target::Rows,
                        key: keys::row_key(&table, &key.partition, &key.clustering),
                        value: None,
                    }
                }
            };
            entries.push(entry);
        }
        for checkpoint in &batch.checkpoints {
            entries.push(Entry {
                target: Target::Checkpoints,
                key: keys::checkpoint_key(checkpoint),
                value: Some(checkpoint.next_offset.to_be_bytes().to_vec()),
            });
        }
        if entries.is_empty() {
            return Ok(());
        }
        self.writer.call(|reply| StoreRequest::Write { entries, reply }).await
    }

    async fn checkpoints(&self, projection: &str) -> Result<Vec<Checkpoint>> {
        let prefix = keys::projection_prefix(projection);
        let mut checkpoints = Vec::new();
        for entry in self.checkpoints.prefix(&prefix) {
            let (key, value) = entry.into_inner().map_err(storage_error)?;
            checkpoints.push(keys::decode_checkpoint(projection, &key, &value)?);
        }
        Ok(checkpoints)
    }

    async fn truncate(&self, table: &str) -> Result<()> {
        self.check_table(table)?;
        let table = table.to_owned();
        self.writer.call(|reply| StoreRequest::Truncate { table, reply }).await
    }
}
