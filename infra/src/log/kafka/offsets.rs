//! Committing and reading consumer-group offsets.
//!
//! Kafka accepts a commit for a group with live members only from a current member (it checks
//! the member id and generation). So a group's commits go through this process's live member
//! of that group when there is one, and otherwise through a consumer that carries the group
//! id but never joins (accepted while the group has no members, as when a tool or a restarted
//! process commits). Those standalone consumers are kept, one per group.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::{Offset as KafkaOffset, TopicPartitionList};

use super::blocking::{drop_off_runtime, run_blocking};
use super::cluster::to_kafka_partition;
use super::config::{self, client_config};
use super::errors::broker_error;
use super::group::MemberClient;
use super::url::KafkaUrl;
use crate::log::{GroupCommit, Offset, TopicPartition};
use crate::{Error, Result};

/// How long a commit or an offset fetch may take.
const OFFSETS_TIMEOUT: Duration = Duration::from_secs(10);

/// The consumer a group's offsets go through.
#[derive(Clone)]
enum Committer {
    Member(Arc<MemberClient>),
    Standalone(Arc<BaseConsumer>),
}

impl Committer {
    fn commit(&self, offsets: &TopicPartitionList) -> std::result::Result<(), KafkaError> {
        match self {
            Self::Member(member) => member.consumer.commit(offsets, CommitMode::Sync),
            Self::Standalone(consumer) => {
                let committed = consumer.commit(offsets, CommitMode::Sync);
                // Serve the commit's event, which would otherwise wait in a queue nobody polls.
                let _ = consumer.poll(Duration::ZERO);
                committed
            }
        }
    }

    fn committed(
        &self,
        partitions: TopicPartitionList,
    ) -> std::result::Result<TopicPartitionList, KafkaError> {
        match self {
            Self::Member(member) => member.consumer.committed_offsets(partitions, OFFSETS_TIMEOUT),
            Self::Standalone(consumer) => consumer.committed_offsets(partitions, OFFSETS_TIMEOUT),
        }
    }
}

pub(super) struct GroupOffsets {
    url: KafkaUrl,
    /// This process's members, by group. Entries of dropped members are pruned on use.
    members: Mutex<HashMap<String, Vec<Weak<MemberClient>>>>,
    standalone: Mutex<HashMap<String, Arc<BaseConsumer>>>,
}

impl std::fmt::Debug for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Member(_) => "Committer::Member",
            Self::Standalone(_) => "Committer::Standalone",
        })
    }
}

impl std::fmt::Debug for GroupOffsets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupOffsets")
            .field("standalone", &self.standalone.lock().keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Drop for GroupOffsets {
    fn drop(&mut self) {
        // Closing a consumer waits for librdkafka: off the runtime.
        let standalone = std::mem::take(&mut *self.standalone.lock());
        if !standalone.is_empty() {
            drop_off_runtime(standalone);
        }
    }
}

impl GroupOffsets {
    pub(super) fn new(url: KafkaUrl) -> Self {
        Self { url, members: Mutex::default(), standalone: Mutex::default() }
    }

    /// Registers a live member, through which the group's commits go from now on.
    pub(super) fn register(&self, group: &str, member: &Arc<MemberClient>) {
        let mut members = self.members.lock();
        let live = members.entry(group.to_owned()).or_default();
        live.retain(|weak| weak.strong_count() > 0);
        live.push(Arc::downgrade(member));
    }

    fn committer(&self, group: &str) -> Result<Committer> {
        if group.is_empty() {
            return Err(Error::Invalid("a consumer group needs a name".into()));
        }
        if let Some(live) = self.members.lock().get_mut(group) {
            live.retain(|weak| weak.strong_count() > 0);
            let member = live.iter().filter_map(Weak::upgrade).find(|m| !m.is_closing());
            if let Some(member) = member {
                return Ok(Committer::Member(member));
            }
        }
        let mut standalone = self.standalone.lock();
        if let Some(consumer) = standalone.get(group) {
            return Ok(Committer::Standalone(consumer.clone()));
        }
        let consumer: BaseConsumer =
            client_config(&self.url, config::offsets_only(&self.url, group)).create().map_err(
                |error| broker_error(format!("creating a consumer for group `{group}`"), &error),
            )?;
        let consumer = Arc::new(consumer);
        standalone.insert(group.to_owned(), consumer.clone());
        Ok(Committer::Standalone(consumer))
    }

    /// Commits each offset (the next one to read) for the group.
    pub(super) async fn commit(&self, commit: GroupCommit) -> Result<()> {
        if commit.offsets.is_empty() {
            return Ok(());
        }
        let committer = self.committer(&commit.group)?;
        let mut list = TopicPartitionList::with_capacity(commit.offsets.len());
        for (tp, offset) in &commit.offsets {
            let offset = i64::try_from(*offset).map_err(|_| {
                Error::Invalid(format!("offset {offset} of {tp} is beyond Kafka's largest"))
            })?;
            list.add_partition_offset(
                &tp.topic,
                to_kafka_partition(tp.partition)?,
                KafkaOffset::Offset(offset),
            )
            .map_err(|error| broker_error(format!("committing {tp}"), &error))?;
        }
        let group = commit.group;
        run_blocking(move || committer.commit(&list))
            .await?
            .map_err(|error| broker_error(format!("committing offsets of group `{group}`"), &error))
    }

    /// The group's committed offset of a partition, if any.
    pub(super) async fn committed(
        &self,
        group: &str,
        tp: &TopicPartition,
    ) -> Result<Option<Offset>> {
        let committer = self.committer(group)?;
        let mut list = TopicPartitionList::with_capacity(1);
        list.add_partition(&tp.topic, to_kafka_partition(tp.partition)?);
        let answer = run_blocking(move || committer.committed(list)).await?.map_err(|error| {
            broker_error(format!("reading the offset of {tp} committed by `{group}`"), &error)
        })?;
        let offset = answer
            .elements()
            .iter()
            .find(|element| {
                element.topic() == tp.topic && element.partition() as i64 == i64::from(tp.partition)
            })
            .and_then(|element| match element.offset() {
                KafkaOffset::Offset(offset) => u64::try_from(offset).ok(),
                _ => None,
            });
        Ok(offset)
    }
}
