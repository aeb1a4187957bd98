//! A member of a Kafka consumer group behind [`GroupConsumer`].
//!
//! The contract says a member sees `Revoked` before its partitions can be processed
//! elsewhere, and has finished with them when it calls `next` again. Kafka's rebalance
//! protocol fits this when the member's answers to a rebalance are given from `next`:
//!
//! - librdkafka runs the rebalance callback only while the consumer is polled, and the
//!   consumer is polled only inside `next` (rdkafka's `StreamConsumer` polls on the awaiting
//!   task), never while the caller works on a batch between two calls;
//! - the callback only records the change; the answer librdkafka waits for (`assign` or
//!   `unassign`, as with librdkafka's event API) is given at the start of the following `next`.
//!   Until then the group waits, so no other member gets a revoked partition before this
//!   member called `next` again — exactly Kafka's Java `poll` semantics;
//! - a `seek` between `Assigned` and the next `next` becomes the starting offset of that
//!   `assign`, so it applies before any record is fetched.
//!
//! Assignment is incremental (`cooperative-sticky`, see `config`): a rebalance revokes only
//! the partitions that move, so `Revoked` names exactly what the member lost. The answers
//! follow the protocol librdkafka reports, so an eager strategy given in the URL works too.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use rdkafka::ClientContext;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol, StreamConsumer,
};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::topic_partition_list::{Offset as KafkaOffset, TopicPartitionList};
use rdkafka::types::RDKafkaRespErr;
use tokio::sync::Notify;

use super::blocking::{finish_off_runtime, run_blocking};
use super::cluster::to_kafka_partition;
use super::errors::broker_error;
use super::records::{check_max, consumer_error, stored, take_ready};
use crate::log::{GroupConsumer, GroupEvent, Offset, TopicPartition};
use crate::{Error, Result};

/// How long a seek may take to be acknowledged by librdkafka.
const SEEK_TIMEOUT: Duration = Duration::from_secs(10);

/// A rebalance as the callback saw it, waiting to be reported by `next`.
#[derive(Debug)]
enum Change {
    Assign(Vec<TopicPartition>),
    Revoke(Vec<TopicPartition>),
    /// The rebalance failed; librdkafka was answered with `unassign` already.
    Failed(String),
}

/// What the rebalance callback shares with the member.
#[derive(Debug, Default)]
pub(super) struct Changes {
    queue: Mutex<VecDeque<Change>>,
    arrived: Notify,
    /// Set when the member is dropped: from then on the callback answers librdkafka at once,
    /// since closing the consumer waits for those answers and nobody calls `next` any more.
    closing: AtomicBool,
}

/// The consumer context of a member: records rebalances instead of answering them.
#[derive(Debug)]
pub(super) struct MemberContext {
    changes: Arc<Changes>,
}

impl ClientContext for MemberContext {}

impl ConsumerContext for MemberContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        partitions: &mut TopicPartitionList,
    ) {
        let listed = to_partitions(partitions);
        let closing = self.changes.closing.load(Ordering::Acquire);
        let change = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => Change::Assign(listed),
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => Change::Revoke(listed),
            other => {
                answer_now(consumer, &Change::Revoke(listed));
                Change::Failed(RDKafkaErrorCode::from(other).to_string())
            }
        };
        // An incremental rebalance that gives this member nothing still ends with an (empty)
        // assignment, reported like Kafka's Java client calls `onPartitionsAssigned` with no
        // partitions: the caller learns the rebalance is over and what it still owns. An
        // empty revocation tells nothing.
        let empty_revoke = matches!(&change, Change::Revoke(p) if p.is_empty());
        if closing || empty_revoke {
            // Nothing to tell, or nobody left to tell: answer at once.
            answer_now(consumer, &change);
            return;
        }
        self.changes.queue.lock().push_back(change);
        self.changes.arrived.notify_one();
    }
}

/// Answers a rebalance from inside the callback.
fn answer_now(consumer: &BaseConsumer<MemberContext>, change: &Change) {
    let answer = match change {
        Change::Assign(partitions) => {
            Answer::Assign(partitions.iter().map(|tp| (tp.clone(), None)).collect())
        }
        Change::Revoke(partitions) => Answer::Unassign(partitions.clone()),
        Change::Failed(_) => return,
    };
    if let Err(error) = give(consumer, answer) {
        tracing::warn!(error = %error, "answering a Kafka rebalance failed");
    }
}

