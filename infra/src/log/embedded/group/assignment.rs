//! Kafka's range assignor: for each topic, its members (sorted by id) get consecutive runs of
//! partitions, the first `partitions % members` of them one more than the rest.

use std::collections::{BTreeMap, BTreeSet};

use crate::log::TopicPartition;

/// Which partitions each member should own, given each member's subscribed topics and every
/// topic's partition count.
pub(super) fn range_assign(
    subscriptions: &BTreeMap<u64, Vec<String>>,
    partition_counts: &BTreeMap<String, u32>,
) -> BTreeMap<u64, BTreeSet<TopicPartition>> {
    let mut assignment: BTreeMap<u64, BTreeSet<TopicPartition>> =
        subscriptions.keys().map(|id| (*id, BTreeSet::new())).collect();
    for (topic, &partitions) in partition_counts {
        let members: Vec<u64> = subscriptions
            .iter()
            .filter(|(_, topics)| topics.contains(topic))
            .map(|(id, _)| *id)
            .collect();
        if members.is_empty() {
            continue;
        }
        let member_count = members.len() as u32;
        let per_member = partitions / member_count;
        let extra = partitions % member_count;
        let mut next = 0;
        for (index, id) in members.iter().enumerate() {
            let index = index as u32;
            let share = per_member + u32::from(index < extra);
            let owned = assignment.entry(*id).or_default();
            owned.extend((next..next + share).map(|p| TopicPartition::new(topic.clone(), p)));
            next += share;
        }
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscriptions(members: &[(u64, &[&str])]) -> BTreeMap<u64, Vec<String>> {
        members
            .iter()
            .map(|(id, topics)| (*id, topics.iter().map(|t| (*t).to_owned()).collect()))
            .collect()
    }

    fn partitions(of: &BTreeSet<TopicPartition>) -> Vec<(String, u32)> {
        of.iter().map(|tp| (tp.topic.clone(), tp.partition)).collect()
    }

    #[test]
    fn splits_like_kafkas_range_assignor() {
        let counts = BTreeMap::from([("t".to_owned(), 5)]);
        let assigned = range_assign(&subscriptions(&[(1, &["t"]), (2, &["t"])]), &counts);
        let t = |p| ("t".to_owned(), p);
        assert_eq!(partitions(&assigned[&1]), vec![t(0), t(1), t(2)]);
        assert_eq!(partitions(&assigned[&2]), vec![t(3), t(4)]);
    }

    #[test]
    fn only_subscribers_of_a_topic_share_it() {
        let counts = BTreeMap::from([("a".to_owned(), 2), ("b".to_owned(), 2)]);
        let assigned = range_assign(&subscriptions(&[(1, &["a", "b"]), (2, &["b"])]), &counts);
        assert_eq!(assigned[&1].len(), 3);
        assert_eq!(partitions(&assigned[&2]), vec![("b".to_owned(), 1)]);
    }

    #[test]
    fn more_members_than_partitions_leaves_some_idle() {
        let counts = BTreeMap::from([("t".to_owned(), 1)]);
        let assigned = range_assign(&subscriptions(&[(1, &["t"]), (2, &["t"])]), &counts);
        assert_eq!(assigned[&1].len(), 1);
        assert!(assigned[&2].is_empty());
    }
}
