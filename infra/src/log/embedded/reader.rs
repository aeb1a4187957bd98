//! A reader of explicitly chosen partitions that waits for appends without polling.

use std::sync::Arc;

use super::Shared;
use super::cursors::Cursors;
use crate::log::{LogReader, Offset, StoredRecord, TopicPartition};
use crate::{Error, Result};
use async_trait::async_trait;

#[derive(Debug)]
pub(super) struct PartitionReader {
    shared: Arc<Shared>,
    cursors: Cursors,
}

impl PartitionReader {
    pub(super) fn new(shared: Arc<Shared>, start: Vec<(TopicPartition, Offset)>) -> Result<Self> {
        let mut cursors = Cursors::default();
        for (tp, offset) in start {
            let topic = shared.topics.partition(&tp)?;
            cursors.insert(tp, topic, offset);
        }
        Ok(Self { shared, cursors })
    }
}

#[async_trait]
impl LogReader for PartitionReader {
    async fn next_batch(&mut self, max_records: usize) -> Result<Vec<StoredRecord>> {
        loop {
            let records = self.cursors.collect(&self.shared, max_records)?;
            if !records.is_empty() {
                return Ok(records);
            }
            self.cursors.grown().await;
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
