//! One member of a consumer group: reports its assignment changes, then records of the
//! partitions it owns, and leaves the group when dropped.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::coordinator::Change;
use crate::log::embedded::Shared;
use crate::log::embedded::cursors::Cursors;
use crate::log::embedded::writer::Durability;
use crate::log::{GroupCommit, GroupConsumer, GroupEvent, Offset, TopicPartition};
use crate::{Error, Result};

#[derive(Debug)]
pub(in crate::log::embedded) struct GroupMember {
    shared: Arc<Shared>,
    group: String,
    id: u64,
    cursors: Cursors,
    /// Partitions reported `Revoked`, released to the group at the next call to `next`.
    revoked: Vec<TopicPartition>,
    /// Signals a possible assignment change.
    rebalanced: Arc<Notify>,
}

impl GroupMember {
    /// Joins `group`; every topic must exist.
    pub(in crate::log::embedded) fn join(
        shared: Arc<Shared>,
        group: &str,
        topics: &[String],
    ) -> Result<Self> {
        if group.is_empty() {
            return Err(Error::Invalid("a consumer group needs a name".into()));
        }
        let mut counts = Vec::with_capacity(topics.len());
        for topic in topics {
            counts.push((topic.clone(), shared.topics.get(topic)?.partition_count()));
        }
        let (id, rebalanced) = shared.groups.join(group, counts);
        Ok(Self {
            shared,
            group: group.to_owned(),
            id,
            cursors: Cursors::default(),
            revoked: Vec::new(),
            rebalanced,
        })
    }

    fn apply(&mut self, change: Change) -> Result<GroupEvent> {
        match change {
            Change::Revoke(partitions) => {
                for tp in &partitions {
                    self.cursors.remove(tp);
                }
                self.revoked = partitions.clone();
                Ok(GroupEvent::Revoked(partitions))
            }
            Change::Assign(partitions) => {
                for tp in &partitions {
                    let topic = self.shared.topics.partition(tp)?;
                    let start = self.shared.committed_offset(&self.group, tp)?.unwrap_or(0);
                    self.cursors.insert(tp.clone(), topic, start);
                }
                Ok(GroupEvent::Assigned(partitions))
            }
        }
    }
}

#[async_trait]
impl GroupConsumer for GroupMember {
    async fn next(&mut self, max_records: usize) -> Result<GroupEvent> {
        if !self.revoked.is_empty() {
            let released = std::mem::take(&mut self.revoked);
            self.shared.groups.release(&self.group, self.id, &released);
        }
        loop {
            if let Some(change) = self.shared.groups.next_change(&self.group, self.id) {
                return self.apply(change);
            }
            let records = self.cursors.collect(&self.shared, max_records)?;
            if !records.is_empty() {
                return Ok(GroupEvent::Records(records));
            }
            tokio::select! {
                () = self.rebalanced.notified() => {}
                () = self.cursors.grown() => {}
            }
        }
    }

    async fn seek(&mut self, tp: &TopicPartition, offset: Offset) -> Result<()> {
        if self.cursors.seek(tp, offset) {
            Ok(())
        } else {
            Err(Error::Invalid(format!("{tp} is not assigned to this member of `{}`", self.group)))
        }
    }

    async fn commit(&mut self, offsets: Vec<(TopicPartition, Offset)>) -> Result<()> {
        let commit = GroupCommit { group: self.group.clone(), offsets };
        self.shared.append(Vec::new(), Some(commit), Durability::Fsynced).await.map(|_| ())
    }

    fn assignment(&self) -> Vec<TopicPartition> {
        self.cursors.partitions()
    }
}

impl Drop for GroupMember {
    fn drop(&mut self) {
        self.shared.groups.leave(&self.group, self.id);
    }
}
