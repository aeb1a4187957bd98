//! Which consumer groups the projections join, following the store.
//!
//! A shared store (ScyllaDB) is written by one group of projections for the whole deployment:
//! `{prefix}projections.{name}`. A store that belongs to one process (the embedded store) is a
//! replica of its own: its projections must read every partition, so they join groups no other
//! process joins, `{prefix}projections.{replica id}.{name}`. The replica id is created once and
//! kept in the store itself, so a restarted process resumes as the same groups, and a fresh
//! store directory is a fresh replica.

use bytes::Bytes;
use nagare_infra::{ReadStore, RowKey, WriteBatch, WriteOp};
use nagare_schemas::topics::Topics;

use crate::{Error, Result};

/// The table holding this store's replica id, one row.
pub const REPLICA_TABLE: &str = "nagare_replica";
/// The one row's partition key.
const REPLICA_ROW: &[u8] = b"replica-id";
/// Longest replica id accepted from the store: a UUID is 36 characters; the bound keeps a
/// damaged row out of consumer-group names.
const MAX_REPLICA_ID: usize = 64;

/// The replica id of this store: read from [`REPLICA_TABLE`], or created (a UUID v7) and
/// stored durably on first use. The embedded store belongs to one process, so two first uses
/// do not race.
pub async fn replica_id(store: &dyn ReadStore) -> Result<String> {
    store.ensure_table(REPLICA_TABLE).await?;
    let key = RowKey { partition: Bytes::from_static(REPLICA_ROW), clustering: Bytes::new() };
    if let Some(stored) = store.get(REPLICA_TABLE, &key).await? {
        return parse_replica_id(&stored);
    }
    let id = uuid::Uuid::now_v7().hyphenated().to_string();
    let put = WriteOp::Put {
        table: REPLICA_TABLE.to_owned(),
        key,
        value: Bytes::copy_from_slice(id.as_bytes()),
    };
    store.write(WriteBatch { ops: vec![put], checkpoints: Vec::new() }).await?;
    tracing::info!(replica = %id, "created the read-model replica id of this store");
    Ok(id)
}

/// The consumer-group prefix of the projections writing `store` (see the module docs).
pub async fn projection_group_prefix(store: &dyn ReadStore, topics: &Topics) -> Result<String> {
    if store.capabilities().shared {
        return Ok(format!("{}projections.", topics.prefix()));
    }
    let replica = replica_id(store).await?;
    Ok(format!("{}projections.{replica}.", topics.prefix()))
}

/// A stored id must be short text of letters, digits and `-`, as written by [`replica_id`].
fn parse_replica_id(stored: &[u8]) -> Result<String> {
    let corrupt = |reason: String| Error::CorruptRow { table: REPLICA_TABLE.to_owned(), reason };
    let text = std::str::from_utf8(stored)
        .map_err(|_| corrupt("the replica id is not UTF-8".to_owned()))?;
    if text.is_empty() || text.len() > MAX_REPLICA_ID {
        return Err(corrupt(format!(
            "the replica id has {} bytes; expected 1 to {MAX_REPLICA_ID}",
            text.len()
        )));
    }
    if !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(corrupt(
            "the replica id holds characters other than letters, digits and `-`".to_owned(),
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    async fn store_in(dir: &std::path::Path) -> Arc<dyn ReadStore> {
        let url = format!("embedded://{}", dir.display());
        nagare_infra::open_store(&url).await.unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn the_id_is_created_once_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first = {
            let store = store_in(dir.path()).await;
            let first = replica_id(store.as_ref()).await.unwrap();
            assert_eq!(replica_id(store.as_ref()).await.unwrap(), first);
            first
        };
        let reopened = store_in(dir.path()).await;
        assert_eq!(replica_id(reopened.as_ref()).await.unwrap(), first);
        assert!(uuid::Uuid::parse_str(&first).is_ok(), "{first}");
    }

    #[tokio::test]
    async fn each_store_is_its_own_replica_with_its_own_groups() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (a, b) = (store_in(a.path()).await, store_in(b.path()).await);
        let topics = Topics::with_prefix("shop.");
        let prefix_a = projection_group_prefix(a.as_ref(), &topics).await.unwrap();
        let prefix_b = projection_group_prefix(b.as_ref(), &topics).await.unwrap();
        assert_ne!(prefix_a, prefix_b);
        let id_a = replica_id(a.as_ref()).await.unwrap();
        assert_eq!(prefix_a, format!("shop.projections.{id_a}."));
    }

    #[test]
    fn a_damaged_row_is_reported_not_used() {
        assert_eq!(parse_replica_id(b"0195f3a0-7c2e-7000").unwrap(), "0195f3a0-7c2e-7000");
        for bad in [&b""[..], b"\xff\xfe", b"a b", b"a.b", &[b'a'; 65]] {
            let error = parse_replica_id(bad).unwrap_err().to_string();
            assert!(error.contains(REPLICA_TABLE), "{error}");
        }
    }
}
