//! The in-process group coordinator: who is in each consumer group, which partitions each
//! member should own, and which it actually owns.
//!
//! A partition moves with Kafka's eager protocol: its old owner is told `Revoked` and keeps it
//! until it calls `next` again (it has finished with it); only then is the partition handed to
//! its new owner. So two members never hold the same partition, which is what the command
//! processor's single writer per partition relies on.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::assignment::range_assign;
use crate::log::TopicPartition;

/// A change a member must act on.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Change {
    Revoke(Vec<TopicPartition>),
    Assign(Vec<TopicPartition>),
}

#[derive(Debug)]
struct Member {
    topics: Vec<String>,
    /// What the range assignor wants this member to own.
    target: BTreeSet<TopicPartition>,
    /// What the member holds now (assigned and not yet released).
    owned: BTreeSet<TopicPartition>,
    /// Woken whenever the member may have a change to act on.
    wake: Arc<Notify>,
}

#[derive(Debug, Default)]
struct Group {
    next_id: u64,
    members: BTreeMap<u64, Member>,
    partition_counts: BTreeMap<String, u32>,
}

impl Group {
    fn rebalance(&mut self) {
        let subscriptions =
            self.members.iter().map(|(id, member)| (*id, member.topics.clone())).collect();
        let mut targets = range_assign(&subscriptions, &self.partition_counts);
        for (id, member) in &mut self.members {
            member.target = targets.remove(id).unwrap_or_default();
        }
        self.wake_all();
    }

    fn wake_all(&self) {
        for member in self.members.values() {
            member.wake.notify_one();
        }
    }
}

/// Every consumer group of one log.
#[derive(Debug, Default)]
pub(in crate::log::embedded) struct Coordinator {
    groups: Mutex<HashMap<String, Group>>,
}

impl Coordinator {
    /// Adds a member subscribed to `topics` (with their partition counts) and rebalances.
    /// Returns the member's id and the `Notify` that signals its changes.
    pub(super) fn join(&self, group: &str, topics: Vec<(String, u32)>) -> (u64, Arc<Notify>) {
        let mut groups = self.groups.lock();
        let state = groups.entry(group.to_owned()).or_default();
        let id = state.next_id;
        state.next_id += 1;
        let wake = Arc::new(Notify::new());
        for (topic, partitions) in &topics {
            state.partition_counts.insert(topic.clone(), *partitions);
        }
        state.members.insert(
            id,
            Member {
                topics: topics.into_iter().map(|(topic, _)| topic).collect(),
                target: BTreeSet::new(),
                owned: BTreeSet::new(),
                wake: wake.clone(),
            },
        );
        state.rebalance();
        (id, wake)
    }

    /// Removes a member; its partitions go to the others at once.
    pub(super) fn leave(&self, group: &str, id: u64) {
        let mut groups = self.groups.lock();
        let Some(state) = groups.get_mut(group) else { return };
        state.members.remove(&id);
        if state.members.is_empty() {
            groups.remove(group);
        } else {
            state.rebalance();
        }
    }

    /// The member has finished with these revoked partitions: others may now take them.
    pub(super) fn release(&self, group: &str, id: u64, partitions: &[TopicPartition]) {
        let mut groups = self.groups.lock();
        let Some(state) = groups.get_mut(group) else { return };
        if let Some(member) = state.members.get_mut(&id) {
            for tp in partitions {
                member.owned.remove(tp);
            }
        }
        state.wake_all();
    }

    /// The next change for a member: first what it must give up, then what it may take
    /// (only partitions no other member still holds).
    pub(super) fn next_change(&self, group: &str, id: u64) -> Option<Change> {
        let mut groups = self.groups.lock();
        let state = groups.get_mut(group)?;
        let member = state.members.get(&id)?;
        let revoke: Vec<TopicPartition> =
            member.owned.difference(&member.target).cloned().collect();
        if !revoke.is_empty() {
            return Some(Change::Revoke(revoke));
        }
        let held_by_others: BTreeSet<&TopicPartition> = state
            .members
            .iter()
            .filter(|(other, _)| **other != id)
            .flat_map(|(_, other)| other.owned.iter())
            .collect();
        let assign: Vec<TopicPartition> = member
            .target
            .difference(&member.owned)
            .filter(|tp| !held_by_others.contains(tp))
            .cloned()
            .collect();
        if assign.is_empty() {
            return None;
        }
        let member = state.members.get_mut(&id)?;
        member.owned.extend(assign.iter().cloned());
        Some(Change::Assign(assign))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tps(partitions: &[u32]) -> Vec<TopicPartition> {
        partitions.iter().map(|p| TopicPartition::new("t", *p)).collect()
    }

    #[test]
    fn a_partition_moves_only_after_its_old_owner_releases_it() {
        let coordinator = Coordinator::default();
        let (first, _) = coordinator.join("g", vec![("t".into(), 2)]);
        assert_eq!(coordinator.next_change("g", first), Some(Change::Assign(tps(&[0, 1]))));

        let (second, _) = coordinator.join("g", vec![("t".into(), 2)]);
        // Partition 1 is still held by the first member.
        assert_eq!(coordinator.next_change("g", second), None);
        assert_eq!(coordinator.next_change("g", first), Some(Change::Revoke(tps(&[1]))));
        assert_eq!(coordinator.next_change("g", second), None);

        coordinator.release("g", first, &tps(&[1]));
        assert_eq!(coordinator.next_change("g", second), Some(Change::Assign(tps(&[1]))));
        assert_eq!(coordinator.next_change("g", first), None);
    }

    #[test]
    fn leaving_hands_everything_to_the_survivor() {
        let coordinator = Coordinator::default();
        let (first, _) = coordinator.join("g", vec![("t".into(), 2)]);
        let (second, _) = coordinator.join("g", vec![("t".into(), 2)]);
        assert_eq!(coordinator.next_change("g", first), Some(Change::Assign(tps(&[0]))));
        assert_eq!(coordinator.next_change("g", second), Some(Change::Assign(tps(&[1]))));
        coordinator.leave("g", second);
        assert_eq!(coordinator.next_change("g", first), Some(Change::Assign(tps(&[1]))));
    }
}
