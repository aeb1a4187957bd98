//! Opening fjall the way both embedded backends use it, and translating its errors.

use std::path::Path;

use crate::{Error, Result};

/// The engine's block cache per database (fjall's default is 32 MiB). Reads of the log are
/// mostly of recent records, still in memtables, so a small cache costs little and keeps an
/// idle process small.
const BLOCK_CACHE_BYTES: u64 = 16 * 1024 * 1024;
/// Size at which a keyspace's memtable is sealed and flushed unless the keyspace asks for
/// another (fjall's default is 64 MiB; the store's tables use 8 MiB, see the store). Memtables
/// are most of a busy process's memory: this bounds the log's records to 16 MiB in memory, plus
/// the sealed ones still being flushed.
const MEMTABLE_BYTES: u64 = 16 * 1024 * 1024;

/// One background thread per database for flushes and compactions. fjall's default is one per
/// core, but with two or more its first thread hands every compaction request on to the others
/// by re-sending it to the shared queue, and spins doing so while they are busy: on two cores
/// that took a fifth of the CPU of a replay (BENCHMARKS.md, `replay`).
const WORKER_THREADS: usize = 1;

/// fjall's own bound on the journal files kept on disk: past it, the keyspaces holding the
/// oldest journal's writes are flushed so that journal can go.
pub(crate) const DEFAULT_JOURNAL_BYTES: u64 = 512 * 1024 * 1024;

/// Opens (or creates) the fjall database in `dir`, keeping at most about `journal_bytes` of
/// journal files (fjall starts a new file at 64 MB, so the bound is checked in such steps).
pub(crate) fn open_database(dir: &Path, journal_bytes: u64) -> Result<fjall::Database> {
    fjall::Database::builder(dir)
        .cache_size(BLOCK_CACHE_BYTES)
        .worker_threads(WORKER_THREADS)
        .max_journaling_size(journal_bytes)
        .open()
        .map_err(storage_error)
}

/// fjall's own level-0 compaction trigger.
pub(crate) const L0_COMPACTION_TRIGGER: u8 = 4;

/// Opens (or creates) a keyspace with the defaults above.
pub(crate) fn open_keyspace(db: &fjall::Database, name: &str) -> Result<fjall::Keyspace> {
    let tuning = KeyspaceTuning {
        memtable_bytes: MEMTABLE_BYTES,
        l0_compaction_trigger: L0_COMPACTION_TRIGGER,
        point_reads: true,
        compressed: false,
    };
    open_keyspace_tuned(db, name, tuning)
}

/// How a keyspace departs from the defaults above.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyspaceTuning {
    /// Size at which its memtable is sealed.
    pub(crate) memtable_bytes: u64,
    /// Level-0 tables that start a compaction into level 1 (fjall's default is 4). fjall
    /// records it when it creates the keyspace, and a keyspace keeps the value it was
    /// created with.
    pub(crate) l0_compaction_trigger: u8,
    /// Whether keys are looked up one by one: each table then carries a bloom filter, which
    /// a keyspace read only by ranges would build on every flush and never consult.
    pub(crate) point_reads: bool,
    /// Whether its tables' data blocks are LZ4-compressed, at every level. Like the trigger,
    /// fjall records it when it creates the keyspace: a keyspace keeps the value it was
    /// created with (a block names its own compression, so reading never depends on it).
    pub(crate) compressed: bool,
}

/// Opens (or creates) a keyspace tuned as `tuning` says.
pub(crate) fn open_keyspace_tuned(
    db: &fjall::Database,
    name: &str,
    tuning: KeyspaceTuning,
) -> Result<fjall::Keyspace> {
    db.keyspace(name, || {
        let compaction =
            fjall::compaction::Leveled::default().with_l0_threshold(tuning.l0_compaction_trigger);
        let options = fjall::KeyspaceCreateOptions::default()
            .max_memtable_size(tuning.memtable_bytes)
            .compaction_strategy(std::sync::Arc::new(compaction))
            .data_block_compression_policy(compression(tuning.compressed));
        if tuning.point_reads {
            options
        } else {
            options.filter_policy(fjall::config::FilterPolicy::disabled())
        }
    })
    .map_err(storage_error)
}

/// The compression of every level's data blocks. Set either way, since fjall's own default
/// (with its `lz4` feature) compresses only from the third level on.
fn compression(compressed: bool) -> fjall::config::CompressionPolicy {
    let kind = if compressed { fjall::CompressionType::Lz4 } else { fjall::CompressionType::None };
    fjall::config::CompressionPolicy::all(kind)
}

/// fjall's errors are diagnostic detail; callers can only report them.
pub(crate) fn storage_error(error: fjall::Error) -> Error {
    match error {
        fjall::Error::Io(io) => Error::Io(io),
        other => Error::Storage(other.to_string()),
    }
}
