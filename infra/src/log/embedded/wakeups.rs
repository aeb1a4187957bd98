//! Who to wake when a partition grows.
//!
//! Each reader and group member has one [`Notify`] and registers it with every partition it
//! reads. After a commit the writer wakes the readers of the partitions that commit wrote, and
//! no one else: a projection of product events sleeps through the commands being appended, and
//! the command processor through the replies. (A single log-wide signal woke every reader on
//! every commit — at 10,000 commands/s the projections' tasks were polled 25,000 times a second
//! to find nothing new in most polls.)
//!
//! `Notify` keeps a permit when no one is waiting, so a reader that looks at the high
//! watermarks and then waits cannot miss an append made between the two: the wait returns at
//! once and the reader looks again.

use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tokio::sync::Notify;

/// The readers registered with one partition. They are held weakly: a reader dropped without
/// unregistering costs one failed upgrade at the next wake, and is pruned then.
#[derive(Debug, Default)]
pub(super) struct PartitionWaiters {
    waiters: Mutex<Vec<Weak<Notify>>>,
}

impl PartitionWaiters {
    /// Registers `notify` (once, however often it is called).
    pub(super) fn register(&self, notify: &Arc<Notify>) {
        let mut waiters = self.waiters.lock();
        if !waiters.iter().any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(notify))) {
            waiters.push(Arc::downgrade(notify));
        }
    }

    pub(super) fn unregister(&self, notify: &Arc<Notify>) {
        self.waiters.lock().retain(|w| !std::ptr::eq(w.as_ptr(), Arc::as_ptr(notify)));
    }

    /// Wakes every registered reader, or gives it a permit if it is not waiting.
    pub(super) fn wake(&self) {
        self.waiters.lock().retain(|waiter| match waiter.upgrade() {
            Some(notify) => {
                notify.notify_one();
                true
            }
            None => false,
        });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.waiters.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_wake_before_the_wait_is_kept_as_a_permit() {
        let waiters = PartitionWaiters::default();
        let notify = Arc::new(Notify::new());
        waiters.register(&notify);
        waiters.wake();
        tokio::time::timeout(Duration::from_secs(5), notify.notified())
            .await
            .expect("the permit given before the wait ends it at once");
    }

    #[tokio::test]
    async fn an_unregistered_reader_is_not_woken() {
        let waiters = PartitionWaiters::default();
        let notify = Arc::new(Notify::new());
        waiters.register(&notify);
        waiters.unregister(&notify);
        waiters.wake();
        let woken = tokio::time::timeout(Duration::from_millis(50), notify.notified()).await;
        assert!(woken.is_err(), "no wake reaches a reader that unregistered");
    }

    #[test]
    fn registering_twice_keeps_one_entry_and_dropped_readers_are_pruned() {
        let waiters = PartitionWaiters::default();
        let kept = Arc::new(Notify::new());
        let dropped = Arc::new(Notify::new());
        waiters.register(&kept);
        waiters.register(&kept);
        waiters.register(&dropped);
        assert_eq!(waiters.len(), 2);
        drop(dropped);
        waiters.wake();
        assert_eq!(waiters.len(), 1);
    }
}
