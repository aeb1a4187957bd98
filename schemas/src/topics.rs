//! Topic names. Every name has a configurable prefix (default `nagare.`), so several
//! deployments can share one Kafka cluster.

use crate::events::AggregateType;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topics {
    prefix: String,
}

impl Default for Topics {
    fn default() -> Self {
        Self::with_prefix("nagare.")
    }
}

impl Topics {
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Self { prefix: prefix.into() }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Commands for every aggregate, keyed by aggregate id.
    pub fn commands(&self) -> String {
        format!("{}commands", self.prefix)
    }

    /// One events topic per aggregate type, keyed by aggregate id, partitioned like `commands`.
    pub fn events(&self, aggregate: AggregateType) -> String {
        let name = match aggregate {
            AggregateType::Category => "category",
            AggregateType::Product => "product",
            AggregateType::Order => "order",
        };
        format!("{}events.{name}", self.prefix)
    }

    /// Every events topic.
    pub fn all_events(&self) -> Vec<String> {
        AggregateType::ALL.into_iter().map(|a| self.events(a)).collect()
    }

    /// The aggregate type whose events a topic holds.
    pub fn aggregate_of(&self, topic: &str) -> Option<AggregateType> {
        AggregateType::ALL.into_iter().find(|a| self.events(*a) == topic)
    }

    /// The processor's answers, keyed by command id.
    pub fn replies(&self) -> String {
        format!("{}replies", self.prefix)
    }

    /// Aggregate snapshots, compacted, keyed by aggregate id.
    pub fn snapshots(&self) -> String {
        format!("{}snapshots", self.prefix)
    }

    /// Messages no handler could process, with the reason in a header.
    pub fn deadletter(&self) -> String {
        format!("{}deadletter", self.prefix)
    }
}
