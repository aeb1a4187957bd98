//! How far each projection has got, shared in-process between the projection tasks (which
//! record it after every store write) and the gateway (which waits on it to read its writes).
//!
//! When the projections run in another process (a shared store, a gateway without the
//! projections role), [`Progress::following_store`] learns the same from the checkpoints the
//! projections write into the store, polled at a short interval while someone waits.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use nagare_infra::{Offset, Position, ReadStore, TopicPartition};
use nagare_schemas::topics::Topics;
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::projections::Projection;
use crate::{Error, Result};

/// How often a wait re-reads the store's checkpoints when the projections run elsewhere: short
/// enough to add little to a `STRONG` mutation, long enough to cost the store little.
const STORE_POLL_INTERVAL: Duration = Duration::from_millis(5);

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
    /// Set when the projections run in other processes: waits read their checkpoints here.
    store: Option<Arc<dyn ReadStore>>,
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
    /// Progress fed by projections running in this process.
    pub fn new() -> Self {
        Self::with_store(None)
    }

    /// Progress of projections running in other processes, read from the checkpoints they
    /// write into `store` (a shared store). Every projection is known from the start.
    pub fn following_store(store: Arc<dyn ReadStore>, topics: &Topics) -> Self {
        let progress = Self::with_store(Some(store));
        progress.register(
            Projection::ALL
                .into_iter()
                .map(|p| (p.name().to_owned(), vec![topics.events(p.aggregate())]))
                .collect(),
        );
        progress
    }

    fn with_store(store: Option<Arc<dyn ReadStore>>) -> Self {
        let state = Mutex::new(State::default());
        let shared = Shared { state, changed: watch::channel(0).0, store };
        Self { inner: Arc::new(shared) }
    }

    /// Whether waits read the store's checkpoints (the projections run elsewhere).
    pub fn follows_store(&self) -> bool {
        self.inner.store.is_some()
    }

    /// Waits until every projection that consumes each position's topic has applied the event
    /// at that position; `Error::Timeout` after `timeout`. Before the projections have started
    /// it waits; once they run, a topic that none of them consumes has nothing to wait for.
    pub async fn wait_for(&self, positions: &[Position], timeout: Duration) -> Result<()> {
        if let Some(store) = &self.inner.store {
            let polled = self.poll_store(store.as_ref(), positions);
            return tokio::time::timeout(timeout, polled)
                .await
                .map_err(|_| Error::Timeout(timeout));
        }
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

    /// Re-reads the checkpoints of the projections that consume the positions' topics until
    /// they have passed every position. A store that fails is asked again at the next tick:
    /// the caller's timeout bounds the wait.
    async fn poll_store(&self, store: &dyn ReadStore, positions: &[Position]) {
        let topics: BTreeSet<&str> = positions.iter().map(|p| p.topic.as_str()).collect();
        let consumers: Vec<String> = {
            let state = self.inner.state.lock();
            state
                .projections
                .iter()
                .filter(|(_, p)| p.topics.iter().any(|t| topics.contains(t.as_str())))
                .map(|(name, _)| name.clone())
                .collect()
        };
        let mut ticks = tokio::time::interval(STORE_POLL_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reported_failure = false;
        loop {
            if self.reached(positions) {
                return;
            }
            ticks.tick().await;
            for name in &consumers {
                match store.checkpoints(name).await {
                    Ok(checkpoints) => self.record_batch(
                        name,
                        checkpoints.iter().map(|c| (&c.tp, c.next_offset)),
                        0,
                    ),
                    Err(error) if !reported_failure => {
                        reported_failure = true;
                        tracing::warn!(%error, projection = %name, "cannot read the projection's checkpoints; retrying");
                    }
                    Err(_) => {}
                }
            }
        }
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

    async fn embedded_store(dir: &std::path::Path) -> Arc<dyn ReadStore> {
        let url = format!("embedded://{}", dir.display());
        nagare_infra::open_store(&url).await.unwrap_or_else(|e| panic!("{e}"))
    }

    async fn write_checkpoint(
        store: &dyn ReadStore,
        projection: &str,
        partition: u32,
        next: Offset,
    ) {
        let checkpoint = nagare_infra::Checkpoint {
            projection: projection.into(),
            tp: TopicPartition::new(TOPIC, partition),
            next_offset: next,
        };
        let batch = nagare_infra::WriteBatch { ops: Vec::new(), checkpoints: vec![checkpoint] };
        store.write(batch).await.unwrap_or_else(|e| panic!("{e}"));
    }

    #[tokio::test]
    async fn following_the_store_resolves_once_its_checkpoints_pass_the_position() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = embedded_store(dir.path()).await;
        let progress = Progress::following_store(store.clone(), &Topics::default());
        assert!(progress.follows_store());
        let waiter = {
            let progress = progress.clone();
            tokio::spawn(async move {
                progress.wait_for(&[position(1, 7)], Duration::from_secs(60)).await
            })
        };
        write_checkpoint(store.as_ref(), "products", 1, 7).await;
        write_checkpoint(store.as_ref(), "orders", 1, 100).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "next offset 7 means offset 7 is not applied yet");
        write_checkpoint(store.as_ref(), "products", 1, 8).await;
        assert!(waiter.await.unwrap().is_ok());
        let products = progress.snapshot().into_iter().find(|p| p.name == "products").unwrap();
        assert_eq!(products.next_offsets, vec![(TopicPartition::new(TOPIC, 1), 8)]);
    }

    #[tokio::test]
    async fn following_the_store_times_out_when_no_projection_writes() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = embedded_store(dir.path()).await;
        write_checkpoint(store.as_ref(), "products", 0, 3).await;
        let progress = Progress::following_store(store, &Topics::default());
        let lagging = progress.wait_for(&[position(0, 3)], Duration::from_millis(100)).await;
        assert!(matches!(lagging, Err(Error::Timeout(_))), "{lagging:?}");
        assert!(progress.wait_for(&[position(0, 2)], Duration::from_secs(10)).await.is_ok());
        let replies = Position { topic: "nagare.replies".into(), partition: 0, offset: 9 };
        assert!(progress.wait_for(&[replies], Duration::ZERO).await.is_ok());
    }

    #[tokio::test]
    async fn in_process_progress_never_reads_the_store() {
        // The embedded store holds a checkpoint past the position, but in-process progress
        // knows only what its own projections recorded.
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = embedded_store(dir.path()).await;
        write_checkpoint(store.as_ref(), "products", 0, 50).await;
        let progress = started();
        assert!(!progress.follows_store());
        let waited = progress.wait_for(&[position(0, 5)], Duration::from_millis(50)).await;
        assert!(matches!(waited, Err(Error::Timeout(_))));
        progress.record("products", &TopicPartition::new(TOPIC, 0), 6);
        progress.record("stock", &TopicPartition::new(TOPIC, 0), 6);
        assert!(progress.wait_for(&[position(0, 5)], Duration::ZERO).await.is_ok());
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
