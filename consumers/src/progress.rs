//! How far each projection has got, shared in-process between the projection tasks (which
//! record it after every store write) and the gateway (which waits on it to read its writes).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use nagare_infra::{Offset, Position, TopicPartition};
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::{Error, Result};

/// How far the projections have got, shared between the projection tasks and the gateway
/// (read-your-writes: wait until the read models show a mutation's events). Cheap to clone.
#[derive(Clone, Debug)]
pub struct Progress {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Bumped after every change of `state`, so waiters re-check without polling.
    changed: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct State {
    /// Set once the running projections are known; until then every wait waits.
    registered: bool,
    projections: BTreeMap<String, ProjectionState>,
}

#[derive(Debug, Default)]
struct ProjectionState {
    topics: Vec<String>,
    /// Per partition, the next offset the projection will apply.
    next_offsets: HashMap<TopicPartition, Offset>,
    /// Records that could not be decoded and were passed over.
    skipped: u64,
}

/// One projection's progress, as reported to operators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectionProgress {
    pub name: String,
    pub topics: Vec<String>,
    /// Per partition, the next offset the projection will apply; sorted.
    pub next_offsets: Vec<(TopicPartition, Offset)>,
    /// Undecodable records passed over since the process started.
    pub skipped: u64,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    pub fn new() -> Self {
        let shared = Shared { state: Mutex::new(State::default()), changed: watch::channel(0).0 };
        Self { inner: Arc::new(shared) }
    }

    /// Waits until every projection that consumes each position's topic has applied the event
    /// at that position; `Error::Timeout` after `timeout`. Before the projections have started
    /// it waits; once they run, a topic that none of them consumes has nothing to wait for.
    pub async fn wait_for(&self, positions: &[Position], timeout: Duration) -> Result<()> {
        let mut changes = self.inner.changed.subscribe();
        let reached = async {
            loop {
                // Marks the current value seen before checking, so no change is missed between
                // the check and the wait.
                changes.borrow_and_update();
                if self.reached(positions) {
                    return;
                }
                if changes.changed().await.is_err() {
                    // Unreachable while `self` holds the sender; wait out the timeout instead.
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, reached).await.map_err(|_| Error::Timeout(timeout))
    }

    /// Every projection's progress.
    pub fn snapshot(&self) -> Vec<ProjectionProgress> {
        let state = self.inner.state.lock();
        state
            .projections
            .iter()
            .map(|(name, projection)| {
                let mut next_offsets: Vec<_> =
                    projection.next_offsets.iter().map(|(tp, o)| (tp.clone(), *o)).collect();
                next_offsets.sort();
                ProjectionProgress {
                    name: name.clone(),
                    topics: projection.topics.clone(),
                    next_offsets,
                    skipped: projection.skipped,
                }
            })
            .collect()
    }

    fn reached(&self, positions: &[Position]) -> bool {
        let state = self.inner.state.lock();
        if !state.registered {
            return positions.is_empty();
        }
        positions.iter().all(|position| {
            let tp = TopicPartition::new(position.topic.clone(), position.partition);
            state
                .projections
                .values()
                .filter(|projection| projection.topics.contains(&position.topic))
                .all(|projection| {
                    projection.next_offsets.get(&tp).is_some_and(|next| *next > position.offset)
                })
        })
    }

    /// Declares the running projections and the topics each consumes, all at once, so that no
    /// wait sees a partial set.
    pub(crate) fn register(&self, projections: Vec<(String, Vec<String>)>) {
        self.update(|state| {
            for (name, topics) in projections {
                state.projections.entry(name).or_default().topics = topics;
            }
            state.registered = true;
        });
    }

    /// Records the next offset a projection will apply in a partition.
    pub(crate) fn record(&self, projection: &str, tp: &TopicPartition, next_offset: Offset) {
        self.update(|state| {
            let entry = state.projections.entry(projection.to_owned()).or_default();
            entry.next_offsets.insert(tp.clone(), next_offset);
        });
    }

    /// Records a store write: the partitions' next offsets and the records passed over, in
    /// one change, so whoever wakes on the offsets also sees the count.
    pub(crate) fn record_batch<'a>(
        &self,
        projection: &str,
        next_offsets: impl IntoIterator<Item = (&'a TopicPartition, Offset)>,
        skipped: u64,
    ) {
        self.update(|state| {
            let entry = state.projections.entry(projection.to_owned()).or_default();
            for (tp, next_offset) in next_offsets {
                entry.next_offsets.insert(tp.clone(), next_offset);
            }
            entry.skipped = entry.skipped.saturating_add(skipped);
        });
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.inner.state.lock());
        self.inner.changed.send_modify(|generation| *generation = generation.wrapping_add(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "nagare.events.product";

    fn position(partition: u32, offset: Offset) -> Position {
        Position { topic: TOPIC.into(), partition, offset }
    }

    fn started() -> Progress {
        let progress = Progress::new();
        progress.register(vec![
            ("products".into(), vec![TOPIC.into()]),
            ("stock".into(), vec![TOPIC.into()]),
            ("orders".into(), vec!["nagare.events.order".into()]),
        ]);
        progress
    }

    #[tokio::test]
    async fn waits_until_the_projections_have_registered() {
        let progress = Progress::new();
        let wait = progress.wait_for(&[position(0, 0)], Duration::from_millis(50)).await;
        assert!(matches!(wait, Err(Error::Timeout(_))));
        let unrelated = Position { topic: "nagare.replies".into(), partition: 0, offset: 0 };
        assert!(
            progress
                .wait_for(std::slice::from_ref(&unrelated), Duration::from_millis(1))
                .await
                .is_err()
        );
        assert!(started().wait_for(&[unrelated], Duration::from_millis(1)).await.is_ok());
    }

    #[tokio::test]
    async fn resolves_once_every_consuming_projection_is_past_the_position() {
        let progress = started();
        let tp = TopicPartition::new(TOPIC, 2);
        progress.record("products", &tp, 8);
        let waiter = {
            let progress = progress.clone();
            tokio::spawn(async move {
                progress.wait_for(&[position(2, 7)], Duration::from_secs(60)).await
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished(), "the stock projection has not reached offset 7");
        progress.record("stock", &tp, 7);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished(), "next offset 7 means offset 7 is not applied yet");
        progress.record("stock", &tp, 8);
        assert!(waiter.await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn times_out_when_a_partition_lags() {
        let progress = started();
        progress.record("products", &TopicPartition::new(TOPIC, 0), 100);
        progress.record("stock", &TopicPartition::new(TOPIC, 0), 100);
        let both = [position(0, 5), position(1, 0)];
        let result = progress.wait_for(&both, Duration::from_millis(250)).await;
        assert!(matches!(result, Err(Error::Timeout(t)) if t == Duration::from_millis(250)));
        assert!(progress.wait_for(&both[..1], Duration::ZERO).await.is_ok());
    }

    #[test]
    fn snapshot_reports_offsets_and_skips() {
        let progress = started();
        let (first, second) = (TopicPartition::new(TOPIC, 1), TopicPartition::new(TOPIC, 0));
        progress.record_batch("products", [(&first, 3), (&second, 4)], 2);
        let products = progress.snapshot().into_iter().find(|p| p.name == "products").unwrap();
        assert_eq!(products.skipped, 2);
        assert_eq!(products.next_offsets[0], (TopicPartition::new(TOPIC, 0), 4));
    }
}
