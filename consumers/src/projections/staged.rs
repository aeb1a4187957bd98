//! Row changes staged for one store batch. Events later in a batch must see the changes of
//! earlier ones (two events of one product, two products of one category), so reads go through
//! the staged rows before the store.

use std::collections::BTreeMap;

use bytes::Bytes;
use nagare_infra::{ReadStore, RowKey, WriteOp};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Result;
use crate::read_models::rows;

/// Staged puts (`Some`) and deletes (`None`) by table and key; the last change of a row wins.
#[derive(Debug)]
pub(crate) struct StagedWrites<'a> {
    store: &'a dyn ReadStore,
    rows: BTreeMap<(&'static str, RowKey), Option<Bytes>>,
}

impl<'a> StagedWrites<'a> {
    pub(crate) fn new(store: &'a dyn ReadStore) -> Self {
        Self { store, rows: BTreeMap::new() }
    }

    /// The row as the batch so far leaves it.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        table: &'static str,
        key: &RowKey,
    ) -> Result<Option<T>> {
        let bytes = match self.rows.get(&(table, key.clone())) {
            Some(staged) => staged.clone(),
            None => self.store.get(table, key).await?,
        };
        bytes.map(|bytes| rows::decode(table, &bytes)).transpose()
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

    /// Adds `delta` to a counter row (absent counts as zero), never going below zero.
    pub(crate) async fn add_to_count(
        &mut self,
        table: &'static str,
        key: RowKey,
        delta: i64,
    ) -> Result<()> {
        let count: i64 = self.get(table, &key).await?.unwrap_or(0);
        self.put(table, key, &count.saturating_add(delta).max(0))
    }

    pub(crate) fn into_ops(self) -> Vec<WriteOp> {
        self.rows
            .into_iter()
            .map(|((table, key), value)| match value {
                Some(value) => WriteOp::Put { table: table.to_owned(), key, value },
                None => WriteOp::Delete { table: table.to_owned(), key },
            })
            .collect()
    }
}
