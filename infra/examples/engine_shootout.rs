//! Measures the two candidate storage engines for the embedded backends, redb and fjall, on
//! Nagare's own workloads, so the choice recorded in `nagare_infra::embedded` rests on figures.
//!
//! Run from the repository root (the data goes to a temporary directory beside it, on the same
//! disk the default `./nagare-data` would use):
//!
//! ```text
//! cargo run --release -p nagare-infra --example engine_shootout
//! ```
//!
//! Workloads:
//! - log appends: 100-byte and 1 KiB records with sequential big-endian keys, in batches of
//!   1, 100 and 1000, one durable commit (fsync) per batch;
//! - log reads: range reads of 1000 consecutive records from random starting points;
//! - read store: puts in batches of 100 rows, point gets, partition prefix scans of 100 rows.

use std::path::Path;

use redb::ReadableDatabase;
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error>;

/// Wall-clock budget per append measurement, so slow fsyncs do not make the run take hours.
const APPEND_BUDGET: Duration = Duration::from_secs(4);
const READ_RECORDS: u64 = 1000;
const STORE_ROWS: u64 = 100_000;
const STORE_ROWS_PER_PARTITION: u64 = 100;

/// The operations every engine offers to the measurement.
trait Engine {
    fn name(&self) -> &'static str;
    /// Writes the batch in one transaction and fsyncs it before returning.
    fn durable_batch(&self, rows: &[(Vec<u8>, Vec<u8>)]) -> Result<(), BoxError>;
    /// Reads `count` consecutive rows starting at `from`, returning the bytes read.
    fn range(&self, from: &[u8], count: usize) -> Result<usize, BoxError>;
    fn get(&self, key: &[u8]) -> Result<Option<usize>, BoxError>;
    /// Every row whose key starts with `prefix`; returns how many.
    fn prefix(&self, prefix: &[u8]) -> Result<usize, BoxError>;
}

struct Fjall {
    db: fjall::Database,
    rows: fjall::Keyspace,
}

impl Fjall {
    fn open(dir: &Path) -> Result<Self, BoxError> {
        let db = fjall::Database::builder(dir).open()?;
        let rows = db.keyspace("rows", fjall::KeyspaceCreateOptions::default)?;
        Ok(Self { db, rows })
    }
}

impl Engine for Fjall {
    fn name(&self) -> &'static str {
        "fjall 3"
    }

    fn durable_batch(&self, rows: &[(Vec<u8>, Vec<u8>)]) -> Result<(), BoxError> {
        let mut batch = self.db.batch().durability(Some(fjall::PersistMode::SyncAll));
        for (key, value) in rows {
            batch.insert(&self.rows, key.as_slice(), value.as_slice());
        }
        batch.commit()?;
        Ok(())
    }

    fn range(&self, from: &[u8], count: usize) -> Result<usize, BoxError> {
        let mut bytes = 0;
        for guard in self.rows.range(from..).take(count) {
            let (_, value) = guard.into_inner()?;
            bytes += value.len();
        }
        Ok(bytes)
    }

    fn get(&self, key: &[u8]) -> Result<Option<usize>, BoxError> {
        Ok(self.rows.get(key)?.map(|value| value.len()))
    }

    fn prefix(&self, prefix: &[u8]) -> Result<usize, BoxError> {
        let mut count = 0;
        for guard in self.rows.prefix(prefix) {
            guard.into_inner()?;
            count += 1;
        }
        Ok(count)
    }
}

const REDB_ROWS: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("rows");

struct Redb {
    db: redb::Database,
}

impl Redb {
    fn open(dir: &Path) -> Result<Self, BoxError> {
        let db = redb::Database::create(dir.join("redb"))?;
        Ok(Self { db })
    }
}

impl Engine for Redb {
    fn name(&self) -> &'static str {
        "redb 4"
    }

    fn durable_batch(&self, rows: &[(Vec<u8>, Vec<u8>)]) -> Result<(), BoxError> {
        // `Durability::Immediate` is redb's default: the commit fsyncs before returning.
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(REDB_ROWS)?;
            for (key, value) in rows {
                table.insert(key.as_slice(), value.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    fn range(&self, from: &[u8], count: usize) -> Result<usize, BoxError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(REDB_ROWS)?;
        let mut bytes = 0;
        for entry in table.range(from..)?.take(count) {
            let (_, value) = entry?;
            bytes += value.value().len();
        }
        Ok(bytes)
    }

    fn get(&self, key: &[u8]) -> Result<Option<usize>, BoxError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(REDB_ROWS)?;
        Ok(table.get(key)?.map(|value| value.value().len()))
    }

    fn prefix(&self, prefix: &[u8]) -> Result<usize, BoxError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(REDB_ROWS)?;
        let mut count = 0;
        for entry in table.range(prefix..)? {
            let (key, _) = entry?;
            if !key.value().starts_with(prefix) {
                break;
            }
            count += 1;
        }
        Ok(count)
    }
}

