//! Kafka's Java default partitioner, bit for bit: a keyed record goes to
//! `toPositive(murmur2(key)) % partitions`, a keyless one round-robin.
//!
//! Every backend places records with this function, so a key lands in the same partition number
//! on the embedded log and on Kafka, and a log can move between them without changing a position.

use std::sync::atomic::{AtomicU32, Ordering};

/// The seed Kafka's `Utils.murmur2` uses.
const SEED: u32 = 0x9747_b28c;
const M: u32 = 0x5bd1_e995;
const R: u32 = 24;

/// Kafka's `Utils.murmur2`: the 32-bit MurmurHash2 of `data` with Kafka's seed, as a Java `int`.
pub fn murmur2(data: &[u8]) -> i32 {
    // Java's `int` length; keys longer than 4 GiB cannot reach Kafka, so truncation is moot.
    let mut h = SEED ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    // The tail, as Java's fall-through `switch (length % 4)`.
    let tail = chunks.remainder();
    if tail.len() == 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which overflows on `i32::MIN`).
pub fn to_positive(number: i32) -> u32 {
    (number & 0x7fff_ffff) as u32
}

/// The partition Kafka's default partitioner gives a keyed record. A count of 0 is treated as
/// 1 (topics always have at least one partition; this only keeps the function total).
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    to_positive(murmur2(key)) % partitions.max(1)
}

/// Places records: by key when there is one, otherwise round-robin over the partitions.
#[derive(Debug, Default)]
pub struct Partitioner {
    /// Shared by every topic; only the spread matters for keyless records, not the sequence.
    round_robin: AtomicU32,
}

impl Partitioner {
    pub fn new() -> Self {
        Self::default()
    }

    /// The partition for a record with this key in a topic of `partitions` partitions.
    pub fn partition(&self, key: Option<&[u8]>, partitions: u32) -> u32 {
        match key {
            Some(key) => partition_for_key(key, partitions),
            None => self.round_robin.fetch_add(1, Ordering::Relaxed) % partitions.max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The vectors of Kafka's `UtilsTest.testMurmur2` and of the Kafka client test suites that
    /// copy it (akka's `Murmur2Spec` takes the short numeric keys from Kafka's implementation).
    #[test]
    fn murmur2_matches_kafka_vectors() {
        let vectors: [(&str, i32); 11] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            ("abc", 479_470_107),
            ("1", -1_993_445_489),
            ("12", 126_087_238),
            ("123", -267_702_483),
            ("1234", -1_614_185_708),
            ("12345", -1_188_365_604),
        ];
        for (key, expected) in vectors {
            assert_eq!(murmur2(key.as_bytes()), expected, "murmur2({key:?})");
        }
    }

    #[test]
    fn to_positive_clears_only_the_sign_bit() {
        assert_eq!(to_positive(-1), 0x7fff_ffff);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(42), 42);
    }

    #[test]
    fn keyed_partition_is_positive_hash_modulo_count() {
        // toPositive(-973932308) = 1173551340; 1173551340 % 6 = 0, % 7 = 3.
        assert_eq!(partition_for_key(b"21", 6), 1_173_551_340 % 6);
        assert_eq!(partition_for_key(b"21", 7), 1_173_551_340 % 7);
    }

    #[test]
    fn keyless_records_go_round_robin() {
        let partitioner = Partitioner::new();
        let placed: Vec<u32> = (0..6).map(|_| partitioner.partition(None, 3)).collect();
        assert_eq!(placed, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn zero_partitions_does_not_panic() {
        assert_eq!(partition_for_key(b"k", 0), 0);
        assert_eq!(Partitioner::new().partition(None, 0), 0);
    }

    proptest! {
        #[test]
        fn partition_is_always_below_count(key in proptest::collection::vec(any::<u8>(), 0..64), n in 1u32..1024) {
            prop_assert!(partition_for_key(&key, n) < n);
            prop_assert!(Partitioner::new().partition(None, n) < n);
        }
    }
}
