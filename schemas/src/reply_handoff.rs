//! Replies handed over in memory to a gateway of the same process.
//!
//! A gateway names its instance id in each command's `reply_to` header and reads its replies
//! from the replies topic. When the command processor that decides the command runs in the
//! same process as that gateway — always on the embedded log, and on Kafka whenever one
//! `nagare serve` runs both roles — the round trip through the topic is pure overhead: the
//! processor hands the reply to the gateway directly instead, once the events it names are
//! durable, and writes no reply record. Replies for gateways of other processes are written to
//! the topic as before. On the embedded log this took a tenth off the server's CPU at 4,000
//! commands/s; on Kafka it saves each command a broker round trip (BENCHMARKS.md).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use crate::replies::CommandReply;

/// Where the gateways of this process take their replies. Cheap to clone; clones share the
/// routes.
#[derive(Clone, Default)]
pub struct ReplyHandoff {
    routes: Arc<RwLock<HashMap<String, Recipient>>>,
}

/// The gateway instance a reply goes to.
#[derive(Clone)]
pub struct Recipient {
    deliver: Arc<dyn Fn(CommandReply) + Send + Sync>,
}

impl Recipient {
    /// Hands the reply over; the caller guarantees the events it names are durable.
    pub fn deliver(&self, reply: CommandReply) {
        (self.deliver)(reply);
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recipient").finish_non_exhaustive()
    }
}

impl ReplyHandoff {
    /// Routes the replies to `instance_id` to `deliver` until the returned registration is
    /// dropped. An instance registered again replaces its route.
    pub fn register(
        &self,
        instance_id: &str,
        deliver: impl Fn(CommandReply) + Send + Sync + 'static,
    ) -> HandoffRegistration {
        let recipient = Recipient { deliver: Arc::new(deliver) };
        self.write().insert(instance_id.to_owned(), recipient);
        HandoffRegistration { handoff: self.clone(), instance_id: instance_id.to_owned() }
    }

    /// The gateway of this process with that instance id, if there is one.
    pub fn recipient(&self, instance_id: &str) -> Option<Recipient> {
        self.routes
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(instance_id)
            .cloned()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Recipient>> {
        // The map holds no invariant a panicking writer could break.
        self.routes.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for ReplyHandoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let routes = self.routes.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        f.debug_struct("ReplyHandoff")
            .field("instances", &routes.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Keeps a gateway's route; dropping it removes the route, and later replies to that instance
/// go to the replies topic again.
#[derive(Debug)]
pub struct HandoffRegistration {
    handoff: ReplyHandoff,
    instance_id: String,
}

impl Drop for HandoffRegistration {
    fn drop(&mut self) {
        self.handoff.write().remove(&self.instance_id);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::replies::{CommandRejected, RejectionCode};

    fn reply(command_id: &str) -> CommandReply {
        CommandReply::Rejected(CommandRejected {
            command_id: command_id.into(),
            aggregate_id: "a".into(),
            code: RejectionCode::NotFound,
            field: None,
            message: "no such product".into(),
        })
    }

    #[test]
    fn a_registered_instance_receives_its_replies_until_its_registration_is_dropped() {
        let handoff = ReplyHandoff::default();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&received);
        let registration = handoff.register("gateway-1", move |reply| {
            sink.lock().unwrap().push(reply.command_id().to_owned());
        });
        assert!(handoff.recipient("gateway-2").is_none(), "other instances are not local");
        handoff.recipient("gateway-1").expect("registered").deliver(reply("c1"));
        assert_eq!(*received.lock().unwrap(), vec!["c1".to_owned()]);
        drop(registration);
        assert!(handoff.recipient("gateway-1").is_none());
    }

    #[test]
    fn clones_share_the_routes() {
        let handoff = ReplyHandoff::default();
        let _registration = handoff.clone().register("gateway-1", |_| {});
        assert!(handoff.recipient("gateway-1").is_some());
        assert!(format!("{handoff:?}").contains("gateway-1"));
    }
}
