//! Key layout of the embedded store.
//!
//! Rows: `len | table | len | partition | clustering`. The length prefixes make a partition's
//! rows exactly the keys that start with `len | table | len | partition` (table `ab` with
//! partition `c` cannot collide with table `a`, partition `bc`), and the clustering key comes
//! last and raw, so a partition scan is a range scan in clustering-byte order.
//!
//! Checkpoints: `len | projection | len | topic | partition (u32 BE)` -> next offset (u64 BE).

use bytes::Bytes;

use crate::log::{Offset, TopicPartition};
use crate::store::Checkpoint;
use crate::{Error, Result};

fn put_len_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The prefix shared by every row of a table.
pub(super) fn table_prefix(table: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + table.len());
    put_len_prefixed(&mut key, table.as_bytes());
    key
}

/// The prefix shared by every row of one partition of a table.
pub(super) fn partition_prefix(table: &str, partition: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + table.len() + partition.len());
    put_len_prefixed(&mut key, table.as_bytes());
    put_len_prefixed(&mut key, partition);
    key
}

pub(super) fn row_key(table: &str, partition: &[u8], clustering: &[u8]) -> Vec<u8> {
    let mut key = partition_prefix(table, partition);
    key.extend_from_slice(clustering);
    key
}

/// The prefix of every checkpoint of a projection.
pub(super) fn projection_prefix(projection: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + projection.len());
    put_len_prefixed(&mut key, projection.as_bytes());
    key
}

pub(super) fn checkpoint_key(checkpoint: &Checkpoint) -> Vec<u8> {
    let mut key = projection_prefix(&checkpoint.projection);
    put_len_prefixed(&mut key, checkpoint.tp.topic.as_bytes());
    key.extend_from_slice(&checkpoint.tp.partition.to_be_bytes());
    key
}

/// Rebuilds a checkpoint from its stored key and value.
pub(super) fn decode_checkpoint(projection: &str, key: &[u8], value: &[u8]) -> Result<Checkpoint> {
    let corrupt = || Error::Storage("corrupt checkpoint in the embedded store".into());
    let rest = key.get(4 + projection.len()..).ok_or_else(corrupt)?;
    let (len, rest) = rest.split_first_chunk::<4>().ok_or_else(corrupt)?;
    let len = u32::from_be_bytes(*len) as usize;
    let topic = rest.get(..len).ok_or_else(corrupt)?;
    let topic = String::from_utf8(topic.to_vec()).map_err(|_| corrupt())?;
    let partition: [u8; 4] = rest.get(len..).and_then(|p| p.try_into().ok()).ok_or_else(corrupt)?;
    let next_offset: [u8; 8] = value.try_into().map_err(|_| corrupt())?;
    Ok(Checkpoint {
        projection: projection.to_owned(),
        tp: TopicPartition::new(topic, u32::from_be_bytes(partition)),
        next_offset: Offset::from_be_bytes(next_offset),
    })
}

/// The clustering key of a row key found under `prefix`.
pub(super) fn clustering_of(prefix_len: usize, key: &[u8]) -> Bytes {
    Bytes::copy_from_slice(key.get(prefix_len..).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_with_shared_bytes_do_not_collide() {
        assert_ne!(row_key("ab", b"c", b""), row_key("a", b"bc", b""));
        assert!(!row_key("t", b"ab", b"x").starts_with(&partition_prefix("t", b"a")));
    }

    #[test]
    fn rows_of_a_partition_sort_by_clustering_bytes() {
        assert!(row_key("t", b"p", &[0, 1]) < row_key("t", b"p", &[0, 2]));
        assert!(row_key("t", b"p", &[0xff]) < row_key("t", b"q", &[0]));
    }

    #[test]
    fn checkpoint_round_trips_and_rejects_damage() -> Result<()> {
        let checkpoint = Checkpoint {
            projection: "products".into(),
            tp: TopicPartition::new("nagare.events.product", 3),
            next_offset: 42,
        };
        let key = checkpoint_key(&checkpoint);
        let value = checkpoint.next_offset.to_be_bytes();
        assert_eq!(decode_checkpoint("products", &key, &value)?, checkpoint);
        assert!(decode_checkpoint("products", &key[..key.len() - 1], &value).is_err());
        assert!(decode_checkpoint("products", &key, &value[..7]).is_err());
        Ok(())
    }
}
