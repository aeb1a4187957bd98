//! The single writer of the embedded store, with group commit: concurrent `write` calls that
//! queue up while a commit is under way are merged into the next engine batch. Each caller's
//! batch stays whole (rows and checkpoints together).
//!
//! A caller is answered once its batch is in the engine's journal and handed to the operating
//! system, which keeps it if the process is killed. The journal is fsynced by the first group
//! commit at least a second after the last fsync, and when the writer stops ([`Fsyncs`]), not
//! by every commit: the store is derived from the log, which is fsynced before any reply, so
//! what a power loss takes from the store is its last moments, rows and checkpoints together,
//! and the projections apply those events again from their checkpoints. An fsync per commit
//! held every projection batch, and so every `STRONG` answer, for a disk flush (BENCHMARKS.md,
//! `e2e`). The rare table operations are fsynced at once.

use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::RwLock;
use tokio::sync::{mpsc, oneshot};

use super::Tables;
use crate::embedded::{Fsyncs, storage_error};
use crate::{Error, Result};

/// Bounds one group commit, so a flood of writes cannot build an unbounded batch.
const MAX_GROUP_ENTRIES: usize = 100_000;
const QUEUE_DEPTH: usize = 1024;

/// One key to set (`Some`) or remove (`None`) in a keyspace.
pub(super) struct Entry {
    pub(super) keyspace: fjall::Keyspace,
    pub(super) key: Vec<u8>,
    pub(super) value: Option<Vec<u8>>,
}

pub(super) enum StoreRequest {
    Write { entries: Vec<Entry>, reply: oneshot::Sender<Result<()>> },
    EnsureTable { table: String, reply: oneshot::Sender<Result<()>> },
    Truncate { table: String, reply: oneshot::Sender<Result<()>> },
}

/// What the writer thread works on.
pub(super) struct StoreParts {
    pub(super) db: fjall::Database,
    pub(super) tables_keyspace: fjall::Keyspace,
    pub(super) tables: Arc<RwLock<Tables>>,
}

/// The handle to the writer thread; dropping it stops the thread and waits for it.
#[derive(Debug)]
pub(super) struct StoreWriter {
    queue: Option<mpsc::Sender<StoreRequest>>,
    thread: Option<JoinHandle<()>>,
}

impl StoreWriter {
    pub(super) fn start(parts: StoreParts) -> Result<Self> {
        let (queue, requests) = mpsc::channel(QUEUE_DEPTH);
        let thread = std::thread::Builder::new()
            .name("nagare-store-writer".into())
            .spawn(move || run(parts, requests))?;
        Ok(Self { queue: Some(queue), thread: Some(thread) })
    }

    /// Sends a request and waits for its answer.
    pub(super) async fn call(
        &self,
        request: impl FnOnce(oneshot::Sender<Result<()>>) -> StoreRequest,
    ) -> Result<()> {
        let queue = self.queue.as_ref().ok_or(Error::Closed)?;
        let (reply, answer) = oneshot::channel();
        queue.send(request(reply)).await.map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)?
    }
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        self.queue.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the embedded store writer thread panicked");
        }
    }
}

fn run(parts: StoreParts, mut requests: mpsc::Receiver<StoreRequest>) {
    let mut fsyncs = Fsyncs::new();
    while let Some(first) = requests.blocking_recv() {
        let mut entries = Vec::new();
        let mut replies = Vec::new();
        let mut next = Some(first);
        while let Some(request) = next.take() {
            match request {
                StoreRequest::Write { entries: more, reply } => {
                    entries.extend(more);
                    replies.push(reply);
                }
                // Rare operations: commit what is pending, then run them alone, in order.
                StoreRequest::EnsureTable { table, reply } => {
                    let replies = std::mem::take(&mut replies);
                    commit(&parts, &mut fsyncs, std::mem::take(&mut entries), replies);
                    let _ = reply.send(ensure_table(&parts, table));
                }
                StoreRequest::Truncate { table, reply } => {
                    let replies = std::mem::take(&mut replies);
                    commit(&parts, &mut fsyncs, std::mem::take(&mut entries), replies);
                    let _ = reply.send(truncate(&parts, &table));
                }
            }
            if entries.len() < MAX_GROUP_ENTRIES {
                next = requests.try_recv().ok();
            }
        }
        commit(&parts, &mut fsyncs, entries, replies);
    }
    fsyncs.finish(&parts.db, "embedded store");
}

fn durable_batch(parts: &StoreParts) -> fjall::OwnedWriteBatch {
    parts.db.batch().durability(Some(fjall::PersistMode::SyncAll))
}

fn commit(
    parts: &StoreParts,
    fsyncs: &mut Fsyncs,
    mut entries: Vec<Entry>,
    replies: Vec<oneshot::Sender<Result<()>>>,
) {
    if replies.is_empty() {
        return;
    }
    // Inserting in key order makes each memtable search start down the path the last one took,
    // still in the CPU's cache. The sort is stable: of two changes to one key, the later one
    // still lands last and wins.
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    let mode = fsyncs.mode_for_commit(false);
    let mut batch = parts.db.batch().durability(Some(mode));
    for entry in entries {
        match entry.value {
            Some(value) => batch.insert(&entry.keyspace, entry.key, value),
            None => batch.remove(&entry.keyspace, entry.key),
        }
    }
    let outcome = batch.commit().map_err(|error| storage_error(error).to_string());
    match &outcome {
        Ok(()) => fsyncs.committed(mode),
        Err(message) => tracing::error!(%message, "embedded store commit failed"),
    }
    for reply in replies {
        let _ = reply.send(outcome.clone().map_err(Error::Storage));
    }
}

fn ensure_table(parts: &StoreParts, table: String) -> Result<()> {
    if parts.tables.read().contains_key(&table) {
        return Ok(());
    }
    let keyspace = super::open_table(&parts.db, &table)?;
    let mut batch = durable_batch(parts);
    batch.insert(&parts.tables_keyspace, table.as_bytes(), b"".as_slice());
    batch.commit().map_err(storage_error)?;
    parts.tables.write().insert(table, keyspace);
    Ok(())
}

fn truncate(parts: &StoreParts, table: &str) -> Result<()> {
    let Some(rows) = parts.tables.read().get(table).cloned() else {
        return Err(Error::UnknownTable(table.to_owned()));
    };
    let mut batch = durable_batch(parts);
    for entry in rows.iter() {
        batch.remove(&rows, entry.key().map_err(storage_error)?);
    }
    batch.commit().map_err(storage_error)
}
