//! A reader of explicitly chosen partitions that waits for appends without polling.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

use super::Shared;
use super::cursors::Cursors;
use crate::log::{LogReader, Offset, StoredRecord, TopicPartition};
use crate::{Error, Result};

#[derive(Debug)]
pub(super) struct PartitionReader {
    shared: Arc<Shared>,
    cursors: Cursors,
    /// Changes after every durable commit of the log.
    appended: watch::Receiver<u64>,
}

impl PartitionReader {
    pub(super) fn new(shared: Arc<Shared>, start: Vec<(TopicPartition, Offset)>) -> Result<Self> {
        let mut cursors = Cursors::default();
        for (tp, offset) in start {
            let topic = shared.topics.partition(&tp)?;
            cursors.insert(tp, topic, offset);
        }
        let appended = shared.appended.subscribe();
        Ok(Self { shared, cursors, appended })
    }
}

#[async_trait]
impl LogReader for PartitionReader {
    async fn next_batch(&mut self, max_records: usize) -> Result<Vec<StoredRecord>> {
        loop {
            // Marked seen before looking, so an append after the look still wakes us.
            self.appended.borrow_and_update();
            let records = self.cursors.collect(&self.shared, max_records)?;
            if !records.is_empty() {
                return Ok(records);
            }
            self.appended.changed().await.map_err(|_| Error::Closed)?;
        }
    }

    async fn seek(&mut self, tp: &TopicPartition, offset: Offset) -> Result<()> {
        if self.cursors.seek(tp, offset) {
            Ok(())
        } else {
            Err(Error::Invalid(format!("{tp} is not read by this reader")))
        }
    }
}
