//! The embedded `ReadStore`: tables of rows by partition and clustering key, on local disk.
//!
//! Layout of a store directory: `LOCK` (a second process fails with [`Error::Locked`]) and
//! `engine/`, a fjall database (see [`crate::embedded`] for why fjall) with the keyspaces
//! `tables` (declared table names), one `table:<name>` per table (its rows, see `keys` for the
//! layout) and `checkpoints` (projection progress). A store of the earlier single-`rows`
//! layout is moved to this one when it is opened (`legacy`).
//!
//! Durability: a batch's rows and checkpoints are one engine batch, so after a crash either all
//! are visible or none. `write` returns once its batch survives the process being killed; the
//! journal is fsynced at least once a second while writes come and when the store closes, so a
//! power loss can take the last moments of writes, which the projections apply again from their
//! checkpoints (see `writer`). `ensure_table` and `truncate` return once fsynced.

mod keys;
mod legacy;
mod writer;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::RwLock;

use self::writer::{Entry, StoreParts, StoreRequest, StoreWriter};
use crate::embedded::{
    DEFAULT_JOURNAL_BYTES, DirLock, KeyspaceTuning, open_database, open_keyspace,
    open_keyspace_tuned, storage_error,
};
use crate::store::{
    Checkpoint, ReadStore, RowKey, ScanPage, StoreCapabilities, WriteBatch, WriteOp,
};
use crate::{Error, Result};

/// The embedded store. Cheap to share behind an `Arc`; the files stay locked until it is dropped.
pub struct EmbeddedStore {
    // Field order is drop order: the writer finishes, the engine closes, the lock goes last.
    writer: StoreWriter,
    /// Every declared table and the keyspace of its rows.
    tables: Arc<RwLock<Tables>>,
    checkpoints: fjall::Keyspace,
    dir: String,
    _db: fjall::Database,
    _lock: DirLock,
}

/// Declared tables by name, each with the keyspace of its rows.
pub(super) type Tables = HashMap<String, fjall::Keyspace>;

/// How a table's keyspace is tuned (BENCHMARKS.md, `replay`, measured on 1,000,000 events).
/// Memtables half the log's: a rebuild writes several tables at once, each with a memtable of
/// its own, and smaller memtables made it faster as well as smaller (8.5–9.7 s and a 454–574
/// MiB peak with 8 MiB, 9.5–9.7 s and 654–671 MiB with 16 MiB; 4 MiB was slower again).
/// Compaction waits for eight level-0 tables instead of four: a table's keys are spread by
/// their hash, so every compaction into level 1 rewrites most of it, and doing so half as
/// often took about a tenth off a rebuild's CPU (nine interleaved pairs: 4.5–5.6 s against
/// 4.8–6.3 s). Point reads check up to twice as many level-0 tables' filters. Uncompressed:
/// rows are read one at a time, and each read of a compressed block would decompress it.
const TABLE_TUNING: KeyspaceTuning = KeyspaceTuning {
    memtable_bytes: 8 * 1024 * 1024,
    l0_compaction_trigger: 8,
    point_reads: true,
    compressed: false,
};

/// Opens (or creates) the keyspace of a table's rows.
pub(super) fn open_table(db: &fjall::Database, table: &str) -> Result<fjall::Keyspace> {
    open_keyspace_tuned(db, &keys::table_keyspace(table), TABLE_TUNING)
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
        let db = open_database(&dir.join("engine"), DEFAULT_JOURNAL_BYTES)?;
        let tables_keyspace = open_keyspace(&db, "tables")?;
        let checkpoints = open_keyspace(&db, "checkpoints")?;
        let mut tables = Tables::new();
        for entry in tables_keyspace.iter() {
            let name = entry.key().map_err(storage_error)?;
            let name = String::from_utf8(name.to_vec())
                .map_err(|_| Error::Storage("corrupt table name in the embedded store".into()))?;
            let keyspace = open_table(&db, &name)?;
            tables.insert(name, keyspace);
        }
        legacy::move_rows_to_table_keyspaces(&db, &tables_keyspace, &mut tables)?;
        let tables = Arc::new(RwLock::new(tables));
        let writer = StoreWriter::start(StoreParts {
            db: db.clone(),
            tables_keyspace,
            tables: tables.clone(),
        })?;
        Ok(Self {
            writer,
            tables,
            checkpoints,
            dir: dir.display().to_string(),
            _db: db,
            _lock: lock,
        })
    }

    /// The keyspace of a declared table's rows.
    fn table(&self, table: &str) -> Result<fjall::Keyspace> {
        self.tables.read().get(table).cloned().ok_or_else(|| Error::UnknownTable(table.to_owned()))
    }
}

#[async_trait]
impl ReadStore for EmbeddedStore {
    fn capabilities(&self) -> StoreCapabilities {
        StoreCapabilities {
            description: format!(
                "embedded store at {} (fjall, fsync at least once a second)",
                self.dir
            ),
            shared: false,
        }
    }

    async fn ensure_table(&self, table: &str) -> Result<()> {
        if table.is_empty() {
            return Err(Error::Invalid("a table needs a name".into()));
        }
        if table.len() > keys::MAX_TABLE_NAME {
            return Err(Error::Invalid(format!(
                "table name is {} bytes; the limit is {}",
                table.len(),
                keys::MAX_TABLE_NAME
            )));
        }
        if self.tables.read().contains_key(table) {
            return Ok(());
        }
        let table = table.to_owned();
        self.writer.call(|reply| StoreRequest::EnsureTable { table, reply }).await
    }

    async fn get(&self, table: &str, key: &RowKey) -> Result<Option<Bytes>> {
        let rows = self.table(table)?;
        let value =
            rows.get(keys::row_key(&key.partition, &key.clustering)).map_err(storage_error)?;
        Ok(value.map(|value| Bytes::copy_from_slice(&value)))
    }

    async fn get_many(&self, table: &str, keys: &[RowKey]) -> Result<Vec<Option<Bytes>>> {
        let rows = self.table(table)?;
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            let row = keys::row_key(&key.partition, &key.clustering);
            let value = rows.get(row).map_err(storage_error)?;
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
        let table_rows = self.table(table)?;
        if limit == 0 {
            return Err(Error::Invalid("a scan needs a limit of at least 1".into()));
        }
        let prefix = keys::partition_prefix(partition);
        let entries = match after {
            None => table_rows.prefix(&prefix),
            Some(after) => {
                let start = keys::row_key(partition, after);
                table_rows.range((std::ops::Bound::Excluded(start), std::ops::Bound::Unbounded))
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
        {
            let tables = self.tables.read();
            for op in &batch.ops {
                let (table, key, value) = match op {
                    WriteOp::Put { table, key, value } => (table, key, Some(value.to_vec())),
                    WriteOp::Delete { table, key } => (table, key, None),
                };
                let keyspace =
                    tables.get(table).ok_or_else(|| Error::UnknownTable(table.clone()))?;
                let key = keys::row_key(&key.partition, &key.clustering);
                entries.push(Entry { keyspace: keyspace.clone(), key, value });
            }
        }
        for checkpoint in &batch.checkpoints {
            entries.push(Entry {
                keyspace: self.checkpoints.clone(),
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
        // The writer answers `UnknownTable` for a table never declared.
        let table = table.to_owned();
        self.writer.call(|reply| StoreRequest::Truncate { table, reply }).await
    }
}
