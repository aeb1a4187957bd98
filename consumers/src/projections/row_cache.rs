//! The rows a projection has recently read or written, kept in memory so that the next event of
//! the same entity does not read the store again (a store read is most of the cost of applying
//! an event: BENCHMARKS.md, `project`).
//!
//! It is only correct while this projection is the sole writer of the cached rows, so it lives
//! for one consumer-group session and is cleared whenever partitions are assigned or revoked: a
//! partition that went to another process and came back may have been written meanwhile. Every
//! row has a single writer: rows that events of several partitions would change (the
//! per-category product counts) are kept one per partition (`tables::count_key`). Absent rows are
//! cached too (as `None`): a projection that created a row wrote it, so "absent" stays true.
//! Only tables the projection reads are cached: the listings it only writes would fill the
//! cache with rows nobody asks for.

use std::collections::VecDeque;

use bytes::Bytes;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use nagare_infra::RowKey;

/// Bytes a cached row costs beyond its key and value: the table's entry (with the spare room
/// of its growth), the eviction queue's slot, the `Bytes` handles and their shared headers,
/// and the allocator's rounding. Estimated from a replay's peak memory with and without the
/// caches when the queue held a copy of each key; it now holds 16 bytes, so the cache takes a
/// little less than configured.
const ENTRY_OVERHEAD: u64 = 448;

pub(crate) type RowAddress = (&'static str, RowKey);

/// A cached row, `None` when it is known to be absent.
struct Cached {
    address: RowAddress,
    row: Option<Bytes>,
    /// The row's place in the order rows joined the cache; it names the row in `order`.
    joined: u64,
}

/// Recent rows by table and key. The oldest-cached rows go first when it is full: a
/// projection touches an entity's row again after a while (the next event of a product), and
/// a plain first-in-first-out queue costs almost nothing per row, which matters more here than
/// a finer choice of what to keep.
pub(crate) struct RowCache {
    rows: HashTable<Cached>,
    hasher: ahash::RandomState,
    /// The tables asked for so far; rows of other tables are not kept.
    read_tables: Vec<&'static str>,
    /// Cached rows, oldest first, by hash and `joined`: evicting one neither clones its key
    /// into the queue nor hashes it again.
    order: VecDeque<(u64, u64)>,
    next_joined: u64,
    bytes: u64,
    capacity_bytes: u64,
}

impl std::fmt::Debug for RowCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowCache")
            .field("rows", &self.rows.len())
            .field("bytes", &self.bytes)
            .field("capacity_bytes", &self.capacity_bytes)
            .finish()
    }
}

impl RowCache {
    /// A cache holding at most about `capacity_bytes` of keys and rows (none when 0).
    pub(crate) fn new(capacity_bytes: u64) -> Self {
        Self {
            rows: HashTable::new(),
            hasher: ahash::RandomState::new(),
            read_tables: Vec::new(),
            order: VecDeque::new(),
            next_joined: 0,
            bytes: 0,
            capacity_bytes,
        }
    }

    /// The cached row: `Some(None)` when it is known to be absent, `None` when not cached.
    pub(crate) fn get(&mut self, address: &RowAddress) -> Option<Option<Bytes>> {
        let table = address.0;
        if !self.read_tables.contains(&table) {
            self.read_tables.push(table);
        }
        let hash = self.hasher.hash_one(address);
        self.rows.find(hash, |cached| cached.address == *address).map(|cached| cached.row.clone())
    }

    /// Remembers a row as the store now holds it (or will, once the write in flight is done).
    pub(crate) fn insert(&mut self, table: &'static str, key: RowKey, row: Option<Bytes>) {
        if self.capacity_bytes == 0 || !self.read_tables.contains(&table) {
            return;
        }
        self.bytes += weight(&key, row.as_ref());
        let address = (table, key);
        let hash = self.hasher.hash_one(&address);
        let hasher = &self.hasher;
        let rehash = |cached: &Cached| hasher.hash_one(&cached.address);
        match self.rows.entry(hash, |cached| cached.address == address, rehash) {
            Entry::Occupied(mut entry) => {
                let cached = entry.get_mut();
                self.bytes -= weight(&cached.address.1, cached.row.as_ref());
                cached.row = row;
            }
            Entry::Vacant(entry) => {
                let joined = self.next_joined;
                self.next_joined += 1;
                self.order.push_back((hash, joined));
                entry.insert(Cached { address, row, joined });
            }
        }
        while self.bytes > self.capacity_bytes {
            let Some((hash, joined)) = self.order.pop_front() else { break };
            if let Ok(entry) = self.rows.find_entry(hash, |cached| cached.joined == joined) {
                let (evicted, _) = entry.remove();
                self.bytes -= weight(&evicted.address.1, evicted.row.as_ref());
            }
        }
    }

