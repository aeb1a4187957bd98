//! Row changes staged for one store batch. Events later in a batch must see the changes of
//! earlier ones (two events of one product, two products of one category), so reads go through
//! the staged rows first, then the batch still being written, then the projection's row cache,
//! and only then the store.

use std::collections::HashMap;

use bytes::Bytes;
use nagare_infra::{ReadStore, RowKey, WriteOp};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::row_cache::{RowAddress, RowCache};
use crate::Result;
use crate::read_models::rows;

/// Puts (`Some`) and deletes (`None`) by table and key; the last change of a row wins.
pub(crate) type StagedRows = HashMap<RowAddress, Option<Bytes>, ahash::RandomState>;

/// The rows a batch stages, over what the store (and the writes not yet in it) hold.
#[derive(Debug)]
pub(crate) struct StagedWrites<'a> {
    store: &'a dyn ReadStore,
    /// The previous batch's rows while its store write is still under way.
    writing: Option<&'a StagedRows>,
    cache: &'a mut RowCache,
    rows: StagedRows,
}

impl<'a> StagedWrites<'a> {
    /// Staged rows are sized for a batch of `events` up front: most events stage one row, a
    /// creation several, and growing the map as it fills rehashes every row staged so far.
    pub(crate) fn new(
        store: &'a dyn ReadStore,
        writing: Option<&'a StagedRows>,
        cache: &'a mut RowCache,
        events: usize,
    ) -> Self {
        let rows = StagedRows::with_capacity_and_hasher(events * 2, Default::default());
        Self { store, writing, cache, rows }
    }

    /// The row as the batch so far leaves it.
    pub(crate) async fn get<T: DeserializeOwned>(
        &mut self,
        table: &'static str,
        key: &RowKey,
    ) -> Result<Option<T>> {
        let bytes = self.latest(table, key).await?;
        bytes.map(|bytes| rows::decode(table, &bytes)).transpose()
    }

    async fn latest(&mut self, table: &'static str, key: &RowKey) -> Result<Option<Bytes>> {
        let address = (table, key.clone());
        if let Some(staged) = self.rows.get(&address) {
            return Ok(staged.clone());
        }
        if let Some(written) = self.writing.and_then(|writing| writing.get(&address)) {
            return Ok(written.clone());
        }
        if let Some(cached) = self.cache.get(&address) {
            return Ok(cached);
        }
        let stored = self.store.get(table, key).await?;
        self.cache.insert(table, address.1, stored.clone());
        Ok(stored)
    }

    pub(crate) fn put<T: Serialize>(
        &mut self,
        table: &'static str,
        key: RowKey,
        row: &T,
    ) -> Result<()> {
        let value = rows::encode(table, row)?;
        self.rows.insert((table, key), Some(value));
        Ok(())
    }

    pub(crate) fn delete(&mut self, table: &'static str, key: RowKey) {
        self.rows.insert((table, key), None);
    }

    /// Adds `delta` to a counter row (absent counts as zero). A row may go below zero: it may
    /// be one of several rows summed into a count (see `tables::count_key`).
    pub(crate) async fn add_to_count(
        &mut self,
        table: &'static str,
        key: RowKey,
        delta: i64,
    ) -> Result<()> {
        let count: i64 = self.get(table, &key).await?.unwrap_or(0);
        self.put(table, key, &count.saturating_add(delta))
    }

    pub(crate) fn into_rows(self) -> StagedRows {
        self.rows
    }
}

/// The store operations that write `rows`.
pub(crate) fn write_ops(rows: &StagedRows) -> Vec<WriteOp> {
    rows.iter()
        .map(|((table, key), value)| match value {
            Some(value) => {
                WriteOp::Put { table: (*table).to_owned(), key: key.clone(), value: value.clone() }
            }
            None => WriteOp::Delete { table: (*table).to_owned(), key: key.clone() },
        })
        .collect()
}
