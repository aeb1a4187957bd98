//! What the embedded log and store share: the storage engine, the data-directory lock and the
//! translation of engine errors.
//!
//! # Choice of engine: fjall
//!
//! Both candidates were measured on Nagare's workloads with
//! `cargo run --release -p nagare-infra --example engine_shootout` (2-core machine, ext4 on a
//! virtual disk, other builds running beside it; every commit fsynced before it returns):
//!
//! | workload                                   | fjall 3.1      | redb 4.6       |
//! |--------------------------------------------|----------------|----------------|
//! | append 100 B, batch of 1                   | 7,450 rec/s    | 4,112 rec/s    |
//! | append 100 B, batch of 100                 | 238,902 rec/s  | 160,796 rec/s  |
//! | append 100 B, batch of 1000                | 421,497 rec/s  | 507,323 rec/s  |
//! | append 1 KiB, batch of 1                   | 5,279 rec/s    | 2,473 rec/s    |
//! | append 1 KiB, batch of 100                 | 91,503 rec/s   | 53,115 rec/s   |
//! | append 1 KiB, batch of 1000                | 130,039 rec/s  | 64,227 rec/s   |
//! | range read of 1000 records                 | 748 µs         | 97 µs          |
//! | store: puts in batches of 100 (300 B rows) | 77,852 rows/s  | 23,743 rows/s  |
//! | store: point get                           | 4.3 µs         | 2.3 µs         |
//! | store: partition scan of ~100 rows         | 86 µs          | 18 µs          |
//!
//! Nagare's hot path is writing: every command is a durable append, every projection batch a
//! durable store write, and both wait for an fsync. fjall's journal (append + one fsync) beats
//! redb's copy-on-write B-tree commit on 5 of 6 append workloads, by up to 2x with 1 KiB
//! records, and on store writes by 3x. redb reads faster, but fjall's 1.3 million records/s
//! per reader is well above what the write side can produce, so reading is not the limit.
//! The log's tables are compressed with LZ4 and the store's are not (see `KeyspaceTuning`):
//! a record's Avro body is compact, but its headers repeat names and ids, so a log table
//! shrinks about fourfold; the store's rows are read one at a time, and each read of a
//! compressed block would decompress it.

mod engine;
mod fsyncs;
mod lock;

pub(crate) use engine::{
    DEFAULT_JOURNAL_BYTES, KeyspaceTuning, L0_COMPACTION_TRIGGER, open_database, open_keyspace,
    open_keyspace_tuned, storage_error,
};
pub(crate) use fsyncs::Fsyncs;
pub(crate) use lock::DirLock;
