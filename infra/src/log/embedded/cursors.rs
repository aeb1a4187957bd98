//! Read positions over a set of partitions, shared by the plain reader and group members, and
//! the signal that one of those partitions has grown.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Notify;

use super::Shared;
use super::topics::TopicState;
use crate::Result;
use crate::log::{Offset, StoredRecord, TopicPartition};

#[derive(Debug)]
struct Cursor {
    tp: TopicPartition,
    topic: Arc<TopicState>,
    next: Offset,
}

/// The partitions being read and the next offset of each.
#[derive(Debug, Default)]
pub(super) struct Cursors {
    cursors: Vec<Cursor>,
    /// Where the next collection starts, rotated so no partition starves the others.
    start: usize,
    /// Registered with every partition in `cursors`; the writer wakes it when one grows.
    grown: Arc<Notify>,
}

impl Cursors {
    /// Adds a partition (or moves it if already present).
    pub(super) fn insert(&mut self, tp: TopicPartition, topic: Arc<TopicState>, next: Offset) {
        match self.cursors.iter_mut().find(|cursor| cursor.tp == tp) {
            Some(cursor) => cursor.next = next,
            None => {
                if let Some(waiters) = topic.waiters(tp.partition) {
                    waiters.register(&self.grown);
                }
                self.cursors.push(Cursor { tp, topic, next });
            }
        }
    }

    pub(super) fn remove(&mut self, tp: &TopicPartition) {
        self.cursors.retain(|cursor| {
            let keep = &cursor.tp != tp;
            if !keep && let Some(waiters) = cursor.topic.waiters(cursor.tp.partition) {
                waiters.unregister(&self.grown);
            }
            keep
        });
    }

    /// Resolves once a partition being read may have grown since the last call to
    /// [`collect`](Self::collect) began — at once if it grew while no one was waiting.
    pub(super) fn grown(&self) -> impl Future<Output = ()> + '_ {
        self.grown.notified()
    }

    /// Moves an existing cursor; false when the partition is not being read.
    pub(super) fn seek(&mut self, tp: &TopicPartition, offset: Offset) -> bool {
        match self.cursors.iter_mut().find(|cursor| &cursor.tp == tp) {
            Some(cursor) => {
                cursor.next = offset;
                true
            }
            None => false,
        }
    }

    pub(super) fn partitions(&self) -> Vec<TopicPartition> {
        self.cursors.iter().map(|cursor| cursor.tp.clone()).collect()
    }

    /// Up to `max_records` durable records past the cursors, without waiting; each partition's
    /// records in offset order.
    pub(super) fn collect(
        &mut self,
        shared: &Shared,
        max_records: usize,
    ) -> Result<Vec<StoredRecord>> {
        let mut out = Vec::new();
        let count = self.cursors.len();
        if count == 0 {
            return Ok(out);
        }
        let max_records = max_records.max(1);
        self.start = (self.start + 1) % count;
        for step in 0..count {
            let remaining = max_records - out.len();
            if remaining == 0 {
                break;
            }
            let cursor = &mut self.cursors[(self.start + step) % count];
            let high = cursor.topic.high(cursor.tp.partition)?;
            if cursor.next >= high {
                continue;
            }
            let end = high.min(cursor.next.saturating_add(remaining as u64));
            let records =
                shared.read_range(&cursor.topic, cursor.tp.partition, cursor.next, end)?;
            if let Some(last) = records.last() {
                cursor.next = last.offset + 1;
            }
            out.extend(records);
        }
        Ok(out)
    }
}

impl Drop for Cursors {
    fn drop(&mut self) {
        for cursor in &self.cursors {
            if let Some(waiters) = cursor.topic.waiters(cursor.tp.partition) {
                waiters.unregister(&self.grown);
            }
        }
    }
}
