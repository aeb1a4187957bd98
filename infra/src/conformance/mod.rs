//! Conformance suites for [`EventLog`](crate::EventLog) and [`ReadStore`](crate::ReadStore),
//! written once against the traits and run unchanged against every backend.
//!
//! Each scenario is a public `async fn(backend) -> Result<()>` that panics (through `assert!`)
//! when the backend breaks the contract. The macros [`log_conformance!`](crate::log_conformance)
//! and [`store_conformance!`](crate::store_conformance) expand to one `#[tokio::test]` per
//! scenario, given an async factory of backend instances:
//!
//! ```text
//! mod log {
//!     nagare_infra::log_conformance!(async || -> Arc<dyn EventLog> { open_a_fresh_log().await });
//! }
//! ```
//!
//! The test crate needs `tokio` (with `macros` and `rt-multi-thread`). Every scenario uses
//! fresh topic, group and table names, so one backend instance may serve all of them.

pub mod log;
pub mod log_groups;
pub mod store;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a scenario waits for something that should happen promptly before failing.
/// Generous for networked brokers: a Kafka group rebalance takes a few seconds (about 3 s per
/// round on the test broker, and an incremental rebalance has two rounds), and test machines
/// are often busy.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A name no other scenario, run or process uses (legal as a Kafka topic and a CQL table).
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{nanos}_{count}", std::process::id())
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($suite:ident, $factory:expr, [$($scenario:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() -> $crate::Result<()> {
                let factory = $factory;
                let backend = factory().await;
                $crate::conformance::$suite::$scenario(backend).await
            }
        )*
    };
}

/// One `#[tokio::test]` per `EventLog` scenario; the argument is an async factory returning
/// `Arc<dyn EventLog>`.
#[macro_export]
macro_rules! log_conformance {
    ($factory:expr) => {
        $crate::__conformance_tests!(
            log,
            $factory,
            [
                ensure_and_list_topics,
                offsets_start_at_zero_and_are_dense,
                keys_go_to_their_murmur2_partition,
                batch_append_is_atomic_and_in_order,
                multi_topic_append_with_group_commit,
                appends_without_sync_are_ordered_with_the_rest,
                read_from_the_middle,
                reads_alternate_between_topics,
                watermarks_follow_appends,
                reader_wakes_on_append,
                reader_seek,
            ]
        );
        $crate::__conformance_tests!(
            log_groups,
            $factory,
            [
                single_member_gets_all_partitions,
                commit_and_committed,
                members_split_partitions_and_the_survivor_takes_all,
                member_seek,
            ]
        );
    };
}

/// One `#[tokio::test]` per `ReadStore` scenario; the argument is an async factory returning
/// `Arc<dyn ReadStore>`.
#[macro_export]
macro_rules! store_conformance {
    ($factory:expr) => {
        $crate::__conformance_tests!(
            store,
            $factory,
            [
                put_get_delete,
                get_many_keeps_input_order,
                scan_is_ordered_and_pages,
                batch_is_atomic_with_checkpoints,
                checkpoints_are_per_projection,
                truncate_empties_only_its_table,
                unknown_table_is_an_error,
            ]
        );
    };
}
