//! Key layout of the embedded store.
//!
//! Rows live in one keyspace per table (`table:<name>`), keyed
//! `hash | partition length | partition | clustering`:
//! - `hash` is 3 bytes of a fixed hash of the partition. fjall keeps the first 4 bytes of every
//!   key beside it and compares those before it follows the key to the heap, so keys of
//!   different partitions almost always differ there. Without it, keys of one table share their
//!   first bytes (a UUIDv7 id's first 4 bytes change once a minute) and every comparison in the
//!   memtable followed a pointer: that took a sixth of a rebuild's CPU.
//! - the partition's length (one byte below 255, else `0xff` and 4 bytes) makes a partition's
//!   rows exactly the keys that start with `hash | length | partition`;
//! - the clustering key comes last and raw, so a partition scan is a range scan in clustering
//!   order. A 16-byte id with no clustering key makes a 20-byte key, which fjall stores inline.
//!
//! Partitions are in hash order, which no read depends on (ScyllaDB orders them by token too).
//! Format 1 kept every table in one `rows` keyspace, keyed `len | table | len | partition |
//! clustering`; [`split_legacy_row_key`] reads those keys so a store of that format is moved
//! to this one when it is opened.
//!
//! Checkpoints: `len | projection | len | topic | partition (u32 BE)` -> next offset (u64 BE).

use bytes::Bytes;

use crate::log::{Offset, TopicPartition};
use crate::store::Checkpoint;
use crate::{Error, Result};

/// The prefix of the keyspaces that hold tables.
const TABLE_KEYSPACE_PREFIX: &str = "table:";
/// fjall's limit on a keyspace name.
const MAX_KEYSPACE_NAME: usize = 255;
/// Longest table name, so the keyspace name fits fjall's limit.
pub(super) const MAX_TABLE_NAME: usize = MAX_KEYSPACE_NAME - TABLE_KEYSPACE_PREFIX.len();
/// Bytes of the partition hash at the start of a row key.
const HASH_LEN: usize = 3;
/// A partition length byte of this value is followed by the length as a u32.
const LONG_PARTITION: u8 = 0xff;

/// The keyspace holding `table`'s rows.
pub(super) fn table_keyspace(table: &str) -> String {
    format!("{TABLE_KEYSPACE_PREFIX}{table}")
}

/// FNV-1a with a final avalanche (MurmurHash3's `fmix64`). Written out here because it is part
/// of the on-disk format and must never change with a dependency.
fn partition_hash(partition: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in partition {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// The prefix shared by every row of one partition.
pub(super) fn partition_prefix(partition: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(HASH_LEN + 5 + partition.len() + 24);
    key.extend_from_slice(&partition_hash(partition).to_be_bytes()[..HASH_LEN]);
    match u8::try_from(partition.len()) {
        Ok(len) if len != LONG_PARTITION => key.push(len),
        _ => {
            key.push(LONG_PARTITION);
            // A partition key is far below 4 GiB: the store's callers bound it.
            key.extend_from_slice(&(partition.len() as u32).to_be_bytes());
        }
    }
    key.extend_from_slice(partition);
    key
}

pub(super) fn row_key(partition: &[u8], clustering: &[u8]) -> Vec<u8> {
    let mut key = partition_prefix(partition);
    key.extend_from_slice(clustering);
    key
}

/// The clustering key of a row key found under `prefix`.
pub(super) fn clustering_of(prefix_len: usize, key: &[u8]) -> Bytes {
    Bytes::copy_from_slice(key.get(prefix_len..).unwrap_or_default())
}

/// Splits a format 1 row key into table, partition and clustering key.
pub(super) fn split_legacy_row_key(key: &[u8]) -> Result<(&str, &[u8], &[u8])> {
    let corrupt = || Error::Storage("corrupt row key in the embedded store's `rows`".into());
    let take = |bytes: &'_ [u8]| -> Option<(usize, usize)> {
        let (len, _) = bytes.split_first_chunk::<4>()?;
        let len = u32::from_be_bytes(*len) as usize;
        (bytes.len() >= 4 + len).then_some((4, 4 + len))
    };
    let (start, end) = take(key).ok_or_else(corrupt)?;
    let table = std::str::from_utf8(&key[start..end]).map_err(|_| corrupt())?;
    let rest = &key[end..];
    let (start, end) = take(rest).ok_or_else(corrupt)?;
    Ok((table, &rest[start..end], &rest[end..]))
}

fn put_len_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
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

/// A format 1 row key, for tests that build a store of that format.
#[cfg(test)]
pub(super) fn legacy_row_key(table: &str, partition: &[u8], clustering: &[u8]) -> Vec<u8> {
    let mut key = Vec::new();
    put_len_prefixed(&mut key, table.as_bytes());
    put_len_prefixed(&mut key, partition);
    key.extend_from_slice(clustering);
    key
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn partitions_with_shared_bytes_do_not_collide() {
        let (a, b) = (row_key(b"ab", b"c"), row_key(b"a", b"bc"));
        assert_ne!(a, b);
        assert!(!row_key(b"ab", b"x").starts_with(&partition_prefix(b"a")));
    }

    #[test]
    fn rows_of_a_partition_sort_by_clustering_bytes() {
        assert!(row_key(b"p", &[0, 1]) < row_key(b"p", &[0, 2]));
        assert!(row_key(b"p", &[0xff]) < row_key(b"p", &[0xff, 0]));
    }

    #[test]
    fn an_id_without_clustering_key_fits_inline() {
        assert_eq!(row_key(&[7; 16], b"").len(), 20);
    }

    #[test]
    fn the_hash_is_fixed() {
        // Part of the on-disk format: a change here strands every stored row.
        // Values computed apart from this code (FNV-1a 64, then fmix64, first 3 bytes).
        assert_eq!(&row_key(b"", b"")[..HASH_LEN], &[239, 208, 31]);
        assert_eq!(&row_key(b"all", b"x")[..HASH_LEN], &[224, 245, 73]);
    }

    #[test]
    fn long_partitions_carry_a_four_byte_length() {
        let long = vec![1; 300];
        let key = row_key(&long, b"c");
        assert_eq!(&key[HASH_LEN..HASH_LEN + 5], &[0xff, 0, 0, 1, 44]);
        assert_eq!(clustering_of(partition_prefix(&long).len(), &key), Bytes::from_static(b"c"));
    }

    #[test]
    fn legacy_keys_split_back() -> Result<()> {
        let key = legacy_row_key("rm_products", b"id", b"c");
        assert_eq!(split_legacy_row_key(&key)?, ("rm_products", b"id".as_slice(), b"c".as_slice()));
        assert!(split_legacy_row_key(&key[..6]).is_err());
        Ok(())
    }

    proptest! {
        /// Distinct partitions never share a prefix, so a scan of one never sees another's rows.
        #[test]
        fn a_partition_prefix_matches_only_its_own_rows(
            a in proptest::collection::vec(any::<u8>(), 0..300),
            b in proptest::collection::vec(any::<u8>(), 0..300),
            clustering in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let key = row_key(&b, &clustering);
            prop_assert_eq!(key.starts_with(&partition_prefix(&a)), a == b);
        }
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
