//! The command bus: sends a command to the commands topic and waits for the command
//! processor's reply.
//!
//! Each gateway instance picks a random id at start and names it in every command's
//! `reply_to` header. The processor writes the reply to the replies partition that id hashes
//! to (Kafka's murmur2, as for any key), so an instance reads one partition, starting at its
//! high watermark: replies written before the instance existed cannot be for it. A processor
//! in the same process hands the reply over in memory instead ([`CommandBus::accept_handoff`]).

mod listener;
mod pending;
mod record;

use std::sync::Arc;
use std::time::Duration;

use nagare_infra::{EventLog, TopicPartition, partitioner};
use nagare_schemas::commands::Command;
use nagare_schemas::replies::CommandReply;
use nagare_schemas::reply_handoff::{HandoffRegistration, ReplyHandoff};
use nagare_schemas::topics::Topics;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{Error, Result};
use listener::{ListenerState, ReplyListener};
use pending::PendingReplies;
use record::{Envelope, command_record};

/// How long `send` waits for a reply unless told otherwise.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends commands and awaits their replies. Cheap to clone; every clone shares one listener.
#[derive(Clone, Debug)]
pub struct CommandBus {
    shared: Arc<Shared>,
    reply_timeout: Duration,
}

#[derive(Debug)]
struct Shared {
    log: Arc<dyn EventLog>,
    topics: Topics,
    instance_id: String,
    replies: TopicPartition,
    pending: Arc<PendingReplies>,
    state: Arc<ListenerState>,
    listener: parking_lot::Mutex<Option<JoinHandle<()>>>,
    /// This instance's route in the process's reply hand-off, while it has one.
    handoff: parking_lot::Mutex<Option<HandoffRegistration>>,
}

impl CommandBus {
    /// Picks an instance id and starts listening on its replies partition, from the current
    /// end. Listens until `shutdown` is cancelled; waiting `send`s then fail with `BusStopped`.
    pub async fn start(
        log: Arc<dyn EventLog>,
        topics: Topics,
        shutdown: CancellationToken,
    ) -> Result<CommandBus> {
        let instance_id = format!("gateway-{}", Uuid::new_v4());
        let replies_topic = topics.replies();
        let partitions = log.partition_count(&replies_topic).await?;
        if partitions == 0 {
            return Err(Error::NoReplyPartitions(replies_topic));
        }
        let partition = partitioner::partition_for_key(instance_id.as_bytes(), partitions);
        let replies = TopicPartition::new(replies_topic, partition);
        // Read before returning, so no command sent through this bus can be answered earlier.
        let start = log.watermarks(&replies).await?.high;

        let pending = Arc::new(PendingReplies::default());
        let state = Arc::new(ListenerState::default());
        let listener = ReplyListener {
            log: Arc::clone(&log),
            partition: replies.clone(),
            next: start,
            pending: Arc::clone(&pending),
            state: Arc::clone(&state),
        };
        let handle = tokio::spawn(listener.run(shutdown));
        tracing::info!(%instance_id, partition = %replies, from = start, "command bus listening for replies");

        let shared = Shared {
            log,
            topics,
            instance_id,
            replies,
            pending,
            state,
            listener: parking_lot::Mutex::new(Some(handle)),
            handoff: parking_lot::Mutex::new(None),
        };
        Ok(CommandBus { shared: Arc::new(shared), reply_timeout: DEFAULT_REPLY_TIMEOUT })
    }

    /// The same bus with another reply timeout.
    pub fn with_reply_timeout(mut self, timeout: Duration) -> Self {
        self.reply_timeout = timeout;
        self
    }

    /// Appends the command (keyed by its aggregate id) and waits for its reply.
    ///
    /// `Error::CommandTimeout` means the reply did not come in time; the command may still be
    /// applied, and sending it again with the same `command_id` is safe.
    pub async fn send(
        &self,
        command: Command,
        command_id: String,
        correlation_id: Option<String>,
    ) -> Result<CommandReply> {
        let mut waiter = self.shared.pending.register(&command_id).ok_or(Error::BusStopped)?;
        let envelope = Envelope {
            command_id: &command_id,
            reply_to: &self.shared.instance_id,
            correlation_id: correlation_id.as_deref(),
        };
        let record = command_record(&self.shared.topics.commands(), &command, &envelope, now_ms());
        // The processor answers with a durable append of events and reply, which makes the
        // command durable too; until then no one outside the log acts on it.
        self.shared.log.append_without_sync(vec![record]).await?;
        tracing::debug!(%command_id, command = command.command_type(), "command sent");

        match tokio::time::timeout(self.reply_timeout, waiter.reply()).await {
            Ok(Some(reply)) => Ok(reply),
            Ok(None) => Err(Error::BusStopped),
            Err(_) => Err(Error::CommandTimeout { command_id, timeout: self.reply_timeout }),
        }
    }

    /// Takes the replies that a command processor of this process decides from `handoff`, in
    /// memory, instead of through the replies topic (which still brings those of processors
    /// elsewhere). The route lasts as long as the bus.
    pub fn accept_handoff(&self, handoff: &ReplyHandoff) {
        let pending = Arc::clone(&self.shared.pending);
        let registration = handoff.register(&self.shared.instance_id, move |reply| {
            if !pending.complete(reply) {
                tracing::debug!("handed-over reply for a command nobody waits for");
            }
        });
        *self.shared.handoff.lock() = Some(registration);
    }

    /// This gateway instance's id, the `reply_to` of its commands.
    pub fn instance_id(&self) -> &str {
        &self.shared.instance_id
    }

    /// The replies partition this instance reads.
    pub fn replies_partition(&self) -> &TopicPartition {
        &self.shared.replies
    }

    /// Whether the reply listener is reading its partition (for readiness).
    pub fn is_listening(&self) -> bool {
        self.shared.state.is_running()
    }

    /// Waits until the reply listener has stopped (after its shutdown token was cancelled).
    pub async fn stopped(&self) {
        let handle = self.shared.listener.lock().take();
        if let Some(handle) = handle
            && let Err(error) = handle.await
        {
            tracing::warn!(%error, "the reply listener ended abnormally");
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
