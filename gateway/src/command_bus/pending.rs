//! Commands waiting for their reply, by command id.
//!
//! A client may send the same command id twice at once (a retry racing the original); the
//! processor answers each copy, in the order it read them, so waiters queue per id and each
//! reply goes to the oldest waiter.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nagare_schemas::replies::CommandReply;
use parking_lot::Mutex;
use tokio::sync::oneshot;

type Waiters = VecDeque<(u64, oneshot::Sender<CommandReply>)>;

#[derive(Debug, Default)]
pub(crate) struct PendingReplies {
    waiters: Mutex<HashMap<String, Waiters>>,
    next_ticket: AtomicU64,
    /// Set once the reply listener has stopped for good: nobody would ever answer.
    closed: std::sync::atomic::AtomicBool,
}

impl PendingReplies {
    /// Registers interest in the reply to `command_id`, before the command is sent so a fast
    /// reply cannot slip past. `None` once the bus has stopped.
    pub(crate) fn register(self: &Arc<Self>, command_id: &str) -> Option<PendingReply> {
        let (tx, rx) = oneshot::channel();
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        let mut waiters = self.waiters.lock();
        // Checked under the lock so `close` cannot run between the check and the insert.
        if self.closed.load(Ordering::Acquire) {
            return None;
        }
        waiters.entry(command_id.to_owned()).or_default().push_back((ticket, tx));
        Some(PendingReply {
            pending: Arc::clone(self),
            command_id: command_id.to_owned(),
            ticket,
            rx,
        })
    }

    /// Whether anyone waits for this command id (so other instances' replies are not decoded).
    pub(crate) fn is_awaited(&self, command_id: &str) -> bool {
        self.waiters.lock().contains_key(command_id)
    }

    /// Hands the reply to the oldest waiter for its command id. False when nobody waited.
    pub(crate) fn complete(&self, reply: CommandReply) -> bool {
        let command_id = reply.command_id().to_owned();
        let mut waiters = self.waiters.lock();
        let Some(queue) = waiters.get_mut(&command_id) else {
            return false;
        };
        let mut undelivered = Some(reply);
        while let Some(reply) = undelivered.take() {
            let Some((_, tx)) = queue.pop_front() else {
                undelivered = Some(reply);
                break;
            };
            // A waiter that gave up in the meantime hands the reply back: offer it to the next.
            if let Err(returned) = tx.send(reply) {
                undelivered = Some(returned);
            }
        }
        if queue.is_empty() {
            waiters.remove(&command_id);
        }
        undelivered.is_none()
    }

    /// Drops every waiter (they see the bus as stopped) and refuses new ones.
    pub(crate) fn close(&self) {
        let mut waiters = self.waiters.lock();
        self.closed.store(true, Ordering::Release);
        waiters.clear();
    }

    fn forget(&self, command_id: &str, ticket: u64) {
        let mut waiters = self.waiters.lock();
        if let Some(queue) = waiters.get_mut(command_id) {
            queue.retain(|(t, _)| *t != ticket);
            if queue.is_empty() {
                waiters.remove(command_id);
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.waiters.lock().values().map(VecDeque::len).sum()
    }
}

/// One registered wait. Dropping it (a timeout, a client that went away) unregisters it.
#[derive(Debug)]
pub(crate) struct PendingReply {
    pending: Arc<PendingReplies>,
    command_id: String,
    ticket: u64,
    rx: oneshot::Receiver<CommandReply>,
}

impl PendingReply {
    /// The reply, or `None` if the bus stopped first.
    pub(crate) async fn reply(&mut self) -> Option<CommandReply> {
        (&mut self.rx).await.ok()
    }
}

impl Drop for PendingReply {
    fn drop(&mut self) {
        self.pending.forget(&self.command_id, self.ticket);
    }
}

#[cfg(test)]
mod tests {
    use nagare_schemas::replies::{CommandRejected, RejectionCode};

    use super::*;

    fn rejection(command_id: &str, message: &str) -> CommandReply {
        CommandReply::Rejected(CommandRejected {
            command_id: command_id.to_owned(),
            aggregate_id: "a".to_owned(),
            code: RejectionCode::Conflict,
            field: None,
            message: message.to_owned(),
        })
    }

    #[tokio::test]
    async fn a_reply_reaches_its_waiter_and_unregisters_it() {
        let pending = Arc::new(PendingReplies::default());
        let mut waiter = pending.register("c1").expect("open");
        assert!(pending.is_awaited("c1"));
        assert!(pending.complete(rejection("c1", "first")));
        assert_eq!(waiter.reply().await, Some(rejection("c1", "first")));
        drop(waiter);
        assert_eq!(pending.len(), 0);
        assert!(!pending.is_awaited("c1"));
    }

    #[tokio::test]
    async fn replies_for_unknown_ids_are_ignored() {
        let pending = Arc::new(PendingReplies::default());
        let _waiter = pending.register("mine").expect("open");
        assert!(!pending.complete(rejection("someone-elses", "x")));
        assert_eq!(pending.len(), 1);
    }

    #[tokio::test]
    async fn concurrent_sends_of_one_id_are_answered_in_order() {
        let pending = Arc::new(PendingReplies::default());
        let mut first = pending.register("dup").expect("open");
        let mut second = pending.register("dup").expect("open");
        assert!(pending.complete(rejection("dup", "one")));
        assert!(pending.complete(rejection("dup", "two")));
        assert_eq!(first.reply().await, Some(rejection("dup", "one")));
        assert_eq!(second.reply().await, Some(rejection("dup", "two")));
        assert!(!pending.complete(rejection("dup", "three")));
    }

    #[tokio::test]
    async fn a_dropped_waiter_does_not_swallow_the_reply_of_the_next() {
        let pending = Arc::new(PendingReplies::default());
        let gone = pending.register("dup").expect("open");
        let mut waiting = pending.register("dup").expect("open");
        drop(gone);
        assert!(pending.complete(rejection("dup", "one")));
        assert_eq!(waiting.reply().await, Some(rejection("dup", "one")));
    }

    #[tokio::test]
    async fn closing_wakes_waiters_and_refuses_new_ones() {
        let pending = Arc::new(PendingReplies::default());
        let mut waiter = pending.register("c").expect("open");
        pending.close();
        assert_eq!(waiter.reply().await, None);
        assert!(pending.register("d").is_none());
    }
}
