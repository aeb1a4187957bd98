//! The reply listener: tails this instance's replies partition and hands each reply to the
//! mutation waiting for it. Replies for other instances share the partition and are skipped
//! without decoding; a reply nobody waits for (its mutation timed out) is dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nagare_infra::{EventLog, LogReader, Offset, StoredRecord, TopicPartition};
use nagare_schemas::{codec, metadata};
use tokio_util::sync::CancellationToken;

use super::pending::PendingReplies;

/// Records read per wake-up at most.
const BATCH: usize = 256;
/// Pause before reopening the partition after a read error, so a broken log is not hammered.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// Whether the listener is reading, for readiness.
#[derive(Debug, Default)]
pub(crate) struct ListenerState {
    running: AtomicBool,
}

impl ListenerState {
    pub(crate) fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::Release);
    }
}

#[derive(Debug)]
pub(crate) struct ReplyListener {
    pub(crate) log: Arc<dyn EventLog>,
    pub(crate) partition: TopicPartition,
    /// The next offset to read.
    pub(crate) next: Offset,
    pub(crate) pending: Arc<PendingReplies>,
    pub(crate) state: Arc<ListenerState>,
}

impl ReplyListener {
    /// Reads until `shutdown`, reopening the partition after errors; then releases every waiter.
    pub(crate) async fn run(mut self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            match self.log.reader(vec![(self.partition.clone(), self.next)]).await {
                Ok(reader) => {
                    self.state.set_running(true);
                    if let Err(error) = self.read_until_error(reader, &shutdown).await {
                        tracing::warn!(%error, partition = %self.partition, "reading replies failed; reopening");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, partition = %self.partition, "cannot open the replies partition; retrying");
                }
            }
            self.state.set_running(false);
            if shutdown.is_cancelled() {
                break;
            }
            self.skip_expired_offsets().await;
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(RETRY_PAUSE) => {}
            }
        }
        self.state.set_running(false);
        self.pending.close();
        tracing::debug!(partition = %self.partition, "reply listener stopped");
    }

    /// Returns `Ok` on shutdown, the error otherwise.
    async fn read_until_error(
        &mut self,
        mut reader: Box<dyn LogReader>,
        shutdown: &CancellationToken,
    ) -> nagare_infra::Result<()> {
        loop {
            let batch = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                batch = reader.next_batch(BATCH) => batch?,
            };
            for record in batch {
                self.next = self.next.max(record.offset + 1);
                self.deliver(&record);
            }
        }
    }

    fn deliver(&self, stored: &StoredRecord) {
        let header_id =
            stored.record.header(metadata::COMMAND_ID).and_then(|id| std::str::from_utf8(id).ok());
        if let Some(id) = header_id
            && !self.pending.is_awaited(id)
        {
            return;
        }
        let Some(value) = stored.record.value.as_deref() else {
            return;
        };
        match codec::decode_reply(value) {
            Ok(reply) => {
                if !self.pending.complete(reply) {
                    tracing::debug!(offset = stored.offset, "reply for a command nobody waits for");
                }
            }
            Err(error) => {
                tracing::warn!(%error, offset = stored.offset, partition = %self.partition, "undecodable reply skipped");
            }
        }
    }

    /// After an error the next offset may have been deleted by retention: resume at the oldest
    /// record still held rather than failing forever.
    async fn skip_expired_offsets(&mut self) {
        if let Ok(watermarks) = self.log.watermarks(&self.partition).await {
            self.next = self.next.max(watermarks.low);
        }
    }
}