    /// Forgets every row: the projection's partitions changed hands.
    pub(crate) fn clear(&mut self) {
        self.rows.clear();
        self.order.clear();
        self.bytes = 0;
    }
}

fn weight(key: &RowKey, row: Option<&Bytes>) -> u64 {
    let bytes = key.partition.len() + key.clustering.len() + row.map_or(0, Bytes::len);
    ENTRY_OVERHEAD + bytes as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_models::tables::{PRODUCT_LISTING, PRODUCTS};

    fn key(n: u8) -> RowKey {
        RowKey { partition: Bytes::from(vec![n; 16]), clustering: Bytes::new() }
    }

    fn cache_reading_products(capacity_bytes: u64) -> RowCache {
        let mut cache = RowCache::new(capacity_bytes);
        assert_eq!(cache.get(&(PRODUCTS, key(0))), None);
        cache
    }

    #[test]
    fn remembers_rows_and_absences() {
        let mut cache = cache_reading_products(1 << 20);
        assert_eq!(cache.get(&(PRODUCTS, key(1))), None);
        cache.insert(PRODUCTS, key(1), Some(Bytes::from_static(b"row")));
        cache.insert(PRODUCTS, key(2), None);
        assert_eq!(cache.get(&(PRODUCTS, key(1))), Some(Some(Bytes::from_static(b"row"))));
        assert_eq!(cache.get(&(PRODUCTS, key(2))), Some(None));
        cache.clear();
        assert_eq!(cache.get(&(PRODUCTS, key(1))), None);
    }

    #[test]
    fn keeps_no_rows_of_tables_it_is_never_asked_for() {
        let mut cache = cache_reading_products(1 << 20);
        cache.insert(PRODUCT_LISTING, key(1), Some(Bytes::new()));
        cache.insert(PRODUCTS, key(1), Some(Bytes::new()));
        assert_eq!(cache.rows.len(), 1);
        assert_eq!(cache.get(&(PRODUCT_LISTING, key(1))), None);
    }

    #[test]
    fn stays_within_its_capacity() {
        let mut cache = cache_reading_products(20_000);
        for n in 0..=255 {
            cache.insert(PRODUCTS, key(n), Some(Bytes::from(vec![0; 100])));
        }
        assert!(cache.bytes <= 20_000, "{} bytes", cache.bytes);
        assert_eq!(cache.rows.len(), cache.order.len());
        assert!(cache.rows.len() > 10, "{} rows", cache.rows.len());
        // The newest row is kept, the oldest went first.
        assert!(cache.get(&(PRODUCTS, key(255))).is_some());
        assert_eq!(cache.get(&(PRODUCTS, key(0))), None);
    }

    #[test]
    fn replacing_a_row_keeps_the_count_of_bytes_right() {
        let mut cache = cache_reading_products(1 << 20);
        cache.insert(PRODUCTS, key(1), Some(Bytes::from(vec![0; 100])));
        cache.insert(PRODUCTS, key(1), Some(Bytes::from(vec![0; 10])));
        cache.insert(PRODUCTS, key(1), None);
        assert_eq!(cache.bytes, weight(&key(1), None));
        assert_eq!(cache.order.len(), 1);
    }

    #[test]
    fn a_zero_capacity_caches_nothing() {
        let mut cache = RowCache::new(0);
        cache.insert(PRODUCTS, key(1), None);
        assert_eq!(cache.get(&(PRODUCTS, key(1))), None);
    }
}
