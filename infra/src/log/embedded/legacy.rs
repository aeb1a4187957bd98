//! The log's layout mark, and moving a log of layout 1 (every record in one `records`
//! keyspace, keyed by topic id, partition and offset) to a keyspace per partition when such a
//! log is opened.
//!
//! Crash safety: the records are copied in batches, the mark is written with the last batch,
//! and the old keyspace is deleted only once that is durable. A crash before then leaves the
//! old keyspace whole and the next open copies again; copying is idempotent (same keys, same
//! bytes), and nothing else writes while the log is opening.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::codec;
use super::topics::{Declaration, open_partition};
use crate::embedded::{open_keyspace, storage_error};
use crate::{Error, Result};

/// The keyspace of layout 1.
const LEGACY_RECORDS: &str = "records";
/// Records per engine batch while copying, so a long log does not build one huge batch.
const COPY_BATCH: usize = 20_000;

/// Checks the layout mark of the log in `db`, moves a layout-1 log's records to their
/// partitions' keyspaces, and marks the log with this release's layout.
pub(super) fn upgrade(
    db: &fjall::Database,
    meta: &fjall::Keyspace,
    declarations: &[Declaration],
) -> Result<()> {
    let marked = match meta.get(codec::LAYOUT_KEY).map_err(storage_error)? {
        Some(mark) => Some(codec::decode_layout_mark(&mark)?),
        None => None,
    };
    if let Some(layout) = marked.filter(|layout| *layout > codec::LAYOUT) {
        return Err(Error::Storage(format!(
            "the embedded log has layout {layout}, written by a newer release of Nagare; \
             this release reads layouts up to {}",
            codec::LAYOUT
        )));
    }
    let legacy = if db.keyspace_exists(LEGACY_RECORDS) {
        Some(open_keyspace(db, LEGACY_RECORDS)?)
    } else {
        None
    };
    if marked.is_some() && legacy.is_none() {
        return Ok(());
    }
    let mut batch = db.batch();
    if let Some(legacy) = &legacy {
        tracing::info!("moving the embedded log's records to one keyspace per partition");
        let moved = copy_records(db, legacy, declarations, &mut batch)?;
        tracing::info!(records = moved, "copied the embedded log's records");
    }
    batch.insert(meta, codec::LAYOUT_KEY, &codec::encode_layout_mark()[..]);
    // The fsync of the last batch makes the earlier ones, in the same journal, durable too.
    batch.durability(Some(fjall::PersistMode::SyncAll)).commit().map_err(storage_error)?;
    if let Some(legacy) = legacy {
        db.delete_keyspace(legacy).map_err(storage_error)?;
        tracing::info!("moved the embedded log's records to one keyspace per partition");
    }
    Ok(())
}

/// Adds every record of `legacy` to its partition's keyspace, committing full batches as it
/// goes and leaving the last one in `batch`. A record of no declared partition is an error:
/// the old keyspace is then kept, not deleted with it.
fn copy_records(
    db: &fjall::Database,
    legacy: &fjall::Keyspace,
    declarations: &[Declaration],
    batch: &mut fjall::OwnedWriteBatch,
) -> Result<u64> {
    let partitions: HashMap<u32, u32> =
        declarations.iter().map(|(id, spec)| (*id, spec.partitions)).collect();
    let mut keyspaces: HashMap<(u32, u32), fjall::Keyspace> = HashMap::new();
    let mut moved = 0_u64;
    let mut in_batch = 0_usize;
    for entry in legacy.iter() {
        let (key, value) = entry.into_inner().map_err(storage_error)?;
        let (topic_id, partition, offset) = split_legacy_key(&key)?;
        if partitions.get(&topic_id).is_none_or(|count| partition >= *count) {
            return Err(Error::Storage(format!(
                "the embedded log holds records of partition {partition} of topic id \
                 {topic_id}, which no declaration names; the log keeps its old layout"
            )));
        }
        let keyspace = match keyspaces.entry((topic_id, partition)) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => new.insert(open_partition(db, topic_id, partition)?),
        };
        batch.insert(keyspace, &codec::record_key(offset)[..], value);
        moved += 1;
        in_batch += 1;
        if in_batch == COPY_BATCH {
            std::mem::replace(batch, db.batch()).commit().map_err(storage_error)?;
            in_batch = 0;
        }
    }
    Ok(moved)
}

/// Splits a record's key of layout 1, `topic id (u32 BE) | partition (u32 BE) | offset (u64
/// BE)`.
fn split_legacy_key(key: &[u8]) -> Result<(u32, u32, u64)> {
    let key: [u8; 16] = key
        .try_into()
        .map_err(|_| Error::Storage("corrupt record key in the embedded log".into()))?;
    let [t0, t1, t2, t3, p0, p1, p2, p3, offset @ ..] = key;
    Ok((
        u32::from_be_bytes([t0, t1, t2, t3]),
        u32::from_be_bytes([p0, p1, p2, p3]),
        u64::from_be_bytes(offset),
    ))
}

/// A record's key of layout 1, for tests that build a log of that layout.
#[cfg(test)]
fn legacy_key(topic_id: u32, partition: u32, offset: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..4].copy_from_slice(&topic_id.to_be_bytes());
    key[4..8].copy_from_slice(&partition.to_be_bytes());
    key[8..].copy_from_slice(&offset.to_be_bytes());
    key
}

#[cfg(test)]
#[path = "legacy_tests.rs"]
mod tests;
