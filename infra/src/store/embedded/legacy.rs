//! Moving a store of format 1 (every table's rows in one `rows` keyspace) to one keyspace per
//! table, when such a store is opened.
//!
//! Crash safety: the rows are copied in batches and the old keyspace is deleted only after the
//! last batch is durable. A crash before that leaves the old keyspace whole, and the next open
//! copies again; copying is idempotent, and nothing else writes while the store is opening.

use super::{Tables, keys, open_table};
use crate::Result;
use crate::embedded::{open_keyspace, storage_error};

/// The keyspace of format 1.
const LEGACY_ROWS: &str = "rows";
/// Rows per engine batch while copying, so a large store does not build one huge batch.
const COPY_BATCH: usize = 20_000;

pub(super) fn move_rows_to_table_keyspaces(
    db: &fjall::Database,
    tables_keyspace: &fjall::Keyspace,
    tables: &mut Tables,
) -> Result<()> {
    if !db.keyspace_exists(LEGACY_ROWS) {
        return Ok(());
    }
    let legacy = open_keyspace(db, LEGACY_ROWS)?;
    tracing::info!("moving the embedded store's rows to one keyspace per table");
    let moved = copy_rows(db, &legacy, tables_keyspace, tables)?;
    db.delete_keyspace(legacy).map_err(storage_error)?;
    tracing::info!(rows = moved, "moved the embedded store's rows to one keyspace per table");
    Ok(())
}

/// Copies every row of `legacy` into its table's keyspace; durable when it returns.
fn copy_rows(
    db: &fjall::Database,
    legacy: &fjall::Keyspace,
    tables_keyspace: &fjall::Keyspace,
    tables: &mut Tables,
) -> Result<u64> {
    let mut batch = db.batch();
    let (mut in_batch, mut moved) = (0_usize, 0_u64);
    for entry in legacy.iter() {
        let (key, value) = entry.into_inner().map_err(storage_error)?;
        let (table, partition, clustering) = keys::split_legacy_row_key(&key)?;
        if !tables.contains_key(table) {
            // Every row's table was declared first; declare it if the declaration was lost.
            let keyspace = open_table(db, table)?;
            batch.insert(tables_keyspace, table.as_bytes(), b"".as_slice());
            tables.insert(table.to_owned(), keyspace);
        }
        let rows = &tables[table];
        batch.insert(rows, keys::row_key(partition, clustering), value);
        in_batch += 1;
        moved += 1;
        if in_batch == COPY_BATCH {
            batch.commit().map_err(storage_error)?;
            batch = db.batch();
            in_batch = 0;
        }
    }
    // The fsync of the last batch makes the earlier ones, in the same journal, durable too.
    batch.durability(Some(fjall::PersistMode::SyncAll)).commit().map_err(storage_error)?;
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::store::embedded::EmbeddedStore;
    use crate::{ReadStore, RowKey};

    fn key(partition: &[u8], clustering: &[u8]) -> RowKey {
        RowKey {
            partition: Bytes::copy_from_slice(partition),
            clustering: Bytes::copy_from_slice(clustering),
        }
    }

    /// Writes a store the way format 1 did: table names in `tables`, rows in `rows`.
    fn write_format_1_store(dir: &std::path::Path) -> Result<()> {
        let db = crate::embedded::open_database(
            &dir.join("engine"),
            crate::embedded::DEFAULT_JOURNAL_BYTES,
        )?;
        let tables = open_keyspace(&db, "tables")?;
        let rows = open_keyspace(&db, LEGACY_ROWS)?;
        let mut batch = db.batch().durability(Some(fjall::PersistMode::SyncAll));
        batch.insert(&tables, "products", b"".as_slice());
        batch.insert(&tables, "listing", b"".as_slice());
        batch.insert(&rows, keys::legacy_row_key("products", b"p1", b""), b"one".as_slice());
        batch.insert(&rows, keys::legacy_row_key("products", b"p2", b""), b"two".as_slice());
        for clustering in [b"b", b"a", b"c"] {
            let key = keys::legacy_row_key("listing", b"all", clustering);
            batch.insert(&rows, key, clustering.as_slice());
        }
        // A row whose table declaration is missing.
        batch.insert(&rows, keys::legacy_row_key("orphan", b"o", b""), b"kept".as_slice());
        batch.commit().map_err(storage_error)
    }

    #[tokio::test]
    async fn a_format_1_store_opens_with_every_row_in_place() -> Result<()> {
        let dir = tempfile::tempdir()?;
        write_format_1_store(dir.path())?;
        for _ in 0..2 {
            // Opened twice: the second open finds nothing left to move.
            let store = EmbeddedStore::open(dir.path())?;
            assert_eq!(store.get("products", &key(b"p1", b"")).await?, Some("one".into()));
            assert_eq!(store.get("products", &key(b"p2", b"")).await?, Some("two".into()));
            assert_eq!(store.get("orphan", &key(b"o", b"")).await?, Some("kept".into()));
            let page = store.scan("listing", b"all", None, 10).await?;
            let clustering: Vec<Bytes> = page.rows.into_iter().map(|(c, _)| c).collect();
            assert_eq!(clustering, vec![Bytes::from("a"), Bytes::from("b"), Bytes::from("c")]);
        }
        Ok(())
    }

    #[tokio::test]
    async fn an_interrupted_move_is_finished_by_the_next_open() -> Result<()> {
        let dir = tempfile::tempdir()?;
        write_format_1_store(dir.path())?;
        {
            // The copy made, the old keyspace not yet deleted: as if the process died there.
            let db = crate::embedded::open_database(
                &dir.path().join("engine"),
                crate::embedded::DEFAULT_JOURNAL_BYTES,
            )?;
            let tables_keyspace = open_keyspace(&db, "tables")?;
            let legacy = open_keyspace(&db, LEGACY_ROWS)?;
            copy_rows(&db, &legacy, &tables_keyspace, &mut Tables::new())?;
        }
        let store = EmbeddedStore::open(dir.path())?;
        assert_eq!(store.get("products", &key(b"p1", b"")).await?, Some("one".into()));
        assert_eq!(store.scan("listing", b"all", None, 10).await?.rows.len(), 3);
        Ok(())
    }
}