/// Gives librdkafka the answer to a rebalance, incremental or eager as the group's protocol is.
fn give<C: Consumer<MemberContext>>(consumer: &C, answer: Answer) -> Result<()> {
    let cooperative = matches!(consumer.rebalance_protocol(), RebalanceProtocol::Cooperative);
    let (partitions, assign) = match answer {
        Answer::Assign(starts) => (starts, true),
        Answer::Unassign(partitions) => {
            (partitions.into_iter().map(|tp| (tp, None)).collect(), false)
        }
    };
    let mut list = TopicPartitionList::with_capacity(partitions.len());
    for (tp, start) in &partitions {
        let offset = match start {
            Some(offset) => KafkaOffset::Offset(i64::try_from(*offset).unwrap_or(i64::MAX)),
            None => KafkaOffset::Invalid,
        };
        list.add_partition_offset(&tp.topic, to_kafka_partition(tp.partition)?, offset)
            .map_err(|error| broker_error(format!("assigning {tp}"), &error))?;
    }
    let given = match (cooperative, assign) {
        (true, true) => consumer.incremental_assign(&list),
        (true, false) => consumer.incremental_unassign(&list),
        (false, true) => consumer.assign(&list),
        (false, false) => consumer.unassign(),
    };
    given.map_err(|error| broker_error("answering a rebalance", &error))
}

fn to_partitions(list: &TopicPartitionList) -> Vec<TopicPartition> {
    list.elements()
        .iter()
        .filter_map(|e| Some(TopicPartition::new(e.topic(), u32::try_from(e.partition()).ok()?)))
        .collect()
}

/// The librdkafka consumer of a member, shared with the registry that routes the group's
/// commits through it.
pub(super) struct MemberClient {
    pub(super) consumer: StreamConsumer<MemberContext>,
    changes: Arc<Changes>,
}

impl fmt::Debug for MemberClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberClient").field("closing", &self.is_closing()).finish()
    }
}

impl MemberClient {
    pub(super) fn new(config: &rdkafka::ClientConfig, group: &str) -> Result<Self> {
        let changes = Arc::new(Changes::default());
        let context = MemberContext { changes: changes.clone() };
        let consumer = config.create_with_context(context).map_err(|error| {
            broker_error(format!("creating a member of consumer group `{group}`"), &error)
        })?;
        Ok(Self { consumer, changes })
    }

    pub(super) fn is_closing(&self) -> bool {
        self.changes.closing.load(Ordering::Acquire)
    }
}

/// The answer to the last rebalance, given at the start of the next `next`.
#[derive(Debug)]
enum Answer {
    /// Assign these partitions, each from its seek position or else the committed offset.
    Assign(BTreeMap<TopicPartition, Option<Offset>>),
    /// Give these partitions up.
    Unassign(Vec<TopicPartition>),
}

/// A member of a consumer group; dropping it leaves the group.
pub(super) struct KafkaGroupMember {
    group: String,
    /// Taken by `drop`, which closes the consumer off the runtime.
    client: Option<Arc<MemberClient>>,
    assignment: BTreeSet<TopicPartition>,
    answer: Option<Answer>,
}

impl fmt::Debug for KafkaGroupMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaGroupMember")
            .field("group", &self.group)
            .field("assignment", &self.assignment)
            .finish_non_exhaustive()
    }
}

impl KafkaGroupMember {
    /// Subscribes `client` (made for `group`) to the topics.
    pub(super) fn join(group: &str, client: Arc<MemberClient>, topics: &[String]) -> Result<Self> {
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        client.consumer.subscribe(&names).map_err(|error| {
            broker_error(format!("joining consumer group `{group}` on {topics:?}"), &error)
        })?;
        tracing::debug!(group, ?topics, "joined Kafka consumer group");
        Ok(Self {
            group: group.to_owned(),
            client: Some(client),
            assignment: BTreeSet::new(),
            answer: None,
        })
    }

    fn client(&self) -> Result<Arc<MemberClient>> {
        self.client.clone().ok_or(Error::Closed)
    }

    /// Gives librdkafka the answer to the rebalance reported by the previous `next`.
    fn give_answer(&mut self) -> Result<()> {
        let Some(answer) = self.answer.take() else { return Ok(()) };
        give(&self.client()?.consumer, answer)
            .map_err(|error| Error::Storage(format!("group `{}`: {error}", self.group)))
    }