/// A tiny xorshift generator: the measurement needs spread-out keys, not statistical quality.
struct Xorshift(u64);

impl Xorshift {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

fn log_key(offset: u64) -> Vec<u8> {
    // A 4-byte partition id before the offset, as the log's key layout has.
    let mut key = 7u32.to_be_bytes().to_vec();
    key.extend_from_slice(&offset.to_be_bytes());
    key
}

fn store_key(partition: u64, clustering: u64) -> Vec<u8> {
    let mut key = b"\x00\x05table".to_vec();
    key.extend_from_slice(&partition.to_be_bytes());
    key.extend_from_slice(&clustering.to_be_bytes());
    key
}

/// Appends after `next_offset` (so every measurement writes new keys, as a log does) and
/// returns the offset after the last record written.
fn measure_appends(
    engine: &dyn Engine,
    next_offset: u64,
    record_size: usize,
    batch: usize,
) -> Result<u64, BoxError> {
    let value = vec![0xA5u8; record_size];
    let started = Instant::now();
    let mut offset = next_offset;
    while started.elapsed() < APPEND_BUDGET {
        let rows: Vec<_> =
            (0..batch as u64).map(|i| (log_key(offset + i), value.clone())).collect();
        engine.durable_batch(&rows)?;
        offset += batch as u64;
    }
    let per_sec = (offset - next_offset) as f64 / started.elapsed().as_secs_f64();
    println!(
        "{:8} append {:>5} B x batch {:>4}: {:>10.0} records/s {:>8.1} MB/s {:>8.0} commits/s",
        engine.name(),
        record_size,
        batch,
        per_sec,
        per_sec * record_size as f64 / 1e6,
        per_sec / batch as f64,
    );
    Ok(offset)
}

fn measure_reads(engine: &dyn Engine, written: u64) -> Result<(), BoxError> {
    let mut rng = Xorshift(0x9E37_79B9_7F4A_7C15);
    let rounds = 300;
    let started = Instant::now();
    let mut bytes = 0;
    for _ in 0..rounds {
        let from = rng.below(written.saturating_sub(READ_RECORDS));
        bytes += engine.range(&log_key(from), READ_RECORDS as usize)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{:8} range read of {READ_RECORDS}: {:>8.0} µs each, {:>10.0} records/s ({} MB read)",
        engine.name(),
        elapsed * 1e6 / f64::from(rounds),
        f64::from(rounds) * READ_RECORDS as f64 / elapsed,
        bytes / 1_000_000,
    );
    Ok(())
}

fn measure_store(engine: &dyn Engine) -> Result<(), BoxError> {
    let value = vec![0x5Au8; 300];
    let mut rng = Xorshift(0xD1B5_4A32_D192_ED03);
    let partitions = STORE_ROWS / STORE_ROWS_PER_PARTITION;
    let started = Instant::now();
    let mut written = 0u64;
    while written < STORE_ROWS {
        let rows: Vec<_> = (0..100)
            .map(|_| {
                let key = store_key(rng.below(partitions), rng.below(u64::MAX));
                (key, value.clone())
            })
            .collect();
        engine.durable_batch(&rows)?;
        written += 100;
    }
    let puts = written as f64 / started.elapsed().as_secs_f64();

    let gets: u32 = 20_000;
    let started = Instant::now();
    for _ in 0..gets {
        engine.get(&store_key(rng.below(partitions), rng.below(u64::MAX)))?;
    }
    let get_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(gets);

    let scans: u32 = 2_000;
    let started = Instant::now();
    let mut found = 0;
    for _ in 0..scans {
        let mut prefix = b"\x00\x05table".to_vec();
        prefix.extend_from_slice(&rng.below(partitions).to_be_bytes());
        found += engine.prefix(&prefix)?;
    }
    let scan_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(scans);
    println!(
        "{:8} store: puts (batches of 100) {:>8.0} rows/s; get {:>6.1} µs; scan of ~{} rows {:>7.1} µs",
        engine.name(),
        puts,
        get_us,
        found / scans as usize,
        scan_us,
    );
    Ok(())
}

fn run(engine: &dyn Engine) -> Result<(), BoxError> {
    let mut next_offset = 0;
    for record_size in [100, 1024] {
        for batch in [1, 100, 1000] {
            next_offset = measure_appends(engine, next_offset, record_size, batch)?;
        }
    }
    measure_reads(engine, next_offset)?;
    measure_store(engine)
}

fn main() -> Result<(), BoxError> {
    let base = std::env::current_dir()?;
    for engine_name in ["fjall", "redb"] {
        let dir = tempfile::Builder::new().prefix("engine-shootout-").tempdir_in(&base)?;
        let engine: Box<dyn Engine> = match engine_name {
            "fjall" => Box::new(Fjall::open(dir.path())?),
            _ => Box::new(Redb::open(dir.path())?),
        };
        run(engine.as_ref())?;
    }
    Ok(())
}
