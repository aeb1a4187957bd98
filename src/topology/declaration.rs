//! The topic declaration, `infra/kafka/topics.toml`: compiled into the binary, parsed and
//! checked at start-up, and turned into the `TopicSpec`s of one topic prefix.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use nagare_infra::{Cleanup, TopicSpec};
use nagare_schemas::topics::Topics;
use serde::Deserialize;

use super::retention::parse_retention;

/// The declaration file itself; its comments explain every choice in it.
const DECLARATION: &str = include_str!("../../infra/kafka/topics.toml");
/// Where the declaration comes from, for error messages.
const DECLARATION_PATH: &str = "infra/kafka/topics.toml";

/// Most partitions a topic may be declared or created with. Far above what one deployment
/// needs, low enough that a typo (80000) is caught before it reaches a broker.
pub(crate) const MAX_PARTITIONS: u32 = 1024;

/// How a topic's partition count is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PartitionCount {
    /// The count shared by the commands, events and snapshots topics.
    CoPartitioned,
    /// A count of the topic's own.
    Own(u32),
}

/// One declared topic, by its name without the prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DeclaredTopic {
    pub(crate) suffix: String,
    pub(crate) partitions: PartitionCount,
    pub(crate) cleanup: Cleanup,
}

/// Every topic Nagare uses, checked: each declared exactly once, the ones that must share a
/// partition count marked so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Declaration {
    co_partitioned_count: u32,
    topics: Vec<DeclaredTopic>,
}

impl Declaration {
    /// The declaration compiled into this binary.
    pub(crate) fn builtin() -> anyhow::Result<Self> {
        Self::parse(DECLARATION).with_context(|| {
            format!("the topic declaration compiled into nagare ({DECLARATION_PATH}) is invalid")
        })
    }

    /// Parses and checks a declaration.
    pub(crate) fn parse(text: &str) -> anyhow::Result<Self> {
        let file: DeclarationFile = toml::from_str(text)
            .map_err(|error| anyhow::anyhow!("{}", error.to_string().trim_end()))?;
        let co_partitioned_count =
            check_count("co_partitioned.partitions", file.co_partitioned.partitions)?;
        let nagare = Topics::with_prefix("");
        let known = known_suffixes(&nagare);
        if let Some(unknown) = file.topics.keys().find(|suffix| !known.contains(suffix)) {
            bail!(
                "topics.\"{unknown}\" is not a topic Nagare uses; the topics are {}",
                known.join(", ")
            );
        }
        let must_share = co_partitioned(&nagare);
        let mut topics = Vec::with_capacity(known.len());
        for suffix in &known {
            let Some(entry) = file.topics.get(suffix) else {
                bail!("topics.\"{suffix}\" is missing; every topic Nagare uses must be declared");
            };
            let topic = entry.check(suffix)?;
            if must_share.contains(suffix) && topic.partitions != PartitionCount::CoPartitioned {
                bail!(
                    "topics.\"{suffix}\" must have `co_partitioned = true`: the commands, events \
                     and snapshots topics share one partition count, so that one processor owns \
                     all the records of an aggregate"
                );
            }
            topics.push(topic);
        }
        Ok(Self { co_partitioned_count, topics })
    }

    /// The count the commands, events and snapshots topics are declared with.
    pub(crate) fn co_partitioned_count(&self) -> u32 {
        self.co_partitioned_count
    }

    /// The specs of every topic under this prefix, in the order of [`Topics`] (commands, events,
    /// replies, snapshots, dead letters); `co_partitions` (the `--partitions` flag)
    /// replaces the declared shared count when given.
    pub(crate) fn specs(&self, topics: &Topics, co_partitions: Option<u32>) -> Vec<TopicSpec> {
        let shared = co_partitions.unwrap_or(self.co_partitioned_count);
        self.topics
            .iter()
            .map(|topic| TopicSpec {
                name: format!("{}{}", topics.prefix(), topic.suffix),
                partitions: match topic.partitions {
                    PartitionCount::CoPartitioned => shared,
                    PartitionCount::Own(count) => count,
                },
                cleanup: topic.cleanup,
            })
            .collect()
    }
}

/// The topics that must be partitioned identically: the processor that owns command partition
/// *p* is the single writer of the events and snapshots of every aggregate keyed to *p*, which
/// only holds when all of them hash a key to the same partition number.
pub(crate) fn co_partitioned(topics: &Topics) -> Vec<String> {
    let mut names = vec![topics.commands()];
    names.extend(topics.all_events());
    names.push(topics.snapshots());
    names
}

/// Every topic name Nagare uses, without a prefix, in a stable order.
fn known_suffixes(nagare: &Topics) -> Vec<String> {
    let mut names = vec![nagare.commands()];
    names.extend(nagare.all_events());
    names.extend([nagare.replies(), nagare.snapshots(), nagare.deadletter()]);
    names
}

fn check_count(field: &str, count: i64) -> anyhow::Result<u32> {
    match u32::try_from(count) {
        Ok(count) if (1..=MAX_PARTITIONS).contains(&count) => Ok(count),
        _ => bail!("{field} is {count}; it must be 1 to {MAX_PARTITIONS}"),
    }
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclarationFile {
    /// The shared count of the co-partitioned topics.
    co_partitioned: CoPartitionedSection,
    /// Every topic by its name without the prefix. TOML refuses a key given twice, so each
    /// topic is declared at most once by construction.
    topics: BTreeMap<String, TopicEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CoPartitionedSection {
    partitions: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicEntry {
    #[serde(default)]
    co_partitioned: bool,
    partitions: Option<i64>,
    cleanup: CleanupPolicy,
    retention: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum CleanupPolicy {
    Delete,
    Compact,
}

impl TopicEntry {
    fn check(&self, suffix: &str) -> anyhow::Result<DeclaredTopic> {
        let partitions = match (self.co_partitioned, self.partitions) {
            (true, None) => PartitionCount::CoPartitioned,
            (false, Some(count)) => {
                PartitionCount::Own(check_count(&format!("topics.\"{suffix}\".partitions"), count)?)
            }
            (true, Some(_)) => bail!(
                "topics.\"{suffix}\" has both `co_partitioned = true` and `partitions`; give one"
            ),
            (false, None) => bail!(
                "topics.\"{suffix}\" needs `partitions = N` (1 to {MAX_PARTITIONS}) or \
                 `co_partitioned = true`"
            ),
        };
        let cleanup = match (self.cleanup, &self.retention) {
            (CleanupPolicy::Compact, None) => Cleanup::Compact,
            (CleanupPolicy::Compact, Some(_)) => bail!(
                "topics.\"{suffix}\".retention applies to `cleanup = \"delete\"` only; a \
                 compacted topic keeps the latest record of every key"
            ),
            (CleanupPolicy::Delete, None) => bail!(
                "topics.\"{suffix}\".retention is missing: give \"forever\" or a duration such \
                 as \"30d\""
            ),
            (CleanupPolicy::Delete, Some(text)) => Cleanup::Delete {
                retention_ms: parse_retention(text)
                    .map_err(|reason| anyhow::anyhow!("topics.\"{suffix}\".retention: {reason}"))?,
            },
        };
        Ok(DeclaredTopic { suffix: suffix.to_owned(), partitions, cleanup })
    }
}

#[cfg(test)]
#[path = "declaration_tests.rs"]
mod tests;