    fn report(&mut self, change: Change) -> GroupEvent {
        match change {
            Change::Assign(partitions) => {
                self.assignment.extend(partitions.iter().cloned());
                self.answer =
                    Some(Answer::Assign(partitions.iter().map(|tp| (tp.clone(), None)).collect()));
                tracing::info!(group = %self.group, ?partitions, "partitions assigned");
                GroupEvent::Assigned(partitions)
            }
            Change::Revoke(partitions) => {
                for tp in &partitions {
                    self.assignment.remove(tp);
                }
                self.answer = Some(Answer::Unassign(partitions.clone()));
                tracing::info!(group = %self.group, ?partitions, "partitions revoked");
                GroupEvent::Revoked(partitions)
            }
            Change::Failed(reason) => {
                let partitions: Vec<_> = std::mem::take(&mut self.assignment).into_iter().collect();
                tracing::warn!(group = %self.group, reason, ?partitions, "rebalance failed; partitions dropped");
                GroupEvent::Revoked(partitions)
            }
        }
    }
}

#[async_trait]
impl GroupConsumer for KafkaGroupMember {
    async fn next(&mut self, max_records: usize) -> Result<GroupEvent> {
        check_max(max_records)?;
        self.give_answer()?;
        let client = self.client()?;
        let what = format!("member of `{}`", self.group);
        loop {
            let change = client.changes.queue.lock().pop_front();
            if let Some(change) = change {
                return Ok(self.report(change));
            }
            // Polling (inside `recv`) may run the rebalance callback, which wakes `arrived`.
            let received = tokio::select! {
                biased;
                () = client.changes.arrived.notified() => continue,
                received = client.consumer.recv() => received,
            };
            let message = match received {
                Ok(message) => stored(&message),
                Err(error) => {
                    consumer_error(&what, error)?;
                    continue;
                }
            };
            let assignment = &self.assignment;
            let mut batch = Vec::new();
            // A partition no longer assigned (its revocation still to be reported) keeps
            // nothing: records are only ever returned for assigned partitions.
            if assignment.contains(&message.topic_partition()) {
                batch.push(message);
            }
            take_ready(&what, &client.consumer, &mut batch, max_records, |record| {
                assignment.contains(&record.topic_partition())
            })?;
            if !batch.is_empty() {
                return Ok(GroupEvent::Records(batch));
            }
        }
    }

    async fn seek(&mut self, tp: &TopicPartition, offset: Offset) -> Result<()> {
        if !self.assignment.contains(tp) {
            return Err(Error::Invalid(format!(
                "{tp} is not assigned to this member of `{}`",
                self.group
            )));
        }
        if let Some(Answer::Assign(starts)) = &mut self.answer
            && let Some(start) = starts.get_mut(tp)
        {
            *start = Some(offset);
            return Ok(());
        }
        let client = self.client()?;
        let (topic, partition) = (tp.topic.clone(), to_kafka_partition(tp.partition)?);
        let target = KafkaOffset::Offset(i64::try_from(offset).unwrap_or(i64::MAX));
        run_blocking(move || client.consumer.seek(&topic, partition, target, SEEK_TIMEOUT))
            .await?
            .map_err(|error| broker_error(format!("seeking {tp} to offset {offset}"), &error))
    }

    async fn commit(&mut self, offsets: Vec<(TopicPartition, Offset)>) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let mut list = TopicPartitionList::with_capacity(offsets.len());
        for (tp, offset) in &offsets {
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
        let client = self.client()?;
        let group = self.group.clone();
        run_blocking(move || client.consumer.commit(&list, CommitMode::Sync))
            .await?
            .map_err(|error| broker_error(format!("committing offsets of group `{group}`"), &error))
    }

    fn assignment(&self) -> Vec<TopicPartition> {
        self.assignment.iter().cloned().collect()
    }
}

impl Drop for KafkaGroupMember {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else { return };
        client.changes.closing.store(true, Ordering::Release);
        // Rebalances reported or recorded but not answered yet: librdkafka waits for their
        // answers before it can close.
        let reported = self.answer.take();
        let recorded: Vec<Change> = client.changes.queue.lock().drain(..).collect();
        let group = std::mem::take(&mut self.group);
        // Closing leaves the group (LeaveGroup) and waits for librdkafka; off the runtime.
        finish_off_runtime(move || {
            let answers =
                reported.into_iter().chain(recorded.into_iter().filter_map(
                    |change| match change {
                        Change::Assign(p) => {
                            Some(Answer::Assign(p.into_iter().map(|tp| (tp, None)).collect()))
                        }
                        Change::Revoke(p) => Some(Answer::Unassign(p)),
                        Change::Failed(_) => None,
                    },
                ));
            for answer in answers {
                if let Err(error) = give(&client.consumer, answer) {
                    tracing::warn!(error = %error, "answering a Kafka rebalance while leaving failed");
                }
            }
            drop(client);
            tracing::debug!(group, "left Kafka consumer group");
        });
    }
}
