//! Keeps the catalog up to date from every partition of the category and product events topics.
//!
//! Before deciding a command that asks the catalog, the processor calls [`CatalogFeed::catch_up`]:
//! it reads the current high watermarks and applies everything up to them, so the decision
//! sees every event acknowledged before the command was read. Reads are plain partition reads
//! (no consumer group): every processor process keeps its own full catalog. Events the
//! processor wrote itself were applied when it decided them; it says where they landed
//! ([`CatalogFeed::skip_applied`]) and catch-up does not read them back.
//!
//! The race that remains: two commands on *different* partitions, decided concurrently by two
//! processors (or in two batches whose appends have not landed yet), cannot see each other.
//! A product may thus be created in a category that is being deleted at the same moment, or an
//! order placed for a product whose deletion is not yet durable. Closing it would need a
//! cross-partition transaction; the window is one batch's append, and the read models still
//! show every event, so an operator can repair the rare orphan.

use std::collections::HashMap;
use std::sync::Arc;

use nagare_infra::{EventLog, Offset, Position, TopicPartition};
use nagare_schemas::codec;
use nagare_schemas::events::AggregateType;
use nagare_schemas::metadata;
use nagare_schemas::topics::Topics;

use super::Catalog;
use crate::Result;
use crate::envelope::header_u64;

/// Records read per call while catching up.
const READ_CHUNK: usize = 1_000;

#[derive(Debug)]
pub struct CatalogFeed {
    log: Arc<dyn EventLog>,
    /// Every partition of the category and product events topics.
    partitions: Vec<TopicPartition>,
    /// The next offset to apply, per partition.
    next: HashMap<TopicPartition, Offset>,
    catalog: Catalog,
}

impl CatalogFeed {
    /// A feed over every partition of the category and product events topics; empty until the
    /// first [`catch_up`](Self::catch_up).
    pub async fn new(log: Arc<dyn EventLog>, topics: &Topics) -> Result<Self> {
        let mut partitions = Vec::new();
        for aggregate in [AggregateType::Category, AggregateType::Product] {
            let topic = topics.events(aggregate);
            let count = log.partition_count(&topic).await?;
            partitions.extend((0..count).map(|p| TopicPartition::new(topic.clone(), p)));
        }
        Ok(Self { log, partitions, next: HashMap::new(), catalog: Catalog::new() })
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// For applying the events the processor has just decided, ahead of reading them back.
    pub fn catalog_mut(&mut self) -> &mut Catalog {
        &mut self.catalog
    }

    /// Forgets everything: after a failed append the catalog may hold events that never became
    /// durable, so it is rebuilt from the log on the next catch-up.
    pub fn reset(&mut self) {
        self.catalog = Catalog::new();
        self.next.clear();
    }

    /// Moves past events this process has written and already applied (the processor applies
    /// what it decides through [`catalog_mut`](Self::catalog_mut)), so that the next catch-up
    /// does not read them back: on Kafka such a read is a broker round trip or two, before
    /// every command that asks the catalog. A partition moves only where its next offset to
    /// apply is the first of them, so nothing another writer put before them is passed over.
    /// `positions` are in the order they were written.
    pub fn skip_applied(&mut self, positions: &[Position]) {
        for position in positions {
            let next = self
                .next
                .iter_mut()
                .find(|(tp, _)| tp.partition == position.partition && tp.topic == position.topic);
            if let Some((_, next)) = next
                && *next == position.offset
            {
                *next += 1;
            }
        }
    }

    /// Applies every event up to the high watermarks read now. Returns how many were read.
    ///
    /// The watermarks of all partitions are asked at once: on Kafka each is a broker round
    /// trip, and this runs before every command that asks the catalog.
    pub async fn catch_up(&mut self) -> Result<usize> {
        let log = self.log.as_ref();
        let marks =
            futures::future::try_join_all(self.partitions.iter().map(|tp| log.watermarks(tp)))
                .await?;
        let mut read = 0;
        for (tp, marks) in self.partitions.iter().zip(marks) {
            let mut next = self.next.get(tp).copied().unwrap_or(0).max(marks.low);
            while next < marks.high {
                let records = self.log.read(tp, next, READ_CHUNK).await?;
                let Some(last) = records.last() else { break };
                next = last.offset + 1;
                read += records.len();
                for stored in &records {
                    let Some(version) = header_u64(&stored.record, metadata::AGGREGATE_VERSION)
                    else {
                        tracing::warn!(%tp, offset = stored.offset, "event without a version header; ignored by the catalog");
                        continue;
                    };
                    let Some(value) = stored.record.value.as_deref() else { continue };
                    match codec::decode_event(value) {
                        Ok(event) => {
                            self.catalog.apply(&event, version);
                        }
                        Err(error) => {
                            tracing::warn!(%tp, offset = stored.offset, %error, "undecodable event ignored by the catalog");
                        }
                    }
                }
            }
            self.next.insert(tp.clone(), next);
        }
        Ok(read)
    }
}

#[cfg(test)]
#[path = "feed_tests.rs"]
mod tests;
