//! Every place where a Kafka-protocol broker that is not Apache Kafka (Nisshi, Tansu) answers
//! differently from Kafka, and how Nagare stays correct on real Kafka while working there.
//!
//! Each quirk says what such a broker does, what Apache Kafka does, and why the code is right
//! for both. Nothing outside this module knows which broker it talks to.
//!
//! Differences seen on Nisshi 0.8.1 (`memory://`) that need no code, because the probe
//! reports them instead of assuming anything:
//! - **No transactions.** InitProducerId with a `transactional.id` is refused
//!   (TRANSACTIONAL_ID_AUTHORIZATION_FAILED; the broker logs "transactions are not
//!   supported"). Apache Kafka grants it unless an ACL forbids the id. The probe's
//!   `init_transactions` fails either way, so `transactions` reads false; nothing in the log
//!   depends on transactions.
//! - **No broker configuration.** DescribeConfigs of a broker answers with no entries, so
//!   `log.cleaner.enable` is absent and `compaction` reads false. Apache Kafka describes it
//!   (true by default), and then compaction reads true.
//! - **Group joins poll.** A join held for other members notices changes every
//!   `--group-poll-interval` (500 ms by default; the test harness uses 50 ms), where Apache
//!   Kafka answers at once. The first rebalance of a new group waits
//!   `group.initial.rebalance.delay.ms` on both (3 s by default; the test harness sets 0, as
//!   Kafka test clusters usually do). Nothing waits for a fixed time, so only tests notice.
//! - **A waiting fetch is not woken by new records.** A fetch with `fetch.wait.max.ms` (500 ms
//!   by default) is held for the whole wait even when records arrive meanwhile; Apache Kafka
//!   answers as soon as `fetch.min.bytes` (1) is available. Each hop of a command (gateway →
//!   processor → gateway) then costs about 250 ms on Nisshi instead of milliseconds. Nagare keeps
//!   librdkafka's default, right for Kafka (a shorter wait only adds idle fetch requests there);
//!   on such a broker pass `?fetch.wait.max.ms=10` in the `kafka://` URL, as the test harness
//!   does (measured on Nisshi 0.8.1: a mutation's round trip fell from 252 ms to 21 ms).

use rdkafka::statistics::Statistics;

use crate::log::Cleanup;

/// **DescribeConfigs of a topic may fail or leave out `cleanup.policy`.**
/// Apache Kafka always describes a topic's `cleanup.policy` and `retention.ms` (its defaults
/// included), so on Kafka this value is never used. Where a broker cannot describe them,
/// Nagare reports Kafka's own defaults for a topic created without those properties —
/// delete, keeping records per the broker's retention, reported as "kept forever" because
/// nothing more precise is known — and logs that the cleanup policy is unknown.
pub(super) const UNDESCRIBED_CLEANUP: Cleanup = Cleanup::Delete { retention_ms: None };

/// [`UNDESCRIBED_CLEANUP`] for every topic of a DescribeConfigs request that failed as a whole.
pub(super) fn undescribed(names: &[String], reason: &str) -> Vec<Cleanup> {
    tracing::warn!(topics = ?names, reason, "Kafka did not describe the topics' cleanup policy");
    names.iter().map(|_| UNDESCRIBED_CLEANUP).collect()
}

/// [`UNDESCRIBED_CLEANUP`] for one topic DescribeConfigs gave no configuration for.
pub(super) fn undescribed_topic(name: &str, reason: &str) -> Cleanup {
    tracing::warn!(topic = name, reason, "Kafka did not describe the topic's cleanup policy");
    UNDESCRIBED_CLEANUP
}

/// **The idempotence probe reads librdkafka's producer-id state from its statistics.**
/// Apache Kafka (0.11 and later) hands every idempotent producer a producer id
/// (InitProducerId) and librdkafka reports the state `Assigned`. A broker without
/// InitProducerId leaves the state elsewhere (or raises a fatal error); idempotence is then
/// reported as unavailable rather than assumed.
pub(super) fn producer_id_assigned(statistics: &Statistics) -> bool {
    statistics.eos.as_ref().is_some_and(|eos| eos.idemp_state == "Assigned")
}
